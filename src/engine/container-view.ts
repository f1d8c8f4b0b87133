/**
 * A container's filesystem as its process sees it, for `docker cp`: the root overlay with the
 * container's mounts (volumes, binds, the generated /etc files) attached at their destinations,
 * as one FileSystem. Docker's cp reads and writes through the mounts the same way.
 *
 * Each node is a handle into one of the member filesystems; a mount point's name in its parent
 * directory answers the mount's root. Path resolution stays with the callers (build/fs-write.ts):
 * `..` and symlinks are resolved against this view's root, so a symlink inside a volume or bind
 * names a path in the container, never one on the host. Writes into a read-only mount are EROFS;
 * a mount point itself cannot be removed or replaced (EBUSY), nor anything moved across (EXDEV).
 */
import { fsError } from '../fs/errno.ts';
import type { CreateAttr, DirEntry, FileSystem, FsNode, SetAttr, Stat, StatFs } from '../fs/types.ts';
import { splitPath } from '../build/fs-write.ts';

export interface ViewMount {
  /** Absolute, clean path in the container. */
  destination: string;
  fs: FileSystem;
  readOnly: boolean;
  /** A file mount: this name at `fs`'s root is what the destination shows (the /etc files). */
  file?: string;
  kind: 'volume' | 'bind' | 'etc';
}

interface ViewNode extends FsNode {
  readonly ino: number;
  /** 0: the root filesystem; n: mounts[n - 1]. */
  readonly member: number;
  readonly inner: FsNode;
  /** A mount's root: the directory holding its mount point. */
  up?: ViewNode;
}

export class ContainerView implements FileSystem {
  private readonly members: { fs: FileSystem; readOnly: boolean; mount?: ViewMount }[];
  private readonly nodes: Map<FsNode, ViewNode>[];
  private readonly mountsAt = new Map<ViewNode, Map<string, ViewNode>>();
  private nextIno = 1;

  constructor(root: FileSystem, mounts: ViewMount[]) {
    this.members = [{ fs: root, readOnly: root.readOnly }];
    this.nodes = [new Map()];
    // Shallow first, so a mount inside another's destination attaches inside it (Docker's order).
    const sorted = [...mounts].sort((a, b) => splitPath(a.destination).length - splitPath(b.destination).length);
    for (const m of sorted) this.attach(m);
  }

  get readOnly(): boolean {
    return this.members[0]!.fs.readOnly;
  }

  /** The mount `node` lies in; undefined for the root filesystem. */
  mountOf(node: FsNode): ViewMount | undefined {
    return this.members[(node as ViewNode).member]?.mount;
  }

  private attach(m: ViewMount): void {
    const parts = splitPath(m.destination);
    const name = parts.pop();
    if (name === undefined) return;
    let dir = this.root() as ViewNode;
    for (const p of parts) {
      // A destination under a missing directory or a symlink has no place in this view.
      let next: ViewNode;
      try {
        next = this.lookup(dir, p) as ViewNode;
      } catch {
        return;
      }
      if (this.stat(next).kind !== 'directory') return;
      dir = next;
    }
    const member = this.members.push({ fs: m.fs, readOnly: m.readOnly || m.fs.readOnly, mount: m }) - 1;
    this.nodes.push(new Map());
    const top = m.fs.root();
    const node = this.wrap(member, m.file === undefined ? top : m.fs.lookup(top, m.file));
    node.up = dir;
    let at = this.mountsAt.get(dir);
    if (!at) this.mountsAt.set(dir, (at = new Map()));
    at.set(name, node);
  }

  private wrap(member: number, inner: FsNode): ViewNode {
    const known = this.nodes[member]!;
    let node = known.get(inner);
    if (!node) {
      node = { ino: this.nextIno++, member, inner };
      known.set(inner, node);
    }
    return node;
  }

  private of(node: FsNode): { n: ViewNode; fs: FileSystem } {
    const n = node as ViewNode;
    return { n, fs: this.members[n.member]!.fs };
  }

  /** The member filesystem to change `dir` in: refused for a read-only mount and for a mount point's name. */
  private writable(dir: FsNode, name?: string): { n: ViewNode; fs: FileSystem } {
    const o = this.of(dir);
    if (this.members[o.n.member]!.readOnly) throw fsError('EROFS', 'read-only mount');
    if (name !== undefined && this.mountsAt.get(o.n)?.has(name)) throw fsError('EBUSY', `${name} is a mount point`);
    return o;
  }

