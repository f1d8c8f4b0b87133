/**
 * An open directory: the base of every `path_*` call. Paths are walked by the `Namespace`, so
 * symlinks, `..` and volume mounts behave the same from any directory fd.
 */
import { Fd, Inode, wasi } from '@bjorn3/browser_wasi_shim';
import { FsError } from '../../fs/errno.ts';
import type { DirEntry } from '../../fs/types.ts';
import { wasiErrno } from './errno.ts';
import { filestatOf, filetypeOf, LOOKUP_SYMLINK_FOLLOW, RIGHTS, timesFromFlags, type WasiFilestat } from './filestat.ts';
import { FsFileFd } from './file-fd.ts';
import { joinPath, type Loc, type Namespace, type Walk } from './namespace.ts';

const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIR_MODE = 0o755;

/** Run a filesystem call, turning `FsError` into a WASI errno. */
function errno(fn: () => void): number {
  try {
    fn();
    return wasi.ERRNO_SUCCESS;
  } catch (e) {
    return wasiErrno(e);
  }
}

/** A node found by path, for `path_link` (the shim looks the source up, then links it). */
export class FsInode extends Inode {
  constructor(readonly ns: Namespace, readonly walk: Walk) {
    super();
  }
  override path_open(oflags: number, rightsBase: bigint, fdFlags: number) {
    return openWalk(this.ns, this.walk, oflags, rightsBase, fdFlags);
  }
  override stat(): wasi.Filestat {
    const loc = last(this.walk);
    const st = loc.mount.fs.stat(loc.node);
    return new wasi.Filestat(BigInt(st.ino), filetypeOf(st.kind), BigInt(st.size));
  }
}

function last(walk: Walk): Loc {
  return walk[walk.length - 1]!;
}

function openWalk(ns: Namespace, walk: Walk, oflags: number, rightsBase: bigint, fdFlags: number): { ret: number; fd_obj: Fd | null } {
  const loc = last(walk);
  const kind = ns.kind(loc);
  if (kind === 'symlink') return { ret: wasi.ERRNO_LOOP, fd_obj: null };
  if (kind === 'directory') {
    if (oflags & wasi.OFLAGS_TRUNC) return { ret: wasi.ERRNO_ISDIR, fd_obj: null };
    return { ret: wasi.ERRNO_SUCCESS, fd_obj: new FsDirFd(ns, walk) };
  }
  if (oflags & wasi.OFLAGS_DIRECTORY) return { ret: wasi.ERRNO_NOTDIR, fd_obj: null };
  // Rights are how preview1 says O_RDONLY/O_WRONLY; a toolchain that passes none gets both.
  const rights = rightsBase === 0n ? RIGHTS.ALL : rightsBase;
  const write = (rights & RIGHTS.FD_WRITE) !== 0n;
  if (oflags & wasi.OFLAGS_TRUNC) {
    ns.writable(loc);
    if (ns.stat(loc).size !== 0) loc.mount.fs.setattr(loc.node, { size: 0 });
  }
  const read = (rights & RIGHTS.FD_READ) !== 0n;
  const append = (fdFlags & wasi.FDFLAGS_APPEND) !== 0;
  return { ret: wasi.ERRNO_SUCCESS, fd_obj: new FsFileFd(loc, { read, write, append }) };
}

export class FsDirFd extends Fd {
  private entries: DirEntry[] | null = null;

  /** `preopen` is the name the module sees for a preopened directory ("/", "."). */
  constructor(readonly ns: Namespace, readonly walk: Walk, readonly preopen?: string) {
    super();
  }

  get loc(): Loc {
    return last(this.walk);
  }

  wasiFilestat(): WasiFilestat {
    return filestatOf(this.ns.stat(this.loc), this.loc.mount.dev);
  }

  override fd_prestat_get() {
    if (this.preopen === undefined) return { ret: wasi.ERRNO_BADF, prestat: null };
    return { ret: wasi.ERRNO_SUCCESS, prestat: wasi.Prestat.dir(this.preopen) };
  }

  override fd_fdstat_get() {
    const st = new wasi.Fdstat(wasi.FILETYPE_DIRECTORY, 0);
    st.fs_rights_base = RIGHTS.ALL;
    st.fs_rights_inherited = RIGHTS.ALL;
    return { ret: wasi.ERRNO_SUCCESS, fdstat: st };
  }

