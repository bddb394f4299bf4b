#!/usr/bin/env bash
# Starts dockerd when no daemon answers on /var/run/docker.sock (machines without
# systemd, CI). Its log goes to /var/log/labelrun-dockerd.log.
set -euo pipefail

if docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; then
  exit 0
fi
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
echo "starting dockerd"
"${sudo_cmd[@]}" bash -c 'nohup dockerd >/var/log/labelrun-dockerd.log 2>&1 &'
for _ in $(seq 1 60); do
  if docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; then
    echo "dockerd is up (API $(docker version --format '{{.Server.APIVersion}}'))"
    exit 0
  fi
  sleep 0.5
done
echo "dockerd did not come up; its log:" >&2
tail -n 30 /var/log/labelrun-dockerd.log >&2
exit 1
