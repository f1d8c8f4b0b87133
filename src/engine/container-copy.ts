/**
 * `docker cp`'s container side, over a container's root filesystem: a path's stat (Docker's
 * PathStat), the tree at a path as tar entries named from its last component ("hostname",
 * "etc/", "etc/passwd"), and tar entries extracted into a directory. Paths resolve inside the
 * root only: `..` and symlinks are clamped at it (build/fs-write.ts), so a tar cannot write
 * outside. Given a ContainerView (container-view.ts), paths resolve across the container's mounts. Used by the Engine API's /archive and by `skiff cp`.
 */
import type { TarEntry } from '../archive/index.ts';
import { resolvePath, splitPath, writeItem } from '../build/fs-write.ts';
import { SkiffError } from '../errors.ts';
import { FsError } from '../fs/errno.ts';
import type { FileSystem, FsNode } from '../fs/types.ts';
import { ContainerView } from './container-view.ts';
import { exportEntriesAsync } from './fs-io.ts';

/** Docker's container path stat (the X-Docker-Container-Path-Stat header, `kind` added). */
export interface PathStat {
  name: string;
  size: number;
  /** Permission bits only (the kind is `kind`). */
  mode: number;
  mtime: string;
  linkTarget: string;
  kind: 'directory' | 'file' | 'symlink' | 'other';
}

interface Target { parent: FsNode; node: FsNode; name: string }

function locate(fs: FileSystem, raw: string): Target {
  if (!raw) throw new SkiffError('INVALID_ARGUMENT', 'a path in the container is required');
  const parts = splitPath(raw);
  const name = parts.pop();
  const parent = resolvePath(fs, `/${parts.join('/')}`);
  // The last component itself is not followed (a symlink is copied as a symlink), unless "/." ends the path.
  const follow = raw.endsWith('/.') || raw.endsWith('/');
  const node = name === undefined ? fs.root() : parent && resolvePath(fs, `/${[...parts, name].join('/')}`, follow);
  if (!parent || !node) throw new SkiffError('NOT_FOUND', `Could not find the file ${raw} in container`);
  return { parent: name === undefined ? fs.root() : parent, node, name: name ?? '/' };
}

export function statPath(fs: FileSystem, path: string): PathStat {
  const t = locate(fs, path);
  const s = fs.stat(t.node);
  const kind = s.kind === 'directory' || s.kind === 'file' || s.kind === 'symlink' ? s.kind : 'other';
  return { name: t.name, size: s.size, mode: s.mode & 0o777, mtime: new Date(s.mtimeMs).toISOString(), linkTarget: s.kind === 'symlink' ? fs.readlink(t.node) : '', kind };
}

/**
 * The tree at `path` as tar entries named from its last component. Asynchronous: an image file's
 * bytes may still be coming from an asynchronous store (on-demand layers).
 */
export async function* entriesAt(fs: FileSystem, path: string): AsyncGenerator<TarEntry> {
  const t = locate(fs, path);
  if (t.name === '/') {
    for await (const e of exportEntriesAsync(fs)) if (e.header.name !== './') yield e;
    return;
  }
  // The parent's export, narrowed to the one child: exportMerged walks from root() and readdir().
  const only = t.name;
  const view = new Proxy(fs, {
    get(target, key) {
      if (key === 'root') return () => t.parent;
      if (key === 'readdir') return (d: FsNode) => (d === t.parent ? target.readdir(d).filter((e) => e.name === only) : target.readdir(d));
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  for await (const e of exportEntriesAsync(view)) if (e.header.name !== './') yield e;
}

/**
 * Extracts `entries` into the directory at `path` (Docker's PUT /archive): files, directories
 * and symlinks (devices, fifos and hard links are left out); with `noOverwriteDirNonDir`, a
 * directory never replaces a non-directory or the other way round.
 */
export function extractInto(fs: FileSystem, path: string, entries: Iterable<TarEntry>, o: { noOverwriteDirNonDir?: boolean; readOnlyRoot?: boolean } = {}): void {
  const t = locate(fs, path);
  const point = resolvePath(fs, path) ?? t.node;
  if (fs.stat(point).kind !== 'directory') throw new SkiffError('INVALID_ARGUMENT', `extraction point is not a directory: ${path}`);
  // Docker's checks (daemon/archive): a read-only mount, else a read-only root, by where the path resolves.
  const mount = fs instanceof ContainerView ? fs.mountOf(point) : undefined;
  if (mount?.readOnly) throw new SkiffError('INVALID_ARGUMENT', 'mounted volume is marked read-only');
  if (!mount && o.readOnlyRoot) throw new SkiffError('INVALID_ARGUMENT', 'container rootfs is marked read-only');
  if (fs.readOnly) throw new SkiffError('CONFLICT', 'the container runs in another skiff process: copy into it while it is stopped, or through that process');
  const dest = path.replace(/\/+\.?$/, '') || '/';
  for (const e of entries) {
    const rel = splitPath(e.header.name).join('/');
    if (!rel) continue;
    const at = `${dest}/${rel}`;
    const kind = e.header.type === 'directory' ? 'directory' : e.header.type === 'symlink' ? 'symlink' : e.header.type === 'file' ? 'file' : undefined;
    if (!kind) continue;
    if (o.noOverwriteDirNonDir) {
      const existing = resolvePath(fs, at, false);
      if (existing && (fs.stat(existing).kind === 'directory') !== (kind === 'directory')) {
        throw new SkiffError('INVALID_ARGUMENT', `cannot overwrite ${fs.stat(existing).kind === 'directory' ? 'directory' : 'non-directory'} "${at}" with ${kind === 'directory' ? 'directory' : 'non-directory'} "${rel}"`);
      }
    }
    try {
      writeItem(fs, at, { kind, mode: e.header.mode & 0o7777, owner: { uid: e.header.uid, gid: e.header.gid }, data: e.data, linkname: e.header.linkname, mtimeMs: e.header.mtime * 1000 }, { uid: 0, gid: 0 });
    } catch (err) {
      // A mount point (/etc/hostname, a volume's root) is not replaced, a read-only mount not written: Docker's words.
      if (err instanceof FsError && (err.code === 'EBUSY' || err.code === 'EROFS')) {
        throw new SkiffError('INVALID_ARGUMENT', `cannot write ${at}: ${err.code === 'EBUSY' ? 'device or resource busy' : 'read-only file system'}`);
      }
      throw err;
    }
  }
}
