/**
 * A `FileSystem` over a directory of the host (Node on Linux only): `-v /host/path:/dest` binds.
 *
 * Containers are hostile to the host here, so no operation ever names a host path by string:
 * a node is found by walking from the bind directory one component at a time through O_PATH
 * handles (host-path.ts), checking each step's dev+ino against the node chain the client walked,
 * refusing symlinks and non-directories in the middle. Operations on a node go through its
 * verified handle (chmod, truncate, times, open); operations on a name go through its verified
 * parent's handle. A node whose name was unlinked or replaced has no path any more and answers
 * ENOENT instead of reaching whatever now has that name. Symlinks are never followed: `readlink`
 * hands the target to the client, which resolves it in the container's namespace.
 *
 * Nodes are keyed by dev+ino and remember their parent and name, so a node stays valid across
 * renames. Ownership: creates chown to the caller's uid/gid when the host allows it (root) and
 * silently keep the host user's otherwise, as rootless Docker's bind mounts do.
 */
import * as fs from 'node:fs';
import { realpathSync } from 'node:fs';
import { fsError } from './errno.ts';
import { checkFdPaths, fdPath, host, keyOf, openAt, openDir, walkBeneath } from './host-path.ts';
import type { CreateAttr, DirEntry, FileKind, FileSystem, FsNode, SetAttr, Stat, StatFs } from './types.ts';

interface HostNode extends FsNode {
  readonly key: string;
  /** null for the root and for a node with no known name (unlinked or replaced). */
  parent: HostNode | null;
  name: string | null;
  version: number;
}

