#!/bin/sh
# A stand-in for a training script, for trying labelrun on one machine: it
# prints one metrics line per epoch, as a real train.py would.
echo "demo training: 10 epochs"
loss=2400
for epoch in 1 2 3 4 5 6 7 8 9 10; do
  loss=$((loss * 7 / 10))
  printf '{"epoch": %d, "loss": %d.%03d}\n' "$epoch" $((loss / 1000)) $((loss % 1000))
  sleep 1
done
echo "demo training finished"
