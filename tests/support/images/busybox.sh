#!/usr/bin/env bash
# Builds the tests' small image, labelrun-test/busybox:1, with `docker import` of a
# busybox-static root (no registry needed). Does nothing when it already exists.
set -euo pipefail

image=${1:-labelrun-test/busybox:1}
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
busybox=$(command -v busybox || echo /bin/busybox)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,tmp,workspace,etc,proc,sys,dev}
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
chmod 1777 "$root/tmp"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/bin' --change 'WORKDIR /workspace' --change 'CMD ["/bin/sh"]' \
  - "$image" >/dev/null
echo "built $image"
