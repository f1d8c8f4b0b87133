/**
 * A `FileSystem` in the worker whose every call runs on the host's real filesystem through the
 * synchronous channel. Nodes cross as numeric handles; the worker keeps one object per handle so
 * node identity holds, as the interface promises.
 */
import { FsError } from '../../fs/errno.ts';
import type { CreateAttr, DirEntry, FileKind, FileSystem, FsNode, SetAttr, Stat, StatFs } from '../../fs/types.ts';
import { concatBytes } from '../../util/bytes.ts';
import type { ChannelClient } from './channel.ts';
import type { WireNode } from './protocol.ts';

export class RemoteNode implements FsNode {
  constructor(readonly id: number, readonly ino: number, readonly kind: FileKind) {}
}

export class RemoteFileSystem implements FileSystem {
  private readonly nodes = new Map<number, RemoteNode>();
  private rootNode: RemoteNode | null = null;

  constructor(private readonly channel: ChannelClient, private readonly index: number, readonly readOnly: boolean) {}

  private call(op: string, ...args: unknown[]): unknown {
    return this.channel.call(this.index, op, args);
  }

  private node(w: unknown): RemoteNode {
    const { $node, ino, kind } = w as WireNode;
    let n = this.nodes.get($node);
    if (!n) {
      n = new RemoteNode($node, ino, kind);
      this.nodes.set($node, n);
    }
    return n;
  }

  private id(n: FsNode): number {
    if (!(n instanceof RemoteNode)) throw new FsError('EINVAL', 'node from another filesystem');
    return n.id;
  }

  root(): FsNode {
    return (this.rootNode ??= this.node(this.call('root')));
  }
  lookup(dir: FsNode, name: string): FsNode {
    return this.node(this.call('lookup', this.id(dir), name));
  }
  parent(dir: FsNode): FsNode {
    return this.node(this.call('parent', this.id(dir)));
  }
  stat(node: FsNode): Stat {
    return this.call('stat', this.id(node)) as Stat;
  }
  setattr(node: FsNode, attr: SetAttr): void {
    this.call('setattr', this.id(node), attr);
  }
  readdir(dir: FsNode): DirEntry[] {
    return this.call('readdir', this.id(dir)) as DirEntry[];
  }
  /** Loops so a read larger than the channel still returns everything up to EOF. */
  read(node: FsNode, offset: number, length: number): Uint8Array {
    const id = this.id(node);
    const cap = this.channel.capacity;
    if (length <= cap) return this.call('read', id, offset, length) as Uint8Array;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < length) {
      const want = Math.min(cap, length - total);
      const got = this.call('read', id, offset + total, want) as Uint8Array;
      parts.push(got);
      total += got.length;
      if (got.length < want) break;
    }
    return concatBytes(parts, total);
  }
  write(node: FsNode, offset: number, data: Uint8Array): number {
    return this.call('write', this.id(node), offset, data) as number;
  }
  /**
   * O_APPEND: find the end and write there in one host call, so appends from several workers to a
   * shared volume never land on the same offset (a stat then a write could interleave).
   */
  append(node: FsNode, data: Uint8Array): { offset: number; written: number } {
    return this.call('append', this.id(node), data) as { offset: number; written: number };
  }
  create(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    return this.node(this.call('create', this.id(dir), name, attr));
  }
  mkdir(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    return this.node(this.call('mkdir', this.id(dir), name, attr));
  }
  mknod(dir: FsNode, name: string, kind: 'chardev' | 'blockdev' | 'fifo' | 'socket', major: number, minor: number, attr: CreateAttr): FsNode {
    return this.node(this.call('mknod', this.id(dir), name, kind, major, minor, attr));
  }
  symlink(dir: FsNode, name: string, target: string, attr: Omit<CreateAttr, 'mode'>): FsNode {
    return this.node(this.call('symlink', this.id(dir), name, target, attr));
  }
  link(dir: FsNode, name: string, target: FsNode): void {
    this.call('link', this.id(dir), name, this.id(target));
  }
  readlink(node: FsNode): string {
    return this.call('readlink', this.id(node)) as string;
  }
  unlink(dir: FsNode, name: string, options?: { directory?: boolean }): void {
    this.call('unlink', this.id(dir), name, options ?? {});
  }
  rename(oldDir: FsNode, oldName: string, newDir: FsNode, newName: string): void {
    this.call('rename', this.id(oldDir), oldName, this.id(newDir), newName);
  }
  getxattr(node: FsNode, name: string): Uint8Array {
    return this.call('getxattr', this.id(node), name) as Uint8Array;
  }
  setxattr(node: FsNode, name: string, value: Uint8Array, flags?: { create?: boolean; replace?: boolean }): void {
    this.call('setxattr', this.id(node), name, value, flags ?? {});
  }
  listxattr(node: FsNode): string[] {
    return this.call('listxattr', this.id(node)) as string[];
  }
  removexattr(node: FsNode, name: string): void {
    this.call('removexattr', this.id(node), name);
  }
  statfs(): StatFs {
    return this.call('statfs') as StatFs;
  }
  /** Returns once the host's filesystem holds the writes durably (the host answers after its save). */
  sync(): void {
    this.call('sync');
  }
}

