/**
 * The fid table. A fid names a node of one export plus the path that reached it: the node is
 * what operations use, the path is what survives a VM snapshot (saveState/restoreState), so the
 * table rewrites paths on rename and marks fids whose name was unlinked as orphans.
 */
import type { FileKind, FileSystem, FsNode } from '../fs/types.ts';
import { fsError } from '../fs/errno.ts';
import type { LockTable } from './locks.ts';
import type { SharedFiles } from './share.ts';

export interface Export {
  readonly name: string;
  readonly fs: FileSystem;
  readonly readOnly: boolean;
  readonly locks: LockTable;
  /**
   * High bits of every qid.path of this export (qid.path = serial * 2^32 + ino): exports share one
   * guest mount, and inode numbers of two filesystems must not alias in the guest's inode cache.
   * 0 is the exports root.
   */
  serial: number;
  /** The synthetic directory of export names (exports-root.ts). */
  readonly isExportsRoot?: boolean;
  /** Getattr answers below the root say the guest may cache them (ExportOptions.cacheable). */
  readonly cacheable?: boolean;
}

/** Readdir listing captured at offset 0, so later offsets (cookies) index a stable list. */
export interface DirListing {
  entries: { name: string; ino: number; kind: FileKind }[];
}

export type XattrState =
  | { mode: 'read'; data: Uint8Array }
  | { mode: 'write'; name: string; size: number; flags: number; data: Uint8Array; written: number };

export interface Fid {
  readonly id: number;
  readonly exp: Export;
  node: FsNode;
  /** Names from the export root; null once the name this fid reached was unlinked or replaced. */
  path: string[] | null;
  /** The attaching user's uid: owner of what this fid creates. */
  readonly uid: number;
  /** Linux open flags once Tlopen/Tlcreate succeeded; null while unopened. */
  openFlags: number | null;
  listing?: DirListing;
  xattr?: XattrState;
  /** Restored from a snapshot but its path no longer resolves: only Tclunk works. */
  stale?: boolean;
  /**
   * Opened while its node was a shared image file (share.ts): the key it was shared under. It
   * reads that image file for its whole life, whatever the container does to the node since.
   */
  frozen?: string;
}

const utf8 = new TextEncoder();

/** Generous cap so a hostile guest cannot grow the table without bound. */
export const MAX_FIDS = 1 << 18;
/** xattr values held by fids (Txattrwalk results, Txattrcreate buffers), all fids together. */
export const MAX_XATTR_BYTES = 8 << 20;
/** Readdir entries kept on fids, all together; past it the least recently listed fid lists again. */
export const MAX_LISTED_ENTRIES = 1 << 18;

function xattrBytes(fid: Fid | undefined): number {
  if (!fid?.xattr) return 0;
  return fid.xattr.mode === 'write' ? fid.xattr.size : fid.xattr.data.length;
}

export class FidTable {
  private readonly fids = new Map<number, Fid>();
  private xattrTotal = 0;
  /** Fids holding a listing, least recently listed first, with the listing's size. */
  private readonly listed = new Map<Fid, number>();
  private listedTotal = 0;

  /** Bytes of xattr values held now (for tests and traces). */
  get xattrBytes(): number {
    return this.xattrTotal;
  }

  /** Readdir entries held now. */
  get listedEntries(): number {
    return this.listedTotal;
  }

  /** Throws ENOSPC if replacing `old` by `fid` would pass the xattr budget. */
  private chargeXattr(old: Fid | undefined, fid: Fid): void {
    const next = this.xattrTotal - xattrBytes(old) + xattrBytes(fid);
    if (next > MAX_XATTR_BYTES && xattrBytes(fid) > 0) {
      throw fsError('ENOSPC', `xattr buffers of all fids would hold ${next} bytes (max ${MAX_XATTR_BYTES})`);
    }
    this.xattrTotal = next;
  }

  private forget(fid: Fid | undefined): void {
    if (!fid) return;
    this.xattrTotal -= xattrBytes(fid);
    this.dropListing(fid);
  }

  /** Gives `fid` a listing, evicting the least recently listed fids' listings to stay in budget. */
  keepListing(fid: Fid, listing: DirListing): void {
    this.dropListing(fid);
    const n = listing.entries.length;
    for (const [other, k] of this.listed) {
      if (this.listedTotal + n <= MAX_LISTED_ENTRIES) break;
      other.listing = undefined;
      this.listed.delete(other);
      this.listedTotal -= k;
    }
    fid.listing = listing;
    this.listed.set(fid, n);
    this.listedTotal += n;
  }

  dropListing(fid: Fid): void {
    const k = this.listed.get(fid);
    if (k !== undefined) {
      this.listed.delete(fid);
      this.listedTotal -= k;
    }
    fid.listing = undefined;
  }

  /** Turns `fid` into an xattr fid (Txattrcreate), within the xattr budget. */
  setXattr(fid: Fid, xattr: XattrState): void {
    this.chargeXattr(fid, { ...fid, xattr });
    fid.xattr = xattr;
  }

  get size(): number {
    return this.fids.size;
  }

  values(): IterableIterator<Fid> {
    return this.fids.values();
  }

  get(id: number): Fid {
    const fid = this.fids.get(id);
    if (!fid) throw fsError('EBADF', `fid ${id} is not in use`);
    return fid;
  }

