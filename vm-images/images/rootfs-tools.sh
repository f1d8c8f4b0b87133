#!/usr/bin/env bash
# Build the two layers skiff/tools adds on top of the busybox layer.
#   rootfs-tools.sh DEBDIR OUTDIR   ->  OUTDIR/glibc  OUTDIR/programs
# glibc:    the dynamic loader and the C library pieces the programs link to
# programs: lua5.4, sqlite3, jq from Debian's i386 packages, plus exactly the
#           shared libraries their ELF headers name (DT_NEEDED, followed
#           recursively), a few terminfo entries for readline, and each
#           package's copyright file. No docs, man pages or locales.
set -euo pipefail
debdir=$1 out=$2
programs=(usr/bin/lua5.4 usr/bin/sqlite3 usr/bin/jq)

rm -rf "$out"
mkdir -p "$out/x-libc6" "$out/x-rest" "$out/glibc" "$out/programs"
for deb in "$debdir"/*_i386.deb "$debdir"/*_all.deb; do
  case "$(basename "$deb")" in
    busybox-static_*) ;;
    libc6_*) dpkg-deb -x "$deb" "$out/x-libc6" ;;
    *) dpkg-deb -x "$deb" "$out/x-rest" ;;
  esac
done

# copy PATH (relative to SRC) into DEST, keeping a symlink and its target
copy_path() {
  local src=$1 rel=$2 dest=$3
  mkdir -p "$dest/$(dirname "$rel")"
  cp -a "$src/$rel" "$dest/$rel"
  if [ -L "$src/$rel" ]; then
    local target
    target=$(readlink "$src/$rel")
    case "$target" in
      /*) copy_path "$src" "${target#/}" "$dest" ;;
      *) copy_path "$src" "$(dirname "$rel")/$target" "$dest" ;;
    esac
  fi
}

# find a library by soname in the extracted packages: prints "SRCROOT REL"
find_lib() {
  local soname=$1 root dir
  for root in "$out/x-libc6" "$out/x-rest"; do
    for dir in lib/i386-linux-gnu usr/lib/i386-linux-gnu; do
      if [ -e "$root/$dir/$soname" ] || [ -L "$root/$dir/$soname" ]; then
        echo "$root $dir/$soname"
        return 0
      fi
    done
  done
  echo "rootfs-tools: shared library $soname (needed by the tools) is in none of the fetched packages" >&2
  return 1
}

declare -A done_libs=()
queue=()
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

for prog in "${programs[@]}"; do
  copy_path "$out/x-rest" "$prog" "$out/programs"
  queue+=("$out/x-rest/$prog")
done
# the loader is named by PT_INTERP (/lib/ld-linux.so.2), not DT_NEEDED
copy_path "$out/x-libc6" lib/ld-linux.so.2 "$out/glibc"
while [ ${#queue[@]} -gt 0 ]; do
  elf=${queue[0]}
  queue=("${queue[@]:1}")
  for soname in $(needed "$elf"); do
    [ -n "${done_libs[$soname]:-}" ] && continue
    done_libs[$soname]=1
    read -r root rel < <(find_lib "$soname")
    if [ "$root" = "$out/x-libc6" ]; then layer=glibc; else layer=programs; fi
    copy_path "$root" "$rel" "$out/$layer"
    queue+=("$(readlink -f "$root/$rel")")
  done
done

ln -s lua5.4 "$out/programs/usr/bin/lua"
for t in d/dumb l/linux v/vt100 x/xterm x/xterm-256color; do
  copy_path "$out/x-rest" "lib/terminfo/$t" "$out/programs"
done
for pkgdir in "$out"/x-libc6/usr/share/doc/* "$out"/x-rest/usr/share/doc/*; do
  pkg=$(basename "$pkgdir")
  [ -f "$pkgdir/copyright" ] || continue
  [ "$pkg" = libc6 ] && layer=glibc || layer=programs
  mkdir -p "$out/$layer/usr/share/doc/$pkg"
  cp "$pkgdir/copyright" "$out/$layer/usr/share/doc/$pkg/copyright"
done
# drop doc dirs of packages that contributed nothing but a copyright file
for pkgdir in "$out"/programs/usr/share/doc/*; do
  case "$(basename "$pkgdir")" in
    lua5.4|sqlite3|jq|libjq1|libonig5|libreadline8|libsqlite3-0|zlib1g|libtinfo6|ncurses-base) ;;
    *) rm -rf "$pkgdir" ;;
  esac
done
# directories get the usual modes whatever the umask was
find "$out/glibc" "$out/programs" -type d -exec chmod 0755 {} +
rm -rf "$out/x-libc6" "$out/x-rest"
