#!/usr/bin/env python3
"""Pack directory trees into a deterministic OCI image archive.

Deliberately independent of skiff's TypeScript code (written in parallel):
this is the reference producer our loader is tested against.

Determinism: entries sorted by path, owner 0:0 with no user/group names,
every mtime = SOURCE_DATE_EPOCH, gzip without name or timestamp, JSON with
sorted keys and no whitespace. Rerunning on the same inputs gives the same
bytes, so the committed archives only change when their contents do.

Usage:
  oci_pack.py --spec spec.json --out dist/name.tar
spec.json:
  {"name": "skiff/busybox:latest", "os": "linux", "architecture": "386",
   "config": {"Cmd": ["sh"], "Env": ["PATH=..."]},
   "annotations": {...},                       # optional, on the manifest
   "layers": [{"dir": "path/to/tree", "comment": "busybox 1.35",
               "owners": {"home/user": [1000, 1000]}}]}   # owners optional
Prints one JSON line: {name, file, sha256, size, manifestDigest, platform}.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        sys.exit("oci_pack: SOURCE_DATE_EPOCH must be set (deterministic output)")
    return int(value)


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def walk_sorted(root: str):
    """Yield paths relative to root, parents before children, sorted by bytes."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    out.sort(key=lambda p: p.encode())
    return out


def layer_tar(root: str, mtime: int, owners: dict) -> bytes:
    """owners: {"home/user": [1000, 1000]}; every other entry is 0:0."""
    if not os.path.isdir(root):
        sys.exit(f"oci_pack: layer directory {root!r} does not exist")
    buf = io.BytesIO()
    seen_inodes = {}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in walk_sorted(root):
            path = os.path.join(root, rel)
            st = os.lstat(path)
            info = tarfile.TarInfo(rel)
            info.mode = stat.S_IMODE(st.st_mode)
            info.uid, info.gid = owners.get(rel, (0, 0))
            info.uname = info.gname = ""
            info.mtime = mtime
            data = None
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
            elif stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    info.type = tarfile.LNKTYPE
                    info.linkname = seen_inodes[key]
                else:
                    seen_inodes[key] = rel
                    info.type = tarfile.REGTYPE
                    info.size = st.st_size
                    data = open(path, "rb")
            else:
                sys.exit(f"oci_pack: {path}: unsupported file type (mode {st.st_mode:o})")
            tar.addfile(info, data)
            if data:
                data.close()
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    # filename="" and mtime=0: the equivalent of `gzip -n`
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def iso8601(ts: int) -> str:
    import datetime
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pack(spec: dict, out_path: str) -> dict:
    mtime = epoch()
    created = iso8601(mtime)
    blobs = {}  # digest -> bytes

    def add_blob(data: bytes) -> str:
        digest = sha256(data)
        blobs[digest] = data
        return digest

    layer_descs, diff_ids, history = [], [], []
    for layer in spec["layers"]:
        raw = layer_tar(layer["dir"], mtime, layer.get("owners", {}))
        gz = gzip_bytes(raw)
        layer_descs.append({"mediaType": MT_LAYER_GZIP, "digest": add_blob(gz), "size": len(gz)})
        diff_ids.append(sha256(raw))
        history.append({"created": created, "created_by": layer.get("comment", "skiff images build.sh")})

    platform = {"architecture": spec["architecture"], "os": spec["os"]}
    config = {
        "created": created,
        "architecture": spec["architecture"],
        "os": spec["os"],
        "config": spec.get("config", {}),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_bytes = canonical_json(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": add_blob(config_bytes), "size": len(config_bytes)},
        "layers": layer_descs,
    }
    if spec.get("annotations"):
        manifest["annotations"] = spec["annotations"]
    manifest_bytes = canonical_json(manifest)
    manifest_digest = add_blob(manifest_bytes)

    name = spec["name"]
    index = {
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [{
            "mediaType": MT_MANIFEST,
            "digest": manifest_digest,
            "size": len(manifest_bytes),
            "platform": platform,
            "annotations": {
                # the full reference, valid per the image-layout grammar; and the
                # name containerd/Docker read when loading an OCI archive
                "org.opencontainers.image.ref.name": name,
                "io.containerd.image.name": "docker.io/" + name,
            },
        }],
    }
    files = {
        "oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical_json(index),
    }
    for digest, data in blobs.items():
        files["blobs/sha256/" + digest.split(":", 1)[1]] = data

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as fh, tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(files[path]), 0o644, mtime
            tar.addfile(info, io.BytesIO(files[path]))
    os.replace(tmp, out_path)

    archive = open(out_path, "rb").read()
    return {
        "name": name,
        "file": os.path.basename(out_path),
        "sha256": hashlib.sha256(archive).hexdigest(),
        "size": len(archive),
        "manifestDigest": manifest_digest,
        "platform": platform,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.spec) as fh:
        spec = json.load(fh)
    for key in ("name", "os", "architecture", "layers"):
        if key not in spec:
            sys.exit(f"oci_pack: {args.spec}: missing required key {key!r}")
    print(json.dumps(pack(spec, args.out), sort_keys=True))


if __name__ == "__main__":
    main()
