/**
 * The container's view of paths: a root `FileSystem` plus volume mounts (path prefix ->
 * FileSystem), walked one component at a time with symlinks followed the way Linux does (absolute
 * targets restart at the container root, `..` pops what was walked, 40 links at most).
 * Everything here throws `FsError`; the WASI layer maps it to WASI errno.
 */
import type { FileKind, FileSystem, FsNode, Stat } from '../../fs/types.ts';
import { FsError } from '../../fs/errno.ts';
import { SkiffError } from '../../errors.ts';

export interface WasiMount {
  /** Absolute path inside the container ("/", "/data"). */
  path: string;
  fs: FileSystem;
  readOnly?: boolean;
}

/** One mounted filesystem, numbered so stat can give each its own `dev`. */
export interface MountPoint {
  readonly path: string;
  readonly fs: FileSystem;
  readonly readOnly: boolean;
  readonly dev: number;
}

/** A walked directory or file: the stack of locations from `/` is what makes `..` exact. */
export interface Loc {
  readonly mount: MountPoint;
  readonly node: FsNode;
  /** Absolute path as walked (symlinks resolved). */
  readonly path: string;
}
export type Walk = readonly Loc[];

const MAX_SYMLINKS = 40;

export function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '');
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function normalizeMountPath(p: string): string {
  if (!p.startsWith('/')) throw new SkiffError('INVALID_ARGUMENT', `mount path "${p}": must be absolute`);
  const parts = splitPath(p);
  if (parts.some((c) => c === '.' || c === '..')) {
    throw new SkiffError('INVALID_ARGUMENT', `mount path "${p}": must not contain "." or ".."`);
  }
  return '/' + parts.join('/');
}

export class Namespace {
  readonly root: MountPoint;
  private readonly byPath = new Map<string, MountPoint>();

  constructor(mounts: readonly WasiMount[]) {
    let dev = 1;
    for (const m of mounts) {
      const path = normalizeMountPath(m.path);
      if (this.byPath.has(path)) throw new SkiffError('INVALID_ARGUMENT', `mount path "${path}": mounted twice`);
      this.byPath.set(path, { path, fs: m.fs, readOnly: m.readOnly ?? m.fs.readOnly, dev: dev++ });
    }
    const root = this.byPath.get('/');
    if (!root) throw new SkiffError('INVALID_ARGUMENT', 'mounts: a filesystem must be mounted at "/"');
    this.root = root;
  }

  rootWalk(): Walk {
    return [{ mount: this.root, node: this.root.fs.root(), path: '/' }];
  }

  /** The mount whose root sits exactly at `path`, if any. */
  mountAt(path: string): MountPoint | undefined {
    return path === '/' ? undefined : this.byPath.get(path);
  }

  /** Mount points directly inside directory `dir` (for readdir). */
  mountsIn(dir: string): MountPoint[] {
    const out: MountPoint[] = [];
    for (const m of this.byPath.values()) {
      if (m.path === '/') continue;
      const parent = m.path.slice(0, m.path.lastIndexOf('/')) || '/';
      if (parent === dir) out.push(m);
    }
    return out;
  }

  stat(loc: Loc): Stat {
    return loc.mount.fs.stat(loc.node);
  }

  /**
   * A node's kind never changes, and a proxied node carries it: walking a path then needs no stat
   * round trip to the caller per component.
   */
  kind(loc: Loc): FileKind {
    const known = (loc.node as { kind?: unknown }).kind;
    return typeof known === 'string' ? (known as FileKind) : loc.mount.fs.stat(loc.node).kind;
  }

  /** Walk `path` from `start` (absolute paths start at `/`); `followLast` follows a final symlink. */
  resolve(start: Walk, path: string, followLast: boolean): Walk {
    if (path === '') throw new FsError('ENOENT', 'empty path');
    let walk: Loc[] = path.startsWith('/') ? [start[0]!] : start.slice();
    const parts = splitPath(path);
    // "dir/" must name a directory, so a final symlink is followed like any other component.
    const follow = followLast || path.endsWith('/');
    let links = 0;
    while (parts.length > 0) {
      const name = parts.shift()!;
      if (name === '.') continue;
      if (name === '..') {
        if (walk.length > 1) walk.pop();
        continue;
      }
      const cur = walk[walk.length - 1]!;
      const child = this.child(cur, name);
      if (parts.length > 0 || follow) {
        const kind = this.kind(child);
        if (kind === 'symlink') {
          if (++links > MAX_SYMLINKS) throw new FsError('ELOOP', path);
          const target = child.mount.fs.readlink(child.node);
          if (target.startsWith('/')) walk = [walk[0]!];
          parts.unshift(...splitPath(target));
          continue;
        }
        if (parts.length > 0 && kind !== 'directory') throw new FsError('ENOTDIR', path);
      }
      walk.push(child);
    }
    if (path.endsWith('/') && this.kind(walk[walk.length - 1]!) !== 'directory') {
      throw new FsError('ENOTDIR', path);
    }
    return walk;
  }

  /**
   * For calls that act on a name in a directory (create, unlink, rename, symlink): the walked
   * parent and the final name, which is never "." or "..".
   */
  resolveParent(start: Walk, path: string): { dir: Walk; name: string; trailingSlash: boolean } {
    if (path === '') throw new FsError('ENOENT', 'empty path');
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new FsError('EEXIST', `"${path}" is the root`);
    if (name === '.' || name === '..') throw new FsError('EINVAL', `"${path}" ends in "${name}"`);
    const dirPath = (path.startsWith('/') ? '/' : '') + parts.join('/');
    const dir = dirPath === '' ? start.slice() : this.resolve(start, dirPath, true);
    const last = dir[dir.length - 1]!;
    if (this.kind(last) !== 'directory') throw new FsError('ENOTDIR', path);
    return { dir, name, trailingSlash: /\/+$/.test(path) };
  }

  /** The entry `name` in directory `dir`, a mount root if one is mounted there. */
  child(dir: Loc, name: string): Loc {
    const path = joinPath(dir.path, name);
    const m = this.mountAt(path);
    if (m) return { mount: m, node: m.fs.root(), path };
    return { mount: dir.mount, node: dir.mount.fs.lookup(dir.node, name), path };
  }

  /** Fail with EROFS when `loc` lives on a read-only mount. */
  writable(loc: Loc): void {
    if (loc.mount.readOnly) throw new FsError('EROFS', loc.path);
  }

  /** A mount point cannot be removed or renamed over, as on Linux. */
  notMountPoint(dir: Loc, name: string): void {
    if (this.mountAt(joinPath(dir.path, name))) throw new FsError('EBUSY', `${joinPath(dir.path, name)} is a mount point`);
  }
}
