#!/bin/sh
# Starts JupyterLab in the training image (built with WITH_JUPYTER=1), never
# without a token: JUPYTER_TOKEN must hold at least 32 characters.
#   docker run --rm -p 127.0.0.1:8888:8888 -e JUPYTER_TOKEN="$(openssl rand -hex 24)" \
#     acme/train:2.8.0-cu128-lab labelrun-jupyter
set -eu
if ! command -v jupyter-lab >/dev/null 2>&1; then
  echo "labelrun-jupyter: JupyterLab is not in this image (build it with WITH_JUPYTER=1)" >&2
  exit 2
fi
token=${JUPYTER_TOKEN:-}
if [ "${#token}" -lt 32 ]; then
  echo "labelrun-jupyter: set JUPYTER_TOKEN to a random string of 32 or more characters" >&2
  exit 2
fi
# The token is read from the environment by Jupyter itself, so it never shows in `ps`.
exec jupyter-lab --no-browser --ip=0.0.0.0 --port="${JUPYTER_PORT:-8888}" \
  --ServerApp.root_dir=/workspace --ServerApp.allow_remote_access=True "$@"