  override fd_fdstat_set_flags(): number {
    return wasi.ERRNO_SUCCESS;
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    return this.setTimes(this.walk, atim, mtim, fstFlags);
  }

  /** Cookie n is the n-th entry of a listing taken when the module starts (or restarts) at 0. */
  override fd_readdir_single(cookie: bigint) {
    try {
      if (cookie === 0n || this.entries === null) this.entries = this.list();
    } catch (e) {
      return { ret: wasiErrno(e), dirent: null };
    }
    const i = Number(cookie);
    const e = this.entries[i];
    if (!e) return { ret: wasi.ERRNO_SUCCESS, dirent: null };
    return { ret: wasi.ERRNO_SUCCESS, dirent: new wasi.Dirent(BigInt(i + 1), BigInt(e.ino), e.name, filetypeOf(e.kind)) };
  }

  private list(): DirEntry[] {
    const loc = this.loc;
    const self = this.ns.stat(loc);
    const parent = this.walk.length > 1 ? this.ns.stat(this.walk[this.walk.length - 2]!) : self;
    const out: DirEntry[] = [
      { name: '.', ino: self.ino, kind: 'directory' },
      { name: '..', ino: parent.ino, kind: 'directory' },
    ];
    const mounts = new Map(this.ns.mountsIn(loc.path).map((m) => [m.path.slice(m.path.lastIndexOf('/') + 1), m]));
    for (const e of loc.mount.fs.readdir(loc.node)) {
      if (e.name === '.' || e.name === '..') continue;
      const m = mounts.get(e.name);
      if (m) {
        mounts.delete(e.name);
        out.push({ name: e.name, ino: m.fs.stat(m.fs.root()).ino, kind: 'directory' });
      } else {
        out.push(e);
      }
    }
    for (const [name, m] of mounts) out.push({ name, ino: m.fs.stat(m.fs.root()).ino, kind: 'directory' });
    return out;
  }

