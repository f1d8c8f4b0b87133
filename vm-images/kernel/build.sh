#!/usr/bin/env bash
# Builds vm-images/dist/bzImage from Debian's linux-source: tinyconfig + kernel/skiff.config.
# Rerunnable: reuses the unpacked tree under $BUILD (default vm-images/build/kernel).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
BUILD="${BUILD:-$root/build/kernel}"
SRC_TAR="${SRC_TAR:-/usr/src/linux-source-6.1.tar.xz}"
JOBS="${JOBS:-2}"
mkdir -p "$BUILD" "$root/dist"
if [ ! -d "$BUILD/linux-source-6.1" ]; then
  echo "kernel: unpacking $SRC_TAR" >&2
  tar -C "$BUILD" -xf "$SRC_TAR"
fi
cd "$BUILD/linux-source-6.1"
# Our patches to Debian's source (each says what and why at its top), applied once: a tree that
# already has one is left alone, a tree where one applies neither way is an error.
for p in "$here"/*.patch; do
  [ -e "$p" ] || continue
  if patch -p1 -R --dry-run -s -f < "$p" >/dev/null 2>&1; then continue; fi
  patch -p1 -s -f < "$p" || { echo "kernel: $(basename "$p") does not apply" >&2; exit 1; }
done
make -s ARCH=i386 tinyconfig >/dev/null
# Merge the fragment, then resolve dependencies; anything the fragment asked for that did not
# survive olddefconfig is an error (a silently dropped option cost hours before).
./scripts/kconfig/merge_config.sh -m .config "$here/skiff.config" >/dev/null
make -s ARCH=i386 olddefconfig >/dev/null
missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) grep -qx "$line" .config || { echo "kernel: option not applied: $line" >&2; missing=1; } ;;
    "# CONFIG_"*" is not set") opt="${line#\# }"; opt="${opt%% *}"
      ! grep -q "^$opt=" .config || { echo "kernel: option still set: $opt" >&2; missing=1; } ;;
  esac
done < "$here/skiff.config"
[ "$missing" = 0 ] || exit 1
make -s ARCH=i386 -j"$JOBS" bzImage
cp arch/x86/boot/bzImage "$root/dist/bzImage"
echo "kernel: $(stat -c %s "$root/dist/bzImage") bytes" >&2
