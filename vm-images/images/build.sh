#!/usr/bin/env bash
# Build skiff's bundled images from Debian packages and sources:
#   skiff/busybox:latest  linux/386  busybox-static with one link per applet
#   skiff/tools:latest    linux/386  busybox layer + glibc layer + lua5.4, sqlite3, jq
#   skiff/hello-wasm:latest  wasi/wasm  a C hello (args, env)
#   skiff/lua-wasm:latest    wasi/wasm  Lua 5.4 from Debian's lua5.4 source
#   skiff/sqlite-wasm:latest wasi/wasm  the sqlite3 shell from Debian's sqlite3 source
# Output: dist/<name>.tar (OCI archives), dist/manifest.json, dist/sources.txt.
# Deterministic: the same packages give byte-identical archives.
#
# Usage: bash vm-images/images/build.sh        (npm run images:build)
# Env: SKIFF_IMAGES_WORK (scratch, default vm-images/build/images),
#      SKIFF_IMAGES_DIST (output, default vm-images/images/dist),
#      SKIFF_IMAGES_OFFLINE=1 (reuse the packages already in $SKIFF_IMAGES_WORK).
# Needs: apt-get, dpkg-deb, dpkg-source, python3, clang-16, lld-16, wasi-libc,
#        gcc + tclsh (to generate sqlite's amalgamation), readelf, an x86 kernel
#        that runs i386 binaries (busybox --list-full).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${SKIFF_IMAGES_WORK:-$repo/vm-images/build/images}
dist=${SKIFF_IMAGES_DIST:-$here/dist}
# 2026-01-01T00:00:00Z: every mtime in every layer and archive
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
export LC_ALL=C TZ=UTC
umask 022

mkdir -p "$work/debs" "$work/src" "$work/apt/lists/partial" "$work/apt/cache" "$dist"

# A private apt configuration: i386 binaries and source packages from Debian
# bookworm, without touching the machine's apt sources or caches.
cat >"$work/apt/sources.list" <<'LIST'
deb [arch=i386] http://deb.debian.org/debian bookworm main
deb [arch=i386] http://deb.debian.org/debian-security bookworm-security main
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main
LIST
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache"
          -o APT::Architecture=i386 -o APT::Architectures::=i386 -o APT::Sandbox::User=root
          -o Debug::NoLocking=1)
apt_() { apt-get -q "${apt_opts[@]}" "$@"; }

debs=(busybox-static lua5.4 sqlite3 jq libjq1 libonig5 libc6 libreadline8 libsqlite3-0
      zlib1g libtinfo6 ncurses-base)