function kindOf(s: fs.Stats | fs.Dirent): FileKind {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isCharacterDevice()) return 'chardev';
  if (s.isBlockDevice()) return 'blockdev';
  if (s.isFIFO()) return 'fifo';
  return 'socket';
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw fsError('EINVAL', `bad name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name) > 255) throw fsError('ENAMETOOLONG', `name of ${name.length} characters`);
}

function close(fd: number): void {
  fs.closeSync(fd);
}

export interface HostDirOptions {
  path: string;
  readOnly?: boolean;
}

export class HostDirFileSystem implements FileSystem {
  readonly readOnly: boolean;
  private readonly rootPath: string;
  private readonly rootNode: HostNode;
  private readonly rootDev: number;
  private readonly nodes = new Map<string, HostNode>();
  /** Inode numbers for nodes on other devices (mounts under the bind), so they cannot alias. */
  private readonly foreignIno = new Map<string, number>();

  constructor(options: HostDirOptions) {
    checkFdPaths();
    this.readOnly = options.readOnly ?? false;
    this.rootPath = host(() => realpathSync(options.path));
    const st = host(() => fs.statSync(this.rootPath));
    if (!st.isDirectory()) throw fsError('ENOTDIR', `${options.path} is not a directory`);
    this.rootDev = st.dev;
    this.rootNode = { ino: st.ino, key: keyOf(st), parent: null, name: '', version: 0 };
    this.nodes.set(this.rootNode.key, this.rootNode);
  }

  private inoOf(st: fs.Stats): number {
    if (st.dev === this.rootDev) return st.ino;
    const key = keyOf(st);
    let ino = this.foreignIno.get(key);
    if (ino === undefined) this.foreignIno.set(key, (ino = 2 ** 52 + this.foreignIno.size));
    return ino;
  }

  private node(n: FsNode): HostNode {
    const h = n as HostNode;
    if (this.nodes.get(h.key) !== h) {
      if (typeof h.key === 'string' && h.name === null) throw fsError('ENOENT', 'the node was unlinked');
      throw fsError('EBADF', 'not a node of this host directory');
    }
    return h;
  }

  private writable(): void {
    if (this.readOnly) throw fsError('EROFS');
  }

  /** Root-first chain of nodes to `n`; ENOENT when a node on it has no name any more. */
  private chain(n: HostNode): HostNode[] {
    const out: HostNode[] = [];
    for (let c: HostNode = n; c !== this.rootNode; c = c.parent!) {
      if (c.name === null || !c.parent) throw fsError('ENOENT', 'the node was unlinked or replaced');
      out.push(c);
      if (out.length > 4096) throw fsError('ELOOP', 'node chain too deep');
    }
    return out.reverse();
  }

  /**
   * Runs `fn` with a verified O_PATH handle on `n` and its fstat. The handle is closed after.
   */
  private pinned<T>(n: HostNode, fn: (fd: number, st: fs.Stats) => T): T {
    const root = openDir(this.rootPath);
    try {
      if (keyOf(root.st) !== this.rootNode.key) throw fsError('ENOENT', `${this.rootPath} was replaced`);
      const chain = this.chain(n);
      const last = walkBeneath(root.fd, chain.map((c) => c.name!), (i, st) => {
        if (keyOf(st) !== chain[i]!.key) throw fsError('ENOENT', `${chain.slice(0, i + 1).map((c) => c.name).join('/')} is another file now`);
      });
      if (!last) return fn(root.fd, root.st);
      try {
        return fn(last.fd, last.st);
      } finally {
        close(last.fd);
      }
    } finally {
      close(root.fd);
    }
  }

  /** Like pinned, for a directory: `at(name)` names an entry in exactly that directory. */
  private inDir<T>(d: HostNode, fn: (at: (name: string) => string, fd: number) => T): T {
    return this.pinned(d, (fd, st) => {
      if (!st.isDirectory()) throw fsError('ENOTDIR', 'not a directory');
      return fn((name) => fdPath(fd, name), fd);
    });
  }

  /** The node for an entry just seen in `dir` (registering it, or renaming what we knew). */
  private adopt(dir: HostNode, name: string, st: fs.Stats): HostNode {
    const key = keyOf(st);
    let n = this.nodes.get(key);
    if (!n) {
      n = { ino: this.inoOf(st), key, parent: dir, name, version: 0 };
      this.nodes.set(key, n);
    } else if (n !== this.rootNode) {
      n.parent = dir;
      n.name = name;
    }
    return n;
  }

  /** `dir`'s entry `name` is gone (unlinked or replaced): the node that had it forgets it. */
  private forget(dir: HostNode, name: string, st: fs.Stats): void {
    const n = this.nodes.get(keyOf(st));
    if (!n || n === this.rootNode) return;
    const gone = st.isDirectory() || st.nlink <= 1;
    if (gone) this.nodes.delete(n.key);
    if (gone || (n.parent === dir && n.name === name)) {
      n.parent = null;
      n.name = null;
    }
  }

  root(): FsNode {
    return this.rootNode;
  }

  lookup(dir: FsNode, name: string): FsNode {
    const d = this.node(dir);
    checkName(name);
    return this.inDir(d, (at) => this.adopt(d, name, host(() => fs.lstatSync(at(name)))));
  }

  parent(dir: FsNode): FsNode {
    return this.node(dir).parent ?? this.rootNode;
  }

  stat(node: FsNode): Stat {
    const n = this.node(node);
    const s = this.pinned(n, (_fd, st) => st);
    return {
      ino: n.ino, kind: kindOf(s), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, nlink: s.nlink,
      size: s.isDirectory() ? 0 : s.size, rdevMajor: (s.rdev >> 8) & 0xfff, rdevMinor: (s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00),
      atimeMs: s.atimeMs, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, version: n.version,
    };
  }

  /** Every change goes through the node's own verified handle, never a path that may have been replaced. */
  setattr(node: FsNode, attr: SetAttr): void {
    this.writable();
    const n = this.node(node);
    this.pinned(n, (fd, st) => host(() => {
      const self = fdPath(fd);
      if (attr.size !== undefined) {
        if (st.isDirectory()) throw fsError('EISDIR', 'truncating a directory');
        if (!st.isFile()) throw fsError('EINVAL', `truncating a ${kindOf(st)}`);
        fs.truncateSync(self, attr.size);
      }
      if (attr.mode !== undefined) {
        if (st.isSymbolicLink()) throw fsError('EOPNOTSUPP', 'the mode of a symlink cannot change');
        fs.chmodSync(self, attr.mode & 0o7777);
      }
      if (attr.uid !== undefined || attr.gid !== undefined) this.chown(self, attr.uid ?? -1, attr.gid ?? -1);
      if (attr.atimeMs !== undefined || attr.mtimeMs !== undefined) {
        fs.utimesSync(self, (attr.atimeMs ?? st.atimeMs) / 1000, (attr.mtimeMs ?? st.mtimeMs) / 1000);
      }
    }));
    n.version++;
  }

  /** `p` is a magic link (or a name in a verified directory); chown follows it to that node only. */
  private chown(p: string, uid: number, gid: number): void {
    try {
      fs.chownSync(p, uid, gid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }

  readdir(dir: FsNode): DirEntry[] {
    const d = this.node(dir);
    return this.inDir(d, (at, fd) => host(() => fs.readdirSync(fdPath(fd), { withFileTypes: true })).flatMap((e) => {
      try {
        return [{ name: e.name, ino: this.inoOf(fs.lstatSync(at(e.name))), kind: kindOf(e) }];
      } catch {
        return []; // removed while listing
      }
    }));
  }

  /** Opens the node for I/O by reopening its verified handle; only regular files (a fifo would block). */
  private withFd<T>(n: HostNode, flags: number, fn: (fd: number) => T): T {
    return this.pinned(n, (pfd, st) => {
      if (st.isDirectory()) throw fsError('EISDIR');
      if (!st.isFile()) throw fsError('EINVAL', `I/O on a ${kindOf(st)} of a host directory`);
      const fd = host(() => fs.openSync(fdPath(pfd), flags));
      try {
        return host(() => fn(fd));
      } finally {
        close(fd);
      }
    });
  }

  read(node: FsNode, offset: number, length: number): Uint8Array {
    const n = this.node(node);
    return this.withFd(n, fs.constants.O_RDONLY, (fd) => {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const k = fs.readSync(fd, buf, got, length - got, offset + got);
        if (k === 0) break;
        got += k;
      }
      return buf.subarray(0, got);
    });
  }

  write(node: FsNode, offset: number, data: Uint8Array): number {
    this.writable();
    const n = this.node(node);
    const k = this.withFd(n, fs.constants.O_WRONLY, (fd) => {
      let done = 0;
      while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
      return done;
    });
    n.version++;
    return k;
  }

  /** After creating `name` in `d`: chown it, register it. */
  private made(d: HostNode, dirFd: number, name: string, attr: { uid: number; gid: number; mode?: number }): HostNode {
    const { fd, st } = openAt(dirFd, name);
    try {
      if (attr.mode !== undefined) host(() => fs.chmodSync(fdPath(fd), attr.mode! & 0o7777)); // past the umask
      host(() => this.chown(fdPath(fd), attr.uid, attr.gid));
    } finally {
      close(fd);
    }
    d.version++;
    return this.adopt(d, name, st);
  }

  create(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    this.writable();
    const d = this.node(dir);
    checkName(name);
    return this.inDir(d, (at, dfd) => {
      const { O_CREAT, O_EXCL, O_WRONLY, O_NOFOLLOW } = fs.constants;
      close(host(() => fs.openSync(at(name), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, attr.mode & 0o7777)));
      return this.made(d, dfd, name, attr);
    });
  }

  mkdir(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    this.writable();
    const d = this.node(dir);
    checkName(name);
    return this.inDir(d, (at, dfd) => {
      host(() => fs.mkdirSync(at(name), { mode: attr.mode & 0o7777 }));
      return this.made(d, dfd, name, attr);
    });
  }

  mknod(): FsNode {
    this.writable();
    // Node has no mknod(2); a fifo or device in a bind mount is refused.
    throw fsError('EPERM', 'mknod is not supported in a host directory');
  }

  symlink(dir: FsNode, name: string, target: string, attr: Omit<CreateAttr, 'mode'>): FsNode {
    this.writable();
    const d = this.node(dir);
    checkName(name);
    return this.inDir(d, (at, dfd) => {
      host(() => fs.symlinkSync(target, at(name)));
      return this.made(d, dfd, name, { uid: attr.uid, gid: attr.gid }); // a symlink has no mode
    });
  }

  link(dir: FsNode, name: string, target: FsNode): void {
    this.writable();
    const d = this.node(dir);
    const t = this.node(target);
    checkName(name);
    if (t === this.rootNode) {
      // link(2) checks the new name before the kind of the target.
      this.inDir(d, (at) => {
        if (host(() => fs.lstatSync(at(name), { throwIfNoEntry: false }))) throw fsError('EEXIST');
      });
      throw fsError('EPERM', 'hard link to a directory');
    }
    this.chain(t);
    const tName = t.name!;
    this.inDir(t.parent!, (tAt) => this.inDir(d, (at) => {
      host(() => fs.linkSync(tAt(tName), at(name)));
      // The source name was checked a moment ago; if it changed meanwhile, undo rather than link another file.
      const st = host(() => fs.lstatSync(at(name)));
      if (keyOf(st) !== t.key) {
        fs.unlinkSync(at(name));
        throw fsError('ENOENT', 'the link target was replaced');
      }
    }));
    d.version++;
    t.version++;
  }

  readlink(node: FsNode): string {
    const n = this.node(node);
    if (n === this.rootNode) throw fsError('EINVAL', 'not a symlink');
    this.chain(n);
    return this.inDir(n.parent!, (at) => host(() => {
      const st = fs.lstatSync(at(n.name!));
      if (keyOf(st) !== n.key) throw fsError('ENOENT', 'the symlink was replaced');
      if (!st.isSymbolicLink()) throw fsError('EINVAL', 'not a symlink');
      return fs.readlinkSync(at(n.name!));
    }));
  }

  unlink(dir: FsNode, name: string, options: { directory?: boolean } = {}): void {
    this.writable();
    const d = this.node(dir);
    checkName(name);
    this.inDir(d, (at) => {
      const st = host(() => fs.lstatSync(at(name)));
      if (options.directory) {
        if (!st.isDirectory()) throw fsError('ENOTDIR');
        host(() => fs.rmdirSync(at(name)));
      } else {
        if (st.isDirectory()) throw fsError('EISDIR');
        host(() => fs.unlinkSync(at(name)));
      }
      this.forget(d, name, st);
    });
    d.version++;
  }

  rename(oldDir: FsNode, oldName: string, newDir: FsNode, newName: string): void {
    this.writable();
    const od = this.node(oldDir);
    const nd = this.node(newDir);
    checkName(oldName);
    checkName(newName);
    this.inDir(od, (from) => this.inDir(nd, (to) => {
      const src = host(() => fs.lstatSync(from(oldName)));
      let dst: fs.Stats | null = null;
      try {
        dst = fs.lstatSync(to(newName));
      } catch {
        dst = null;
      }
      host(() => fs.renameSync(from(oldName), to(newName)));
      if (dst && keyOf(dst) === keyOf(src)) return; // two names of one inode: rename(2) does nothing
      if (dst) this.forget(nd, newName, dst);
      const n = this.nodes.get(keyOf(src));
      if (n && n !== this.rootNode) {
        n.parent = nd;
        n.name = newName;
      }
    }));
    od.version++;
    nd.version++;
  }

  getxattr(): Uint8Array {
    throw fsError('ENODATA');
  }

  setxattr(): void {
    this.writable();
    throw fsError('EOPNOTSUPP', 'extended attributes are not supported in a host directory');
  }

  listxattr(): string[] {
    return [];
  }

  removexattr(): void {
    this.writable();
    throw fsError('ENODATA');
  }

  /** The host filesystem's own figures: what the bind directory can really hold. */
  statfs(): StatFs {
    const s = host(() => fs.statfsSync(this.rootPath));
    return { blockSize: s.bsize, blocks: s.blocks, blocksFree: s.bavail, files: s.files, filesFree: s.ffree, nameMax: 255 };
  }
}
