#!/usr/bin/env bash
# Sets up, builds and runs labelrun on its embedded defaults: state in ./state,
# listening on 127.0.0.1:8080, a generated development webhook secret.
# Extra arguments go to `labelrun serve` (for example --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target labelrun
exec build/release/labelrun serve --dev "$@"