  root(): FsNode {
    return this.wrap(0, this.members[0]!.fs.root());
  }

  lookup(dir: FsNode, name: string): FsNode {
    const mounted = this.mountsAt.get(dir as ViewNode)?.get(name);
    if (mounted) return mounted;
    const { n, fs } = this.of(dir);
    return this.wrap(n.member, fs.lookup(n.inner, name));
  }

  parent(dir: FsNode): FsNode {
    const { n, fs } = this.of(dir);
    if (n.up) return n.up;
    return this.wrap(n.member, fs.parent(n.inner));
  }

  stat(node: FsNode): Stat {
    const { n, fs } = this.of(node);
    return { ...fs.stat(n.inner), ino: n.ino };
  }

  setattr(node: FsNode, attr: SetAttr): void {
    const { n, fs } = this.writable(node);
    fs.setattr(n.inner, attr);
  }

  readdir(dir: FsNode): DirEntry[] {
    const { n, fs } = this.of(dir);
    const mounted = this.mountsAt.get(n);
    const out = fs.readdir(n.inner)
      .filter((e) => !mounted?.has(e.name))
      .map((e) => ({ ...e, ino: this.wrap(n.member, fs.lookup(n.inner, e.name)).ino }));
    for (const [name, m] of mounted ?? []) out.push({ name, ino: m.ino, kind: this.stat(m).kind });
    return out;
  }

  read(node: FsNode, offset: number, length: number): Uint8Array {
    const { n, fs } = this.of(node);
    return fs.read(n.inner, offset, length);
  }

  write(node: FsNode, offset: number, data: Uint8Array): number {
    const { n, fs } = this.writable(node);
    return fs.write(n.inner, offset, data);
  }

  create(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    const { n, fs } = this.writable(dir, name);
    return this.wrap(n.member, fs.create(n.inner, name, attr));
  }

  mkdir(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    const { n, fs } = this.writable(dir, name);
    return this.wrap(n.member, fs.mkdir(n.inner, name, attr));
  }

  mknod(dir: FsNode, name: string, kind: 'chardev' | 'blockdev' | 'fifo' | 'socket', major: number, minor: number, attr: CreateAttr): FsNode {
    const { n, fs } = this.writable(dir, name);
    return this.wrap(n.member, fs.mknod(n.inner, name, kind, major, minor, attr));
  }

  symlink(dir: FsNode, name: string, target: string, attr: Omit<CreateAttr, 'mode'>): FsNode {
    const { n, fs } = this.writable(dir, name);
    return this.wrap(n.member, fs.symlink(n.inner, name, target, attr));
  }

  link(dir: FsNode, name: string, target: FsNode): void {
    const { n, fs } = this.writable(dir, name);
    const t = this.of(target).n;
    if (t.member !== n.member) throw fsError('EXDEV', 'link across mounts');
    fs.link(n.inner, name, t.inner);
  }

  readlink(node: FsNode): string {
    const { n, fs } = this.of(node);
    return fs.readlink(n.inner);
  }

  unlink(dir: FsNode, name: string, options?: { directory?: boolean }): void {
    const { n, fs } = this.writable(dir, name);
    fs.unlink(n.inner, name, options);
  }

  rename(oldDir: FsNode, oldName: string, newDir: FsNode, newName: string): void {
    const from = this.writable(oldDir, oldName);
    const to = this.writable(newDir, newName);
    if (from.n.member !== to.n.member) throw fsError('EXDEV', 'rename across mounts');
    from.fs.rename(from.n.inner, oldName, to.n.inner, newName);
  }

  getxattr(node: FsNode, name: string): Uint8Array {
    const { n, fs } = this.of(node);
    return fs.getxattr(n.inner, name);
  }

  setxattr(node: FsNode, name: string, value: Uint8Array, flags?: { create?: boolean; replace?: boolean }): void {
    const { n, fs } = this.writable(node);
    fs.setxattr(n.inner, name, value, flags);
  }

  listxattr(node: FsNode): string[] {
    const { n, fs } = this.of(node);
    return fs.listxattr(n.inner);
  }

  removexattr(node: FsNode, name: string): void {
    const { n, fs } = this.writable(node);
    fs.removexattr(n.inner, name);
  }

  statfs(): StatFs {
    return this.members[0]!.fs.statfs();
  }

  async sync(): Promise<void> {
    await Promise.all(this.members.map((m) => m.fs.sync?.()));
  }
}
