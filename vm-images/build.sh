#!/usr/bin/env bash
# `npm run vm:build`: rebuilds every guest artifact from Debian's packages into vm-images/dist/
# and rewrites dist/manifest.json. Needs linux-source-6.1, busybox-static:i386, crun:i386,
# seabios, gcc-multilib, zstd, cpio (see README.md). Work files go to vm-images/build/ (ignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/dist" "$here/build"
if [ "${SKIP_KERNEL:-0}" != 1 ]; then bash "$here/kernel/build.sh"; fi
bash "$here/initramfs/build.sh"
cp /usr/share/seabios/bios.bin "$here/dist/bios.bin"
node "$here/manifest.mjs" write
