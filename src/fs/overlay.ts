/**
 * A container's root filesystem: an immutable lower `LayerTree` plus a mutable upper tree, merged
 * like Linux overlayfs. Any modification copies the node (and its parent directories) up first;
 * deletes leave whiteouts, a directory recreated over a deleted one is opaque, and a renamed
 * directory is copied up whole (file bytes stay shared). Hard-linked lower files are copied up
 * under all their names at once, so links never break and link counts stay exact.
 *
 * Node identity: one `OverlayNode` per inode, found by the inode object, and it keeps pointing at
 * the same file across copy-up, rename and unlink (9P fids and WASI fds hold these objects).
 */
import type { TarEntry } from '../archive/types.ts';
import { fsError } from './errno.ts';
import { FileContent } from './file-content.ts';
import { Inode, linkCount } from './inode.ts';
import { applyLayer, emptyLayerTree, type LayerTree } from './layer.ts';
import { splitEntryPath, validName, WHITEOUT_PREFIX } from './path.ts';
import { OverlayNode } from './overlay-node.ts';
import { Quota, type QuotaOptions } from './quota.ts';
import { hardLinkPaths, treeUsage } from './tree.ts';
import type { CreateAttr, DirEntry, FileKind, FileSystem, FsNode, SetAttr, Stat, StatFs } from './types.ts';

export { OverlayNode } from './overlay-node.ts';

export interface OverlayOptions {
  /** The image's layers, merged; null for an empty lower (a scratch image). */
  lower: LayerTree | null;
  /** Every modifying call fails with EROFS. */
  readOnly?: boolean;
  /** Clock for timestamps, milliseconds since the epoch. */
  now?: () => number;
  /** What statfs reports as the size of the filesystem when there is no quota. Default 1 GiB. */
  capacityBytes?: number;
  /**
   * Bytes and inodes the writable layer may hold (fs/quota.ts): past them writes, truncates,
   * creates and copy-ups fail with ENOSPC, and statfs reports the limit and the usage.
   */
  quota?: QuotaOptions;
  /**
   * Called with each upper inode about to change (attributes, content or children), so a store
   * can save only what changed (engine/snapshots). New inodes show up as changed children.
   */
  onChange?: (inode: Inode) => void;
  /** fsync: makes every change so far durable (the writable layer's store, engine/snapshots/live.ts). */
  onSync?: () => Promise<void> | void;
}

export interface OverlayFromUpperOptions extends OverlayOptions {
  /** A saved upper layer (as `diffUpper` wrote it): entries with `.wh.` whiteouts and opaque markers. */
  entries: Iterable<TarEntry>;
}

const NAME_MAX = 255;
/** Files live in memory: past 16 GiB even a sparse file's chunk table gets silly. */
export const MAX_FILE_SIZE = 2 ** 34;
const encoder = new TextEncoder();

export class Overlay implements FileSystem {
  readonly readOnly: boolean;
  readonly #lower: LayerTree;
  readonly #upperRoot: Inode;
  readonly #upperLinks: Map<Inode, number>;
  /** Weak: a node lives while its inode is in a tree or a handle holds it, so deleted files are freed. */
  readonly #byInode = new WeakMap<Inode, OverlayNode>();
  readonly #root: OverlayNode;
  readonly #now: () => number;
  readonly #capacity: number;
  readonly #quota: Quota | null;
  readonly #onChange: (inode: Inode) => void;
  readonly #onSync: (() => Promise<void> | void) | undefined;
  #nextIno = 1;
  /** Lazily built: every path of each hard-linked lower inode. */
  #lowerLinkPaths: Map<Inode, string[][]> | null = null;

