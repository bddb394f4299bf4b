#!/usr/bin/env bash
# Builds the CPU PyTorch image the end-to-end test trains in, without a registry:
# a Debian 12 root made by mmdebstrap with Debian's python3-torch, loaded with
# `docker import`. About a minute or two once; the daemon keeps it afterwards,
# and a second run does nothing.
#
#   docker/pytorch-cpu/build.sh [IMAGE]        (default labelrun-test/pytorch-cpu:bookworm-1)
#
# MIRROR overrides the Debian mirror (default: http://deb.debian.org/debian).
set -euo pipefail

image=${1:-labelrun-test/pytorch-cpu:bookworm-1}
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
mirror=${MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

started=$(date +%s)
# The apt variant keeps the image small; docs, man pages and locales are left out.
mmdebstrap --quiet --variant=apt \
  --include=python3-torch,python3-numpy,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='mkdir -p "$1/workspace"' \
  --customize-hook='rm -rf "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"*' \
  bookworm "$work/root.tar" "$mirror"
docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV PYTHONUNBUFFERED=1' \
  --change 'WORKDIR /workspace' \
  --change 'CMD ["python3"]' \
  "$work/root.tar" "$image" >/dev/null
# A smoke test: torch imports and computes.
docker run --rm --network none "$image" python3 -c \
  'import torch; print("torch", torch.__version__, float(torch.ones(2, 2).sum()))'
echo "built $image in $(($(date +%s) - started)) s"
