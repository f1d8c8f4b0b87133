/**
 * A `FileSystem` over a directory of the host (Node only): `-v /host/path:/dest` bind mounts.
 * Nodes are keyed by the host's inode number and remember their parent and name, so a node stays
 * valid across renames (its path is rebuilt from its parents). Symlinks are never followed here:
 * `readlink` hands the target to the client, which resolves it in the container's namespace, and
 * files are opened with O_NOFOLLOW. Host errors become the same errno.
 *
 * Ownership: creates chown to the caller's uid/gid when the host allows it (root) and silently
 * keep the host user's otherwise, as rootless Docker's bind mounts do.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Errno, FsError, fsError, type ErrnoName } from './errno.ts';
import type { CreateAttr, DirEntry, FileKind, FileSystem, FsNode, SetAttr, Stat, StatFs } from './types.ts';

interface HostNode extends FsNode {
  parent: HostNode | null;
  name: string;
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

function host<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FsError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw fsError(code in Errno ? (code as ErrnoName) : 'EIO', (err as Error).message);
  }
}

export interface HostDirOptions {
  path: string;
  readOnly?: boolean;
}

export class HostDirFileSystem implements FileSystem {
  readonly readOnly: boolean;
  private readonly rootNode: HostNode;
  private readonly nodes = new Map<number, HostNode>();

  constructor(private readonly options: HostDirOptions) {
    this.readOnly = options.readOnly ?? false;
    const st = host(() => fs.statSync(options.path));
    if (!st.isDirectory()) throw fsError('ENOTDIR', `${options.path} is not a directory`);
    this.rootNode = { ino: st.ino, parent: null, name: '', version: 0 };
    this.nodes.set(st.ino, this.rootNode);
  }

  private path(n: HostNode): string {
    const parts: string[] = [];
    for (let c: HostNode | null = n; c && c.parent; c = c.parent) parts.push(c.name);
    return join(this.options.path, ...parts.reverse());
  }

  private node(n: FsNode): HostNode {
    const h = n as HostNode;
    if (this.nodes.get(h.ino) !== h) throw fsError('EBADF', 'not a node of this host directory');
    return h;
  }

  private writable(): void {
    if (this.readOnly) throw fsError('EROFS');
  }

  private child(dir: HostNode, name: string): HostNode {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw fsError('EINVAL', `bad name ${JSON.stringify(name)}`);
    const st = host(() => fs.lstatSync(join(this.path(dir), name)));
    let n = this.nodes.get(st.ino);
    if (!n) {
      n = { ino: st.ino, parent: dir, name, version: 0 };
      this.nodes.set(st.ino, n);
    } else if (n !== this.rootNode) {
      n.parent = dir;
      n.name = name;
    }
    return n;
  }

  root(): FsNode {
    return this.rootNode;
  }

  lookup(dir: FsNode, name: string): FsNode {
    return this.child(this.node(dir), name);
  }

  parent(dir: FsNode): FsNode {
    return this.node(dir).parent ?? this.rootNode;
  }

  stat(node: FsNode): Stat {
    const n = this.node(node);
    const s = host(() => fs.lstatSync(this.path(n)));
    return {
      ino: n.ino, kind: kindOf(s), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, nlink: s.nlink,
      size: s.isDirectory() ? 0 : s.size, rdevMajor: (s.rdev >> 8) & 0xfff, rdevMinor: (s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00),
      atimeMs: s.atimeMs, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, version: n.version,
    };
  }

  setattr(node: FsNode, attr: SetAttr): void {
    this.writable();
    const n = this.node(node);
    const p = this.path(n);
    host(() => {
      if (attr.size !== undefined) fs.truncateSync(p, attr.size);
      if (attr.mode !== undefined) fs.chmodSync(p, attr.mode & 0o7777);
      if (attr.uid !== undefined || attr.gid !== undefined) this.chown(p, attr.uid ?? -1, attr.gid ?? -1);
      if (attr.atimeMs !== undefined || attr.mtimeMs !== undefined) {
        const s = fs.lstatSync(p);
        fs.lutimesSync(p, (attr.atimeMs ?? s.atimeMs) / 1000, (attr.mtimeMs ?? s.mtimeMs) / 1000);
      }
    });
    n.version++;
  }

  private chown(p: string, uid: number, gid: number): void {
    try {
      fs.lchownSync(p, uid, gid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }

  readdir(dir: FsNode): DirEntry[] {
    const n = this.node(dir);
    const p = this.path(n);
    return host(() => fs.readdirSync(p, { withFileTypes: true })).map((d) => {
      const ino = host(() => fs.lstatSync(join(p, d.name)).ino);
      return { name: d.name, ino, kind: kindOf(d) };
    });
  }

  private withFd<T>(n: HostNode, flags: number, fn: (fd: number) => T): T {
    return host(() => {
      const fd = fs.openSync(this.path(n), flags | fs.constants.O_NOFOLLOW);
      try {
        return fn(fd);
      } finally {
        fs.closeSync(fd);
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

  private made(dir: HostNode, name: string, attr: { uid: number; gid: number }): HostNode {
    this.chown(join(this.path(dir), name), attr.uid, attr.gid);
    dir.version++;
    return this.child(dir, name);
  }

  create(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    this.writable();
    const d = this.node(dir);
    host(() => fs.closeSync(fs.openSync(join(this.path(d), name), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, attr.mode & 0o7777)));
    host(() => fs.chmodSync(join(this.path(d), name), attr.mode & 0o7777)); // past the umask
    return this.made(d, name, attr);
  }

  mkdir(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    this.writable();
    const d = this.node(dir);
    host(() => fs.mkdirSync(join(this.path(d), name), { mode: attr.mode & 0o7777 }));
    host(() => fs.chmodSync(join(this.path(d), name), attr.mode & 0o7777));
    return this.made(d, name, attr);
  }

  mknod(): FsNode {
    this.writable();
    // Node has no mknod(2); a fifo or device in a bind mount is refused.
    throw fsError('EPERM', 'mknod is not supported in a host directory');
  }

  symlink(dir: FsNode, name: string, target: string, attr: Omit<CreateAttr, 'mode'>): FsNode {
    this.writable();
    const d = this.node(dir);
    host(() => fs.symlinkSync(target, join(this.path(d), name)));
    return this.made(d, name, attr);
  }

  link(dir: FsNode, name: string, target: FsNode): void {
    this.writable();
    const d = this.node(dir);
    const t = this.node(target);
    host(() => fs.linkSync(this.path(t), join(this.path(d), name)));
    d.version++;
    t.version++;
  }

  readlink(node: FsNode): string {
    const n = this.node(node);
    return host(() => fs.readlinkSync(this.path(n)));
  }

  unlink(dir: FsNode, name: string, options: { directory?: boolean } = {}): void {
    this.writable();
    const d = this.node(dir);
    const p = join(this.path(d), name);
    const st = host(() => fs.lstatSync(p));
    if (options.directory) {
      if (!st.isDirectory()) throw fsError('ENOTDIR');
      host(() => fs.rmdirSync(p));
    } else {
      if (st.isDirectory()) throw fsError('EISDIR');
      host(() => fs.unlinkSync(p));
    }
    if (st.nlink <= 1 || st.isDirectory()) this.nodes.delete(st.ino);
    d.version++;
  }

  rename(oldDir: FsNode, oldName: string, newDir: FsNode, newName: string): void {
    this.writable();
    const od = this.node(oldDir);
    const nd = this.node(newDir);
    const from = join(this.path(od), oldName);
    const st = host(() => fs.lstatSync(from));
    host(() => fs.renameSync(from, join(this.path(nd), newName)));
    const n = this.nodes.get(st.ino);
    if (n) {
      n.parent = nd;
      n.name = newName;
    }
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

  statfs(): StatFs {
    const s = host(() => fs.statfsSync(this.options.path));
    return { blockSize: s.bsize, blocks: s.blocks, blocksFree: s.bavail, files: s.files, filesFree: s.ffree, nameMax: 255 };
  }
}