srcs=(lua5.4 sqlite3)
if [ "${SKIFF_IMAGES_OFFLINE:-}" != 1 ]; then
  echo "== fetching packages (apt-get download / source --download-only)"
  # a stale mirror index (seen: bookworm-security i386) is not fatal; apt then
  # uses the indexes it did get, and sources.txt records the versions used
  apt_ update >"$work/apt/update.log" 2>&1 ||
    echo "warning: some package indexes failed to download (see $work/apt/update.log)" >&2
  rm -f "$work"/debs/*.deb "$work"/src/*
  (cd "$work/debs" && apt_ download "${debs[@]}" >/dev/null)
  (cd "$work/src" && apt_ source --download-only "${srcs[@]}" >/dev/null)
fi
{
  echo "# Debian packages the bundled images were built from"
  for f in "$work"/debs/*.deb; do dpkg-deb -f "$f" Package Version Architecture | sed 's/^[^:]*: //' | paste -sd' '; done
  for f in "$work"/src/*.dsc; do
    sed -n 's/^Source: //p; s/^Version: //p' "$f" | paste -sd' ' | sed 's/$/ source/'
  done
} >"$dist/sources.txt"

echo "== busybox rootfs"
bash "$here/rootfs-busybox.sh" "$work/debs" "$work/rootfs/busybox"
echo "== tools layers"
bash "$here/rootfs-tools.sh" "$work/debs" "$work/rootfs/tools"
echo "== wasm modules"
bash "$here/wasm/build.sh" "$work/src" "$work/wasm-build" "$work/wasm"
for m in hello lua sqlite3; do
  rm -rf "$work/rootfs/$m-wasm"
  mkdir -p "$work/rootfs/$m-wasm"
  install -m 0755 "$work/wasm/$m.wasm" "$work/rootfs/$m-wasm/$m.wasm"
done

bb_version=$(sed -n 's/^busybox-static \(.*\) i386$/\1/p' "$dist/sources.txt")
path_env="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
wasm_annotations='{"module.wasm.image/variant":"compat"}'

# name, file, spec (JSON, layer dirs relative to $work/rootfs)
images=(
  "skiff/busybox:latest|busybox|{\"os\":\"linux\",\"architecture\":\"386\",
    \"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"$path_env\"]},
    \"layers\":[{\"dir\":\"busybox\",\"comment\":\"busybox-static $bb_version (Debian i386) with applet links\",
                 \"owners\":{\"home/user\":[1000,1000]}}]}"
  "skiff/tools:latest|tools|{\"os\":\"linux\",\"architecture\":\"386\",
    \"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"$path_env\"]},
    \"layers\":[{\"dir\":\"busybox\",\"comment\":\"busybox-static $bb_version (Debian i386) with applet links\",
                 \"owners\":{\"home/user\":[1000,1000]}},
                {\"dir\":\"tools/glibc\",\"comment\":\"glibc loader and libraries (Debian libc6 i386)\"},
                {\"dir\":\"tools/programs\",\"comment\":\"lua5.4, sqlite3, jq and their libraries (Debian i386)\"}]}"
  "skiff/hello-wasm:latest|hello-wasm|{\"os\":\"wasi\",\"architecture\":\"wasm\",
    \"config\":{\"Entrypoint\":[\"/hello.wasm\"],\"Env\":[\"GREETING=hello from skiff\"]},
    \"annotations\":$wasm_annotations,
    \"layers\":[{\"dir\":\"hello-wasm\",\"comment\":\"hello.c built with clang-16 --target=wasm32-wasi\"}]}"
  "skiff/lua-wasm:latest|lua-wasm|{\"os\":\"wasi\",\"architecture\":\"wasm\",
    \"config\":{\"Entrypoint\":[\"/lua.wasm\"]},
    \"annotations\":$wasm_annotations,
    \"layers\":[{\"dir\":\"lua-wasm\",\"comment\":\"Lua 5.4 from Debian's lua5.4 source, wasm32-wasi\"}]}"
  "skiff/sqlite-wasm:latest|sqlite-wasm|{\"os\":\"wasi\",\"architecture\":\"wasm\",
    \"config\":{\"Entrypoint\":[\"/sqlite3.wasm\"],\"Env\":[\"HOME=/\"]},
    \"annotations\":$wasm_annotations,
    \"layers\":[{\"dir\":\"sqlite3-wasm\",\"comment\":\"sqlite3 shell from Debian's sqlite3 source, wasm32-wasi\"}]}"
)

echo "== OCI archives"
entries=()
for img in "${images[@]}"; do
  IFS='|' read -r name file spec <<<"$(echo "$img" | tr -d '\n')"
  python3 - "$name" "$work/rootfs" "$spec" >"$work/$file.spec.json" <<'PY'
import json, os, sys
name, root, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
spec["name"] = name
for layer in spec["layers"]:
    layer["dir"] = os.path.join(root, layer["dir"])
json.dump(spec, sys.stdout)
PY
  entries+=("$(python3 "$here/oci_pack.py" --spec "$work/$file.spec.json" --out "$dist/$file.tar")")
done
printf '%s\n' "${entries[@]}" | python3 -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
print(json.dumps(rows, indent=2, sort_keys=True))' >"$dist/manifest.json"
ls -l "$dist"
