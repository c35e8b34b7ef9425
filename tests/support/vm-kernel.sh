#!/usr/bin/env bash
# Fetch Debian's cloud kernel (it has CONFIG_NFT_QUEUE) into .cache/vm-kernel/
# for the tests that boot it under qemu: unpacked, not installed, so the
# machine's own kernel and /boot are left alone. Needs apt's package lists
# (apt-get update) and dpkg-deb and depmod; no root. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/vm-kernel
# the versioned package the metapackage points at, e.g. linux-image-6.1.0-56-cloud-amd64
pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || { echo "vm-kernel: no linux-image-cloud-amd64 in apt's lists (run apt-get update)" >&2; exit 1; }
if [ -f "$dest/package" ] && [ "$(cat "$dest/package")" = "$pkg" ]; then exit 0; fi
rm -rf "$dest" && mkdir -p "$dest/deb"
(cd "$dest/deb" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed' || true)
deb=$(ls "$dest"/deb/*.deb)
dpkg-deb -x "$deb" "$dest/root"
rm -rf "$dest/deb"
version=$(ls "$dest/root/lib/modules")
depmod -b "$dest/root" "$version"
echo "$pkg" > "$dest/package"
echo "vm-kernel: $pkg in $dest"
