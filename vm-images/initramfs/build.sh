#!/usr/bin/env bash
# Builds vm-images/dist/initrd.lz4: busybox-static:i386, crun:i386 with its i386 libraries, the
# agent and the stage-1 init, as a newc cpio. LZ4 (legacy frame, what the kernel's unpacker reads):
# in the emulator it unpacks several times faster than zstd or xz, for ~1.2 MB more download
# (zstd -19: 2.0 MB, lz4 -9: 3.2 MB; the whole download stays under 6 MB).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
stage="${BUILD:-$root/build}/initramfs"
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,lib,usr/bin,usr/sbin,etc,dev,proc,sys,newroot,run,tmp}
cd "$stage"

cp /bin/busybox bin/busybox
# Applet links, so crun's and the agent's execvp find sh, mount, cat...
for app in $(bin/busybox --list); do
  [ -e "bin/$app" ] || ln -s busybox "bin/$app"
done

make -s -C "$root/agent" OUT="$stage/sbin/skiff-agent" >/dev/null
# A pooled container's first process (agent/pool-init.c, agent/pool.c): freestanding, ~9 KB.
gcc -m32 -march=i686 -Os -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -fno-stack-protector \
  -fno-pic -fno-asynchronous-unwind-tables -nostdlib -static -Wall -Wextra -Wl,--build-id=none -s \
  -o sbin/skiff-pool-init "$root/agent/pool-init.c"

cp /usr/bin/crun usr/bin/crun
# crun's direct libraries from the host's i386 multiarch set, except libsystemd: a stub stands in
# (see libsystemd-stub.c) so its dependency tree stays out of the download.
for lib in $(objdump -p /usr/bin/crun | awk '/NEEDED/ {print $2}'); do
  [ "$lib" = libsystemd.so.0 ] && continue
  cp -L "/lib/i386-linux-gnu/$lib" "lib/$lib"
done
cp -L /lib/ld-linux.so.2 lib/ld-linux.so.2
gcc -m32 -shared -fPIC -Os -nostdlib -Wl,-soname,libsystemd.so.0 \
  -Wl,--version-script="$here/libsystemd-stub.map" -o lib/libsystemd.so.0 "$here/libsystemd-stub.c"
# The agent's crun zygote (agent/crun-zygote.c): crun forked ready-linked instead of executed.
gcc -m32 -shared -fPIC -Os -Wall -o lib/skiff-crun-zygote.so "$root/agent/crun-zygote.c"
strip --strip-unneeded lib/*.so* usr/bin/crun

# The kernel runs /init: the agent itself, which does stage 1 (agent/stage1.c) when called so.
ln -s sbin/skiff-agent init
echo "root:x:0:0:root:/root:/bin/sh" > etc/passwd
echo "root:x:0:" > etc/group
mknod -m 600 dev/console c 5 1
mknod -m 666 dev/null c 1 3

# Deterministic archive: sorted names, fixed mtimes.
find . -exec touch -h -d @0 {} +
find . | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0 --quiet > "$root/build/initrd.cpio"
rm -f "$root/dist/initrd.zst"
lz4 -l -9 -f -q "$root/build/initrd.cpio" "$root/dist/initrd.lz4"
echo "initramfs: $(stat -c %s "$root/build/initrd.cpio") bytes cpio, $(stat -c %s "$root/dist/initrd.lz4") lz4" >&2
