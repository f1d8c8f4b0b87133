/**
 * `docker cp`: /containers/{id}/archive. HEAD stats a path (Docker's X-Docker-Container-Path-Stat
 * header: base64 JSON with Go's FileMode bits), GET sends it as a tar (the entry named by the
 * path's last component, as Docker), PUT extracts a tar into a directory of the container. Paths
 * resolve inside the container's root filesystem only: `..` and symlinks are clamped at its root
 * (build/fs-write.ts), so a tar cannot write outside it.
 */
import type { Engine } from '../engine/engine.ts';
import { exportEntries } from '../engine/fs-io.ts';
import { writeTarChunks } from '../engine/tar-io.ts';
import { readTar, type TarEntry } from '../archive/index.ts';
import { resolvePath, splitPath, writeItem } from '../build/fs-write.ts';
import type { FileSystem, FsNode } from '../fs/types.ts';
import type { Call } from './call.ts';
import { ApiError, badRequest, notFound } from './errors.ts';
import { bool } from './query.ts';
import type { Router } from './router.ts';

// Go's os.FileMode type bits, which docker cp reads from the stat header.
const GO_DIR = 0x80000000;
const GO_SYMLINK = 0x08000000;

interface Target { fs: FileSystem; parent: FsNode; node: FsNode; name: string; path: string }

function locate(fs: FileSystem, raw: string | null): Target {
  if (!raw) throw badRequest('query parameter path is required');
  const parts = splitPath(raw);
  const name = parts.pop();
  const parent = resolvePath(fs, `/${parts.join('/')}`);
  // The last component itself is not followed (a symlink is copied as a symlink), unless "/." ends the path.
  const follow = raw.endsWith('/.') || raw.endsWith('/');
  const node = name === undefined ? fs.root() : parent && resolvePath(fs, `/${[...parts, name].join('/')}`, follow);
  if (!parent || !node) throw notFound(`Could not find the file ${raw} in container`);
  return { fs, parent: name === undefined ? fs.root() : parent, node, name: name ?? '/', path: raw };
}

function statHeader(t: Target): string {
  const s = t.fs.stat(t.node);
  const kindBits = s.kind === 'directory' ? GO_DIR : s.kind === 'symlink' ? GO_SYMLINK : 0;
  const linkTarget = s.kind === 'symlink' ? t.fs.readlink(t.node) : '';
  const stat = { name: t.name, size: s.size, mode: (s.mode & 0o777) + kindBits, mtime: new Date(s.mtimeMs).toISOString(), linkTarget };
  // Go's uint32 FileMode: the sum above stays exact (no bitwise ops on the sign bit).
  // btoa wants Latin-1: the UTF-8 bytes of the JSON, one char each.
  return btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(stat))));
}

/** The tree at `t` as tar entries named from its last component ("hostname", "etc/", "etc/passwd"). */
function* entriesOf(t: Target): Generator<TarEntry> {
  if (t.name === '/') {
    for (const e of exportEntries(t.fs)) if (e.header.name !== './') yield e;
    return;
  }
  // The parent's export, narrowed to the one child: exportMerged walks from root() and readdir().
  const only = t.name;
  const view = new Proxy(t.fs, {
    get(target, key) {
      if (key === 'root') return () => t.parent;
      if (key === 'readdir') return (d: FsNode) => (d === t.parent ? target.readdir(d).filter((e) => e.name === only) : target.readdir(d));
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  for (const e of exportEntries(view)) if (e.header.name !== './') yield e;
}

export function archiveRoutes(r: Router, engine: Engine): void {
  const target = async (call: Call) => {
    const rec = await engine.inspectContainer({ id: call.params['id']! });
    return locate(await engine.containerFs({ id: rec.id }), call.query.get('path'));
  };

  r.add('HEAD /containers/{id}/archive', async (call) => {
    const t = await target(call);
    const w = call.begin(200, 'application/x-tar', { 'X-Docker-Container-Path-Stat': statHeader(t) });
    w.end();
  });

  r.add('GET /containers/{id}/archive', async (call) => {
    const t = await target(call);
    const w = call.begin(200, 'application/x-tar', { 'X-Docker-Container-Path-Stat': statHeader(t) });
    for (const chunk of writeTarChunks(entriesOf(t))) {
      if (call.aborted) break;
      await w.write(chunk);
    }
    w.end();
  });

  r.add('PUT /containers/{id}/archive', async (call) => {
    const rec = await engine.inspectContainer({ id: call.params['id']! });
    const fs = await engine.containerFs({ id: rec.id });
    const t = locate(fs, call.query.get('path'));
    if (fs.stat(resolvePath(fs, t.path) ?? t.node).kind !== 'directory') throw badRequest(`extraction point is not a directory: ${t.path}`);
    if (fs.readOnly) throw new ApiError(409, `container ${rec.name} runs in another skiff process: copy into it while it is stopped, or through that process`);
    if (rec.spec.security.readOnlyRootfs) throw new ApiError(403, 'container rootfs is marked read-only');
    const noClobber = bool(call.query, 'noOverwriteDirNonDir');
    const dest = t.path.replace(/\/+\.?$/, '') || '/';
    let entries: TarEntry[];
    try {
      entries = readTar(await call.body());
    } catch (err) {
      throw badRequest(`the request body is not a tar archive: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const e of entries) {
      const rel = splitPath(e.header.name).join('/');
      if (!rel) continue;
      const path = `${dest}/${rel}`;
      const kind = e.header.type === 'directory' ? 'directory' : e.header.type === 'symlink' ? 'symlink' : e.header.type === 'file' ? 'file' : undefined;
      if (!kind) continue; // devices, fifos and hard links are not copied in
      if (noClobber) {
        const existing = resolvePath(fs, path, false);
        if (existing && (fs.stat(existing).kind === 'directory') !== (kind === 'directory')) {
          throw badRequest(`cannot overwrite ${fs.stat(existing).kind === 'directory' ? 'directory' : 'non-directory'} "${path}" with ${kind === 'directory' ? 'directory' : 'non-directory'} "${rel}"`);
        }
      }
      writeItem(fs, path, { kind, mode: e.header.mode & 0o7777, owner: { uid: e.header.uid, gid: e.header.gid }, data: e.data, linkname: e.header.linkname, mtimeMs: e.header.mtime * 1000 }, { uid: 0, gid: 0 });
    }
    await engine.persistContainer({ id: rec.id });
    call.send(200);
  });
}
