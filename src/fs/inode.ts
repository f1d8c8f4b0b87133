/**
 * The inode model shared by layer trees (fs/layer.ts, immutable once built) and an overlay's upper
 * tree (fs/overlay.ts, mutable). One class for every kind keeps objects monomorphic; fields that
 * do not apply to a kind stay at their empty value.
 *
 * Link counts are not stored here: an inode of a layer is shared by many trees whose link counts
 * differ, so each tree keeps a `LinkCounts` map of its hard-linked inodes (absent means 1).
 */
import type { FileKind } from './types.ts';
import { FileContent } from './file-content.ts';

export type InodeKind = FileKind | 'whiteout';

export class Inode {
  kind: InodeKind;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  xattrs: Map<string, Uint8Array> | null = null;
  /** Directories: name -> child, in insertion order. Upper trees also hold whiteout children. */
  children: Map<string, Inode> | null = null;
  /** Directories of an upper tree: lower children are hidden (`.wh..wh..opq`). */
  opaque = false;
  content: FileContent | null = null;
  /** Symlink target. */
  target = '';
  rdevMajor = 0;
  rdevMinor = 0;
  /** Which applyLayer call made this inode from an entry (duplicate-entry detection). */
  layerMark: object | null = null;

  constructor(kind: InodeKind, mode: number, uid: number, gid: number, timeMs: number) {
    this.kind = kind;
    this.mode = mode & 0o7777;
    this.uid = uid;
    this.gid = gid;
    this.atimeMs = timeMs;
    this.mtimeMs = timeMs;
    this.ctimeMs = timeMs;
  }

  static directory(mode: number, uid: number, gid: number, timeMs: number): Inode {
    const n = new Inode('directory', mode, uid, gid, timeMs);
    n.children = new Map();
    return n;
  }

  static file(mode: number, uid: number, gid: number, timeMs: number, content: FileContent): Inode {
    const n = new Inode('file', mode, uid, gid, timeMs);
    n.content = content;
    return n;
  }

  static symlink(target: string, uid: number, gid: number, timeMs: number): Inode {
    const n = new Inode('symlink', 0o777, uid, gid, timeMs);
    n.target = target;
    return n;
  }

  static device(kind: 'chardev' | 'blockdev' | 'fifo' | 'socket', mode: number, uid: number, gid: number, timeMs: number, major: number, minor: number): Inode {
    const n = new Inode(kind, mode, uid, gid, timeMs);
    n.rdevMajor = major;
    n.rdevMinor = minor;
    return n;
  }

  /** The upper tree's marker for "deleted from the lower layers". Never shared with a layer. */
  static whiteout(): Inode {
    return new Inode('whiteout', 0, 0, 0, 0);
  }

  get isDir(): boolean {
    return this.kind === 'directory';
  }

  get size(): number {
    if (this.kind === 'file') return this.content?.size ?? 0;
    if (this.kind === 'symlink') return new TextEncoder().encode(this.target).length;
    return 0;
  }

  /**
   * A copy with the same attributes. Files share chunks (copy-on-write); directories get a new
   * children map holding the same children (shallow: one level, as path copying needs).
   */
  shallowCopy(): Inode {
    const n = new Inode(this.kind, this.mode, this.uid, this.gid, 0);
    n.atimeMs = this.atimeMs;
    n.mtimeMs = this.mtimeMs;
    n.ctimeMs = this.ctimeMs;
    n.xattrs = this.xattrs ? new Map(this.xattrs) : null;
    n.children = this.children ? new Map(this.children) : null;
    n.opaque = this.opaque;
    n.content = this.content ? this.content.clone() : null;
    n.target = this.target;
    n.rdevMajor = this.rdevMajor;
    n.rdevMinor = this.rdevMinor;
    return n;
  }

  /** Copy-up: attributes and contents, but an empty children map for directories. */
  copyUp(): Inode {
    const n = this.shallowCopy();
    if (n.children) n.children = new Map();
    n.opaque = false;
    return n;
  }
}

/** Hard-linked inodes of one tree and their link counts; inodes not present have one link. */
export type LinkCounts = Map<Inode, number>;

export function linkCount(counts: ReadonlyMap<Inode, number>, node: Inode): number {
  return counts.get(node) ?? 1;
}