  has(id: number): boolean {
    return this.fids.has(id);
  }

  /** Adds a fid; the id must be free. */
  add(fid: Fid): Fid {
    if (this.fids.has(fid.id)) throw fsError('EINVAL', `fid ${fid.id} is already in use`);
    if (this.fids.size >= MAX_FIDS) throw fsError('ENFILE', `fid table full (${MAX_FIDS})`);
    this.chargeXattr(undefined, fid);
    this.fids.set(fid.id, fid);
    return fid;
  }

  /** Adds or replaces (Twalk with newfid == fid). */
  set(fid: Fid): void {
    const old = this.fids.get(fid.id);
    if (!old && this.fids.size >= MAX_FIDS) throw fsError('ENFILE', `fid table full (${MAX_FIDS})`);
    this.chargeXattr(old, fid);
    if (old) this.dropListing(old);
    this.fids.set(fid.id, fid);
  }

  delete(id: number): Fid | undefined {
    const fid = this.fids.get(id);
    this.forget(fid);
    this.fids.delete(id);
    return fid;
  }

  clear(): void {
    this.fids.clear();
    this.listed.clear();
    this.listedTotal = 0;
    this.xattrTotal = 0;
  }

  /** After rename(from -> to) in `exp`: fids at or under `from` move; fids at or under `to` were replaced. */
  renamed(exp: Export, from: string[], to: string[]): void {
    for (const fid of this.fids.values()) {
      if (fid.exp !== exp || !fid.path) continue;
      if (isPrefix(to, fid.path) && !isPrefix(from, fid.path)) fid.path = null;
    }
    for (const fid of this.fids.values()) {
      if (fid.exp !== exp || !fid.path) continue;
      if (isPrefix(from, fid.path)) fid.path = [...to, ...fid.path.slice(from.length)];
    }
  }

  /** After unlink of `path` in `exp`: fids at or under it no longer have a name. */
  unlinked(exp: Export, path: string[]): void {
    for (const fid of this.fids.values()) {
      if (fid.exp === exp && fid.path && isPrefix(path, fid.path)) fid.path = null;
    }
  }

  /** Drops every fid of an export (removeExport). */
  dropExport(exp: Export): Fid[] {
    const dropped: Fid[] = [];
    for (const [id, fid] of this.fids) {
      if (fid.exp === exp) {
        dropped.push(fid);
        this.forget(fid);
        this.fids.delete(id);
      }
    }
    return dropped;
  }
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}

/** Walks `path` from the export root with no `..` handling (paths in the table are normalized). */
export function resolvePath(exp: Export, path: readonly string[]): FsNode {
  let node = exp.fs.root();
  for (const name of path) node = exp.fs.lookup(node, name);
  return node;
}

/**
 * The directory holding a fid's node and the node's name there, re-checked against the node so
 * a stale path is an error rather than an operation on some other file.
 */
export function parentOf(fid: Fid): { dir: FsNode; name: string; dirPath: string[] } {
  if (!fid.path) throw fsError('ENOENT', `fid ${fid.id} names an unlinked node`);
  if (fid.path.length === 0) throw fsError('EBUSY', `fid ${fid.id} is the root of export "${fid.exp.name}"`);
  const dirPath = fid.path.slice(0, -1);
  const name = fid.path[fid.path.length - 1]!;
  const dir = resolvePath(fid.exp, dirPath);
  const found = fid.exp.fs.lookup(dir, name);
  if (found.ino !== fid.node.ino) throw fsError('ENOENT', `fid ${fid.id}: /${fid.path.join('/')} now names another node`);
  return { dir, name, dirPath };
}

/** What every handler gets: the fid table, the negotiated msize and the clock. */
export interface Session {
  readonly fids: FidTable;
  readonly msize: number;
  readonly maxFileSize: number;
  now(): number;
  /** An export by name (not the exports root). */
  lookupExport(name: string): Export | undefined;
  /** Image files shared between exports (share.ts); null while sharing is off. */
  readonly shared: SharedFiles | null;
}

/** A fid whose node is usable (not stale after a restore). */
export function liveFid(s: Session, id: number): Fid {
  const fid = s.fids.get(id);
  if (fid.stale) throw fsError('ENOENT', `fid ${id} was restored from a snapshot but its path no longer exists`);
  return fid;
}

/** A fid that names a node (not an xattr fid). */
export function nodeFid(s: Session, id: number): Fid {
  const fid = liveFid(s, id);
  if (fid.xattr) throw fsError('EBADF', `fid ${id} is an xattr fid`);
  return fid;
}

export function checkWritable(fid: Fid): void {
  if (fid.exp.readOnly) throw fsError('EROFS', `export "${fid.exp.name}" is read-only`);
}

/** A name for create/link/rename/unlink: one component, not "." or "..", no '/' or NUL. */
export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..') throw fsError('EINVAL', `invalid name ${JSON.stringify(name)}`);
  if (name.includes('/') || name.includes('\0')) throw fsError('EINVAL', `name ${JSON.stringify(name)} contains '/' or NUL`);
  if (name.length > 85 && utf8.encode(name).length > 255) throw fsError('ENAMETOOLONG', `name of ${name.length} characters`);
}

export function childPath(fid: Fid, name: string): string[] | null {
  return fid.path ? [...fid.path, name] : null;
}
