#!/usr/bin/env bash
# Sets up, builds and runs labelrun on its embedded defaults: state in ./state,
# listening on 127.0.0.1:8080, a generated development webhook secret, the local
# Docker daemon as a CPU host, and a demo rule (task:training runs
# examples/demo/train.sh). Without GitHub credentials, comments and label changes
# are kept by labelrun: in its log and on its job pages.
# Extra arguments go to `labelrun serve` (for example --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target labelrun
# The demo rule's image (busybox, built locally) on a running Docker daemon.
scripts/start-dockerd.sh
tests/support/images/busybox.sh labelrun-demo/busybox:1
exec build/release/labelrun serve --dev "$@"
