#!/usr/bin/env bash
# Build the skiff/busybox root filesystem tree.
#   rootfs-busybox.sh DEBDIR OUTDIR
# DEBDIR holds busybox-static_*_i386.deb (fetched by build.sh). The applet list
# comes from `busybox --list-full`, run natively: it is a static i386 binary and
# this x86_64 kernel runs i386 code (checked below, with a clear error if not).
set -euo pipefail
debdir=$1 out=$2

rm -rf "$out" "$out.deb"
mkdir -p "$out.deb"
dpkg-deb -x "$(ls "$debdir"/busybox-static_*_i386.deb)" "$out.deb"
bb="$out.deb/bin/busybox"
[ -x "$bb" ] || { echo "rootfs-busybox: $bb missing from the busybox-static deb" >&2; exit 1; }

applets=$("$bb" --list-full) || {
  echo "rootfs-busybox: cannot run the i386 busybox natively (kernel without IA32 emulation?)" >&2
  exit 1
}

mkdir -p "$out"
for d in bin sbin usr/bin usr/sbin lib etc dev proc sys run mnt opt srv var/log var/tmp home root tmp; do
  mkdir -p "$out/$d"
done
chmod 0755 "$out" "$out"/* "$out"/usr/* "$out"/var/*
chmod 0700 "$out/root"
chmod 1777 "$out/tmp" "$out/var/tmp"
install -m 0755 "$bb" "$out/bin/busybox"

# one symlink per applet, at the path busybox itself reports (bin/sh, usr/bin/[ ...);
# linuxrc is an initrd entry point, not a command
while IFS= read -r applet; do
  case "$applet" in linuxrc|bin/busybox) continue ;; esac
  mkdir -p "$out/$(dirname "$applet")"
  ln -s /bin/busybox "$out/$applet"
done <<<"$applets"

cat >"$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
PASSWD
cat >"$out/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
wheel:x:10:root
users:x:100:user
nogroup:x:65534:
user:x:1000:
GROUP
cat >"$out/etc/shadow" <<'SHADOW'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
user:*:19000:0:99999:7:::
SHADOW
echo skiff >"$out/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$out/etc/hosts"
printf 'hosts: files dns\npasswd: files\ngroup: files\n' >"$out/etc/nsswitch.conf"
printf 'export PS1='"'"'\\u@\\h:\\w\\$ '"'"'\n' >"$out/etc/profile"
chmod 0644 "$out"/etc/*
chmod 0640 "$out/etc/shadow"
mkdir -p "$out/home/user"
chmod 0755 "$out/home/user"
rm -rf "$out.deb"