  constructor(options: OverlayOptions & { upper?: LayerTree }) {
    this.#lower = options.lower ?? emptyLayerTree();
    this.readOnly = options.readOnly ?? false;
    this.#now = options.now ?? Date.now;
    this.#capacity = options.capacityBytes ?? 1 << 30;
    this.#onChange = options.onChange ?? (() => {});
    this.#onSync = options.onSync;
    this.#upperRoot = options.upper?.root ?? this.#lower.root.copyUp();
    this.#upperLinks = new Map(options.upper?.links ?? []);
    this.#quota = options.quota ? new Quota(options.quota, this.#upperRoot) : null;
    this.#root = this.#register(new OverlayNode(this.#nextIno++, null, '', this.#lower.root, this.#upperRoot));
  }

  /** Restores a container's writable layer saved by `diffUpper`. */
  static fromUpper(options: OverlayFromUpperOptions): Overlay {
    const entries = [...options.entries];
    const upper = applyLayer(null, entries, { keepWhiteouts: true });
    const hasRoot = entries.some((e) => {
      const s = splitEntryPath(e.header.name);
      return s.ok && s.parts.length === 0;
    });
    if (!hasRoot && options.lower) {
      const r = options.lower.root;
      Object.assign(upper.root, { mode: r.mode, uid: r.uid, gid: r.gid, atimeMs: r.atimeMs, mtimeMs: r.mtimeMs, ctimeMs: r.ctimeMs });
      upper.root.xattrs = r.xattrs ? new Map(r.xattrs) : null;
    }
    return new Overlay({ ...options, upper });
  }

  /** The lower tree (for diff/export; do not mutate). */
  get lowerTree(): LayerTree {
    return this.#lower;
  }