/** Host side: runs one call on the real filesystem. Node handles are numbered per run. */
/** Writes at the current end of the file; atomic as long as it runs in one synchronous call. */
export function appendAtEnd(fs: FileSystem, node: FsNode, data: Uint8Array): { offset: number; written: number } {
  const offset = fs.stat(node).size;
  return { offset, written: fs.write(node, offset, data) };
}

export class FileSystemServer {
  private readonly byId = new Map<number, FsNode>();
  private readonly ids = new Map<FsNode, number>();
  private nextId = 1;

  constructor(private readonly fs: FileSystem) {}

  private wire(n: FsNode): WireNode {
    let id = this.ids.get(n);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(n, id);
      this.byId.set(id, n);
    }
    return { $node: id, ino: n.ino, kind: this.fs.stat(n).kind };
  }

  private node(id: unknown): FsNode {
    const n = this.byId.get(id as number);
    if (!n) throw new FsError('EBADF', `unknown node handle ${String(id)}`);
    return n;
  }

  /** Returns the value to send back; throws what the filesystem threw. */
  handle(op: string, a: unknown[]): unknown {
    const fs = this.fs;
    switch (op) {
      case 'root': return this.wire(fs.root());
      case 'lookup': return this.wire(fs.lookup(this.node(a[0]), a[1] as string));
      case 'parent': return this.wire(fs.parent(this.node(a[0])));
      case 'stat': return fs.stat(this.node(a[0]));
      case 'setattr': return fs.setattr(this.node(a[0]), a[1] as SetAttr);
      case 'readdir': return fs.readdir(this.node(a[0]));
      case 'read': return fs.read(this.node(a[0]), a[1] as number, a[2] as number);
      case 'write': return fs.write(this.node(a[0]), a[1] as number, a[2] as Uint8Array);
      case 'append': return appendAtEnd(fs, this.node(a[0]), a[1] as Uint8Array);
      case 'create': return this.wire(fs.create(this.node(a[0]), a[1] as string, a[2] as CreateAttr));
      case 'mkdir': return this.wire(fs.mkdir(this.node(a[0]), a[1] as string, a[2] as CreateAttr));
      case 'mknod': return this.wire(fs.mknod(this.node(a[0]), a[1] as string, a[2] as 'fifo', a[3] as number, a[4] as number, a[5] as CreateAttr));
      case 'symlink': return this.wire(fs.symlink(this.node(a[0]), a[1] as string, a[2] as string, a[3] as Omit<CreateAttr, 'mode'>));
      case 'link': return fs.link(this.node(a[0]), a[1] as string, this.node(a[2]));
      case 'readlink': return fs.readlink(this.node(a[0]));
      case 'unlink': return fs.unlink(this.node(a[0]), a[1] as string, a[2] as { directory?: boolean });
      case 'rename': return fs.rename(this.node(a[0]), a[1] as string, this.node(a[2]), a[3] as string);
      case 'getxattr': return fs.getxattr(this.node(a[0]), a[1] as string);
      case 'setxattr': return fs.setxattr(this.node(a[0]), a[1] as string, a[2] as Uint8Array, a[3] as { create?: boolean; replace?: boolean });
      case 'listxattr': return fs.listxattr(this.node(a[0]));
      case 'removexattr': return fs.removexattr(this.node(a[0]), a[1] as string);
      case 'statfs': return fs.statfs();
      // A promise: the runner replies when it settles, so the worker's fsync waits for the save.
      case 'sync': return fs.sync?.();
      default: throw new FsError('ENOSYS', `unknown filesystem op "${op}"`);
    }
  }
}