  override path_open(dirflags: number, path: string, oflags: number, rightsBase: bigint, _rightsInheriting: bigint, fdFlags: number) {
    const follow = (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    try {
      let walk: Walk;
      if (oflags & wasi.OFLAGS_CREAT) {
        const { dir, name, trailingSlash } = this.ns.resolveParent(this.walk, path);
        const parent = last(dir);
        let existing: Loc | null = null;
        try {
          existing = this.ns.child(parent, name);
        } catch (e) {
          if (!(e instanceof FsError && e.code === 'ENOENT')) throw e;
        }
        if (existing) {
          if (oflags & wasi.OFLAGS_EXCL) return { ret: wasi.ERRNO_EXIST, fd_obj: null };
          walk = this.ns.resolve(this.walk, path, follow);
        } else {
          if (trailingSlash) return { ret: wasi.ERRNO_ISDIR, fd_obj: null };
          this.ns.writable(parent);
          const node = parent.mount.fs.create(parent.node, name, { mode: DEFAULT_FILE_MODE, uid: 0, gid: 0 });
          walk = [...dir, { mount: parent.mount, node, path: joinPath(parent.path, name) }];
        }
      } else {
        walk = this.ns.resolve(this.walk, path, follow);
      }
      return openWalk(this.ns, walk, oflags, rightsBase, fdFlags);
    } catch (e) {
      return { ret: wasiErrno(e), fd_obj: null };
    }
  }

  override path_create_directory(path: string): number {
    return errno(() => {
      const { dir, name } = this.ns.resolveParent(this.walk, path);
      const parent = last(dir);
      this.ns.writable(parent);
      if (this.ns.mountAt(joinPath(parent.path, name))) throw new FsError('EEXIST', path);
      parent.mount.fs.mkdir(parent.node, name, { mode: DEFAULT_DIR_MODE, uid: 0, gid: 0 });
    });
  }

  override path_remove_directory(path: string): number {
    return errno(() => this.removeEntry(path, true));
  }

  override path_unlink_file(path: string): number {
    return errno(() => this.removeEntry(path, false));
  }

  private removeEntry(path: string, directory: boolean): void {
    const { dir, name, trailingSlash } = this.ns.resolveParent(this.walk, path);
    const parent = last(dir);
    this.ns.notMountPoint(parent, name);
    this.ns.writable(parent);
    if (!directory && trailingSlash) {
      const st = parent.mount.fs.stat(parent.mount.fs.lookup(parent.node, name));
      throw new FsError(st.kind === 'directory' ? 'EISDIR' : 'ENOTDIR', path);
    }
    parent.mount.fs.unlink(parent.node, name, { directory });
  }

  /** `path_filestat_get`, returning our own struct (see filestat.ts). */
  pathFilestat(flags: number, path: string): WasiFilestat {
    const walk = this.ns.resolve(this.walk, path, (flags & LOOKUP_SYMLINK_FOLLOW) !== 0);
    const loc = last(walk);
    return filestatOf(this.ns.stat(loc), loc.mount.dev);
  }

  override path_filestat_set_times(flags: number, path: string, atim: bigint, mtim: bigint, fstFlags: number): number {
    try {
      const walk = this.ns.resolve(this.walk, path, (flags & LOOKUP_SYMLINK_FOLLOW) !== 0);
      return this.setTimes(walk, atim, mtim, fstFlags);
    } catch (e) {
      return wasiErrno(e);
    }
  }

  private setTimes(walk: Walk, atim: bigint, mtim: bigint, fstFlags: number): number {
    const times = timesFromFlags(atim, mtim, fstFlags, Date.now());
    if (!times) return wasi.ERRNO_INVAL;
    const loc = last(walk);
    return errno(() => {
      this.ns.writable(loc);
      loc.mount.fs.setattr(loc.node, times);
    });
  }

  override path_readlink(path: string) {
    try {
      const { dir, name } = this.ns.resolveParent(this.walk, path);
      const loc = this.ns.child(last(dir), name);
      return { ret: wasi.ERRNO_SUCCESS, data: loc.mount.fs.readlink(loc.node) };
    } catch (e) {
      return { ret: wasiErrno(e), data: null };
    }
  }

  /** symlink(2): `target` is stored as given, never resolved. */
  pathSymlink(target: string, path: string): number {
    return errno(() => {
      const { dir, name } = this.ns.resolveParent(this.walk, path);
      const parent = last(dir);
      this.ns.writable(parent);
      parent.mount.fs.symlink(parent.node, name, target, { uid: 0, gid: 0 });
    });
  }

  /** rename(2) in one call: the shim's unlink+link would lose the node on a copy-up overlay. */
  pathRename(oldPath: string, newDir: FsDirFd, newPath: string): number {
    return errno(() => {
      const from = this.ns.resolveParent(this.walk, oldPath);
      const to = newDir.ns.resolveParent(newDir.walk, newPath);
      const a = last(from.dir);
      const b = last(to.dir);
      this.ns.notMountPoint(a, from.name);
      newDir.ns.notMountPoint(b, to.name);
      if (a.mount !== b.mount) throw new FsError('EXDEV', `${oldPath} -> ${newPath}`);
      this.ns.writable(a);
      a.mount.fs.rename(a.node, from.name, b.node, to.name);
    });
  }

  override path_lookup(path: string, dirflags: number) {
    try {
      const walk = this.ns.resolve(this.walk, path, (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0);
      return { ret: wasi.ERRNO_SUCCESS, inode_obj: new FsInode(this.ns, walk) };
    } catch (e) {
      return { ret: wasiErrno(e), inode_obj: null };
    }
  }

  /** link(2); the shim calls this after `path_lookup` on the source directory. */
  override path_link(path: string, inode: Inode, _allowDir: boolean): number {
    if (!(inode instanceof FsInode)) return wasi.ERRNO_XDEV;
    return errno(() => {
      const src = last(inode.walk);
      if (this.ns.kind(src) === 'directory') throw new FsError('EPERM', `${path}: hard link to a directory`);
      const { dir, name } = this.ns.resolveParent(this.walk, path);
      const parent = last(dir);
      if (parent.mount !== src.mount) throw new FsError('EXDEV', path);
      this.ns.writable(parent);
      parent.mount.fs.link(parent.node, name, src.node);
    });
  }
}