  /** The upper tree with its whiteouts and opaque flags (for diff; do not mutate). */
  get upperTree(): LayerTree {
    return { root: this.#upperRoot, links: this.#upperLinks };
  }

  root(): FsNode {
    return this.#root;
  }

  lookup(dir: FsNode, name: string): FsNode {
    const d = this.#dir(dir);
    if (!validName(name)) throw fsError('ENOENT', `bad name ${JSON.stringify(name)}`);
    const child = this.#child(d, name);
    if (!child) throw fsError('ENOENT', name);
    return child;
  }

  parent(dir: FsNode): FsNode {
    return this.#dir(dir).parent;
  }

  stat(node: FsNode): Stat {
    const n = this.#node(node);
    const i = n.inode;
    let nlink: number;
    if (n.orphan) nlink = 0;
    else if (i.kind === 'directory') nlink = 2 + this.#subdirCount(n);
    else nlink = n.upper ? linkCount(this.#upperLinks, n.upper) : linkCount(this.#lower.links, i);
    return {
      ino: n.ino,
      kind: i.kind as FileKind,
      mode: i.mode,
      uid: i.uid,
      gid: i.gid,
      nlink,
      size: i.size,
      rdevMajor: i.rdevMajor,
      rdevMinor: i.rdevMinor,
      atimeMs: i.atimeMs,
      mtimeMs: i.mtimeMs,
      ctimeMs: i.ctimeMs,
      version: n.version,
    };
  }

  setattr(node: FsNode, attr: SetAttr): void {
    const n = this.#node(node);
    this.#writable();
    if (attr.size !== undefined) {
      if (n.inode.kind === 'directory') throw fsError('EISDIR');
      if (n.inode.kind !== 'file') throw fsError('EINVAL', 'size of a non-regular file');
      if (attr.size < 0 || !Number.isSafeInteger(attr.size)) throw fsError('EINVAL', `size ${attr.size}`);
      if (attr.size > MAX_FILE_SIZE) throw fsError('EFBIG', `size ${attr.size}`);
    }
    // Linux has no lchmod: a symlink's mode is always 0777.
    if (attr.mode !== undefined && n.inode.kind === 'symlink') throw fsError('EOPNOTSUPP', 'chmod of a symlink');
    const i = this.#copyUp(n);
    if (attr.size !== undefined) this.#resized(i.size, attr.size);
    const now = this.#now();
    if (attr.mode !== undefined) i.mode = attr.mode & 0o7777;
    if (attr.uid !== undefined) i.uid = attr.uid;
    if (attr.gid !== undefined) i.gid = attr.gid;
    if (attr.size !== undefined) {
      i.content!.truncate(attr.size);
      i.mtimeMs = now;
    }
    if (attr.atimeMs !== undefined) i.atimeMs = attr.atimeMs;
    if (attr.mtimeMs !== undefined) i.mtimeMs = attr.mtimeMs;
    i.ctimeMs = attr.ctimeMs ?? now;
    n.version++;
  }

  readdir(dir: FsNode): DirEntry[] {
    const d = this.#dir(dir);
    const out: DirEntry[] = [];
    for (const name of this.#names(d)) {
      const c = this.#child(d, name)!;
      out.push({ name, ino: c.ino, kind: c.inode.kind as FileKind });
    }
    return out;
  }

  read(node: FsNode, offset: number, length: number): Uint8Array {
    const i = this.#file(node);
    if (offset < 0 || length < 0) throw fsError('EINVAL', 'negative offset or length');
    return i.content!.read(offset, length);
  }

  write(node: FsNode, offset: number, data: Uint8Array): number {
    const n = this.#node(node);
    this.#file(n);
    this.#writable();
    if (offset < 0 || !Number.isSafeInteger(offset + data.length)) throw fsError('EINVAL', `offset ${offset}`);
    if (offset + data.length > MAX_FILE_SIZE) throw fsError('EFBIG', `offset ${offset}`);
    // An image file's bytes may still be in the store: wait for them (PendingIO) before any change.
    n.inode.content!.prepareWrite(offset, data.length);
    const i = this.#copyUp(n);
    this.#resized(i.size, Math.max(i.size, offset + data.length));
    const written = i.content!.write(offset, data);
    i.mtimeMs = i.ctimeMs = this.#now();
    n.version++;
    return written;
  }

  create(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    const d = this.#prepareCreate(dir, name);
    return this.#insertNew(d, name, Inode.file(attr.mode, attr.uid, attr.gid, this.#now(), FileContent.empty()));
  }

  mkdir(dir: FsNode, name: string, attr: CreateAttr): FsNode {
    const d = this.#prepareCreate(dir, name);
    const node = Inode.directory(attr.mode, attr.uid, attr.gid, this.#now());
    // Over a whiteout the old lower directory must stay hidden.
    if (d.upper!.children!.get(name)?.kind === 'whiteout') node.opaque = true;
    return this.#insertNew(d, name, node);
  }

  mknod(dir: FsNode, name: string, kind: 'chardev' | 'blockdev' | 'fifo' | 'socket', major: number, minor: number, attr: CreateAttr): FsNode {
    if (!['chardev', 'blockdev', 'fifo', 'socket'].includes(kind)) throw fsError('EINVAL', `mknod kind ${String(kind)}`);
    const d = this.#prepareCreate(dir, name);
    return this.#insertNew(d, name, Inode.device(kind, attr.mode, attr.uid, attr.gid, this.#now(), major, minor));
  }

  symlink(dir: FsNode, name: string, target: string, attr: Omit<CreateAttr, 'mode'>): FsNode {
    if (target === '') throw fsError('ENOENT', 'empty symlink target');
    const d = this.#prepareCreate(dir, name);
    return this.#insertNew(d, name, Inode.symlink(target, attr.uid, attr.gid, this.#now()));
  }

  link(dir: FsNode, name: string, target: FsNode): void {
    const t = this.#node(target);
    // Linux's order: the new name first (ENOTDIR, EEXIST), then what it would point at.
    const d = this.#checkCreate(dir, name);
    if (t.inode.kind === 'directory') throw fsError('EPERM', 'hard link to a directory');
    if (t.orphan) throw fsError('ENOENT', 'link to an unlinked file');
    this.#copyUp(d);
    const i = this.#copyUp(t);
    d.upper!.children!.set(name, i);
    this.#upperLinks.set(i, linkCount(this.#upperLinks, i) + 1);
    const now = this.#now();
    i.ctimeMs = now;
    t.version++;
    this.#touchDir(d, now);
  }

  readlink(node: FsNode): string {
    const i = this.#node(node).inode;
    if (i.kind !== 'symlink') throw fsError('EINVAL', 'not a symlink');
    return i.target;
  }

  unlink(dir: FsNode, name: string, options?: { directory?: boolean }): void {
    const d = this.#dir(dir);
    this.#writable();
    const c = this.#child(d, name);
    if (!c) throw fsError('ENOENT', name);
    if (options?.directory) {
      if (c.inode.kind !== 'directory') throw fsError('ENOTDIR', name);
      if (c === this.#root) throw fsError('EBUSY');
      if (this.#names(c).length > 0) throw fsError('ENOTEMPTY', name);
    } else if (c.inode.kind === 'directory') throw fsError('EISDIR', name);
    if (!c.upper && linkCount(this.#lower.links, c.inode) > 1) this.#copyUp(c);
    const now = this.#now();
    this.#detach(d, name, c, now);
    this.#touchDir(d, now);
  }

  rename(oldDir: FsNode, oldName: string, newDir: FsNode, newName: string): void {
    const od = this.#dir(oldDir);
    const nd = this.#dir(newDir);
    this.#writable();
    if (!validName(newName)) throw fsError('EINVAL', `bad name ${JSON.stringify(newName)}`);
    if (!validName(oldName)) throw fsError('EINVAL', `bad name ${JSON.stringify(oldName)}`);
    const src = this.#child(od, oldName);
    if (!src) throw fsError('ENOENT', oldName);
    if (nd.orphan) throw fsError('ENOENT', 'target directory was removed');
    const dst = this.#child(nd, newName);
    // Linux's order (do_renameat2, then vfs_rename): ancestry traps, same inode, kinds, emptiness.
    if (this.#within(nd, src)) throw fsError('EINVAL', 'rename of a directory into itself');
    if (dst && this.#within(od, dst)) throw fsError('ENOTEMPTY', 'rename over an ancestor');
    if (dst === src) return;
    const srcIsDir = src.inode.kind === 'directory';
    if (dst) {
      const dstIsDir = dst.inode.kind === 'directory';
      if (srcIsDir && !dstIsDir) throw fsError('ENOTDIR', newName);
      if (!srcIsDir && dstIsDir) throw fsError('EISDIR', newName);
      if (dstIsDir && this.#names(dst).length > 0) throw fsError('ENOTEMPTY', newName);
    } else this.#checkNewName(newName);
    if (srcIsDir) this.#copyUpTree(src);
    else this.#copyUp(src);
    const now = this.#now();
    if (dst) {
      if (!dst.upper && linkCount(this.#lower.links, dst.inode) > 1) this.#copyUp(dst);
      this.#detach(nd, newName, dst, now);
    }
    // A moved directory is complete in the upper; it must hide a lower directory at its new path.
    if (srcIsDir) src.upper!.opaque = this.#visibleLower(nd)?.children!.get(newName)?.kind === 'directory';
    this.#detachName(od, oldName);
    const target = this.#copyUp(nd);
    target.children!.set(newName, src.upper!);
    src.parent = nd;
    src.name = newName;
    src.upper!.ctimeMs = now;
    src.version++;
    this.#touchDir(od, now);
    if (nd !== od) this.#touchDir(nd, now);
  }

  getxattr(node: FsNode, name: string): Uint8Array {
    const v = this.#node(node).inode.xattrs?.get(name);
    if (!v) throw fsError('ENODATA', name);
    return v.slice();
  }

  setxattr(node: FsNode, name: string, value: Uint8Array, flags?: { create?: boolean; replace?: boolean }): void {
    const n = this.#node(node);
    this.#writable();
    if (name === '' || encoder.encode(name).length > 255) throw fsError('ERANGE', 'xattr name');
    // As Linux: user.* attributes live only on regular files and directories.
    const kind = n.inode.kind;
    if (name.startsWith('user.') && kind !== 'file' && kind !== 'directory') throw fsError('EPERM', `user xattr on a ${kind}`);
    const has = n.inode.xattrs?.has(name) ?? false;
    if (flags?.create && has) throw fsError('EEXIST', name);
    if (flags?.replace && !has) throw fsError('ENODATA', name);
    const i = this.#copyUp(n);
    (i.xattrs ??= new Map()).set(name, value.slice());
    i.ctimeMs = this.#now();
    n.version++;
  }

  listxattr(node: FsNode): string[] {
    return [...(this.#node(node).inode.xattrs?.keys() ?? [])];
  }

  removexattr(node: FsNode, name: string): void {
    const n = this.#node(node);
    this.#writable();
    if (!n.inode.xattrs?.has(name)) throw fsError('ENODATA', name);
    const i = this.#copyUp(n);
    i.xattrs!.delete(name);
    if (i.xattrs!.size === 0) i.xattrs = null;
    i.ctimeMs = this.#now();
    n.version++;
  }

  sync(): Promise<void> | void {
    return this.#onSync?.();
  }

  /**
   * An untouched image file (no upper, one name, bytes a range of a layer copy): its content key
   * with its attributes, which is what a guest shares between containers (src/p9/share.ts).
   */
  imageFileKey(node: FsNode, options?: { lower?: boolean }): string | null {
    const n = this.#node(node);
    const l = n.lower;
    if (!l || l.kind !== 'file') return null;
    if (!options?.lower && (n.upper || n.orphan || linkCount(this.#lower.links, l) !== 1)) return null;
    const key = l.content?.baseKey;
    return key ? `${key} ${l.mode} ${l.uid} ${l.gid} ${l.atimeMs} ${l.mtimeMs} ${l.ctimeMs}` : null;
  }

  /** The bytes of the image file `node` started as, even after a copy-up changed its own. */
  readImageFile(node: FsNode, offset: number, length: number): Uint8Array {
    const l = this.#node(node).lower;
    if (!l || l.kind !== 'file') throw fsError('EINVAL', 'not an image file');
    if (offset < 0 || length < 0) throw fsError('EINVAL', 'negative offset or length');
    return l.content!.read(offset, length);
  }

  /** Copies a file up (its own copy from now on), as any change would. */
  copyUpFile(node: FsNode): void {
    this.#file(node);
    this.#writable();
    // An image file's bytes may still be in the store: the copy shares them, reads none.
    this.#copyUp(this.#node(node));
  }

  /** Capacity from the options; "used" counts what this container holds privately (its upper). */
  statfs(): StatFs {
    if (this.#quota) return this.#quota.statfs(NAME_MAX);
    const blockSize = 4096;
    const blocks = Math.floor(this.#capacity / blockSize);
    const files = 1 << 20;
    const used = treeUsage(this.#upperRoot);
    return {
      blockSize,
      blocks,
      blocksFree: Math.max(0, blocks - Math.ceil(used.bytes / blockSize)),
      files,
      filesFree: Math.max(0, files - used.inodes),
      nameMax: NAME_MAX,
    };
  }

  // ---- internals ----

  #node(node: FsNode): OverlayNode {
    if (!(node instanceof OverlayNode) || this.#byInode.get(node.inode) !== node) throw fsError('EBADF', 'not a node of this overlay');
    return node;
  }

  #dir(node: FsNode): OverlayNode {
    const n = this.#node(node);
    if (n.inode.kind !== 'directory') throw fsError('ENOTDIR');
    return n;
  }

  #file(node: FsNode): Inode {
    const i = this.#node(node).inode;
    if (i.kind === 'directory') throw fsError('EISDIR');
    if (i.kind !== 'file') throw fsError('EINVAL', `not a regular file (${i.kind})`);
    return i;
  }

  #writable(): void {
    if (this.readOnly) throw fsError('EROFS');
  }

  #register(n: OverlayNode): OverlayNode {
    this.#byInode.set(n.inode, n);
    return n;
  }

  /** The lower directory whose children show through `d`, if any. */
  #visibleLower(d: OverlayNode): Inode | null {
    const l = d.lower;
    if (!l || l.kind !== 'directory' || d.upper?.opaque) return null;
    return l;
  }

  #child(d: OverlayNode, name: string): OverlayNode | null {
    const up = d.upper?.children!.get(name);
    if (up?.kind === 'whiteout') return null;
    const low = this.#visibleLower(d)?.children!.get(name);
    const inode = up ?? low;
    if (!inode) return null;
    const known = this.#byInode.get(inode);
    if (known) return known;
    const lower = up ? (up.kind === 'directory' && low?.kind === 'directory' ? low : null) : low!;
    return this.#register(new OverlayNode(this.#nextIno++, d, name, lower, up ?? null));
  }

  /** Merged names: lower order first (upper replacements in place), then upper-only names. */
  #names(d: OverlayNode): string[] {
    const up = d.upper?.children;
    const low = this.#visibleLower(d)?.children;
    const out: string[] = [];
    if (low) for (const name of low.keys()) if (up?.get(name)?.kind !== 'whiteout') out.push(name);
    if (up) for (const [name, i] of up) if (i.kind !== 'whiteout' && !low?.has(name)) out.push(name);
    return out;
  }

  #subdirCount(d: OverlayNode): number {
    const up = d.upper?.children;
    const low = this.#visibleLower(d)?.children;
    let n = 0;
    if (low) for (const [name, i] of low) if (!up?.has(name) && i.kind === 'directory') n++;
    if (up) for (const i of up.values()) if (i.kind === 'directory') n++;
    return n;
  }

  /** Whether directory `d` is `ancestor` or lies below it. */
  #within(d: OverlayNode, ancestor: OverlayNode): boolean {
    for (let p = d; ; p = p.parent) {
      if (p === ancestor) return true;
      if (p === this.#root) return false;
    }
  }

  #checkNewName(name: string): void {
    if (!validName(name)) throw fsError('EINVAL', `bad name ${JSON.stringify(name)}`);
    if (encoder.encode(name).length > NAME_MAX) throw fsError('ENAMETOOLONG', name);
    // Such names would read back as whiteouts once the upper layer is saved as an OCI layer.
    if (name.startsWith(WHITEOUT_PREFIX)) throw fsError('EINVAL', `reserved name ${name}`);
  }

  /** Checks that `name` can be created in `dir`; changes nothing. */
  #checkCreate(dir: FsNode, name: string): OverlayNode {
    const d = this.#dir(dir);
    this.#writable();
    if (d.orphan) throw fsError('ENOENT', 'directory was removed');
    if (validName(name) && this.#child(d, name)) throw fsError('EEXIST', name);
    this.#checkNewName(name);
    return d;
  }

  #prepareCreate(dir: FsNode, name: string): OverlayNode {
    const d = this.#checkCreate(dir, name);
    this.#copyUp(d);
    return d;
  }

  #insertNew(d: OverlayNode, name: string, inode: Inode): OverlayNode {
    this.#quota?.charge(0, 1);
    d.upper!.children!.set(name, inode);
    this.#touchDir(d, inode.ctimeMs);
    return this.#register(new OverlayNode(this.#nextIno++, d, name, null, inode));
  }

  /** A file of the upper layer goes from `from` to `to` bytes: ENOSPC past the quota, before any change. */
  #resized(from: number, to: number): void {
    if (!this.#quota || to === from) return;
    if (to > from) this.#quota.charge(to - from);
    else this.#quota.release(from - to);
  }

  #touchDir(d: OverlayNode, now: number): void {
    const i = this.#copyUp(d);
    i.mtimeMs = i.ctimeMs = now;
    d.version++;
  }

  /** Removes `name` (node `c`) from directory `d`, keeping link counts exact. */
  #detach(d: OverlayNode, name: string, c: OverlayNode, now: number): void {
    this.#detachName(d, name);
    const u = c.upper;
    const count = u ? linkCount(this.#upperLinks, u) : 1;
    if (u && count > 2) this.#upperLinks.set(u, count - 1);
    else if (u && count === 2) this.#upperLinks.delete(u);
    else {
      c.orphan = true;
      if (u) this.#quota?.release(u.kind === 'file' ? u.size : 0, 1);
    }
    if (u) {
      u.ctimeMs = now;
      this.#onChange(u);
    }
    c.version++;
  }

  /** Makes `name` absent from `d`: a whiteout if a lower entry would show through. */
  #detachName(d: OverlayNode, name: string): void {
    const up = this.#copyUp(d);
    if (this.#visibleLower(d)?.children!.has(name)) up.children!.set(name, Inode.whiteout());
    else up.children!.delete(name);
  }

  /** The node's upper inode, copying it (and its parents) up first. */
  #copyUp(n: OverlayNode): Inode {
    if (n.upper) {
      this.#onChange(n.upper);
      return n.upper;
    }
    const lower = n.lower!;
    if (!n.orphan && lower.kind !== 'directory' && linkCount(this.#lower.links, lower) > 1) return this.#copyUpLinked(n);
    this.#quota?.charge(lower.kind === 'file' ? lower.size : 0, 1);
    const u = lower.copyUp();
    if (!n.orphan) this.#copyUp(n.parent).children!.set(n.name, u);
    n.upper = u;
    this.#byInode.set(u, n);
    this.#onChange(u);
    return u;
  }

  /** Copies up a hard-linked lower file under every name it still has in the merged view. */
  #copyUpLinked(n: OverlayNode): Inode {
    const lower = n.lower!;
    this.#quota?.charge(lower.kind === 'file' ? lower.size : 0, 1);
    const u = lower.copyUp();
    let names = 0;
    for (const path of this.#linkPaths().get(lower) ?? []) {
      let dir: OverlayNode | null = this.#root;
      for (let k = 0; k < path.length - 1 && dir; k++) {
        const next: OverlayNode | null = this.#child(dir, path[k]!);
        dir = next && next.inode.kind === 'directory' ? next : null;
      }
      const leaf = path[path.length - 1]!;
      if (!dir || this.#child(dir, leaf) !== n) continue;
      this.#copyUp(dir).children!.set(leaf, u);
      names++;
    }
    if (names > 1) this.#upperLinks.set(u, names);
    n.upper = u;
    this.#byInode.set(u, n);
    this.#onChange(u);
    return u;
  }

  #linkPaths(): Map<Inode, string[][]> {
    return (this.#lowerLinkPaths ??= hardLinkPaths(this.#lower));
  }

  /**
   * Copies a directory up with its whole merged subtree, then cuts it loose from the lower tree:
   * it is about to live at another path, where its old lower directory must not show through.
   * (Whether it must hide a lower directory at its new path is the caller's business.)
   */
  #copyUpTree(top: OverlayNode): void {
    const stack = [top]; // not recursive: container-made trees can be deeper than the call stack
    const done: OverlayNode[] = [];
    while (stack.length > 0) {
      const d = stack.pop()!;
      this.#copyUp(d);
      for (const name of this.#names(d)) {
        const c = this.#child(d, name)!;
        if (c.inode.kind === 'directory') stack.push(c);
        else this.#copyUp(c);
      }
      done.push(d);
    }
    // Only now: copying up hard-linked files looks their other names up through the merged view.
    for (const d of done) {
      const up = d.upper!;
      for (const [name, i] of up.children!) if (i.kind === 'whiteout') up.children!.delete(name);
      up.opaque = false;
      d.lower = null;
    }
  }
}
