/**
 * Advisory POSIX record locks for Tlock/Tgetlock, in memory, per export and inode. Semantics
 * follow fcntl(F_SETLK): an owner's locks never conflict with each other (a new lock replaces the
 * owner's overlapping ranges), read locks share, a write lock excludes every other owner.
 * The owner is (client_id, proc_id), as the Linux client sends them.
 */
import { fsError } from '../fs/errno.ts';
import { LockType } from './messages.ts';

export interface LockRecord {
  type: 0 | 1;
  start: number;
  /** Exclusive end; Infinity for "to end of file" (length 0 on the wire). */
  end: number;
  procId: number;
  clientId: string;
  /** The fid that set it: clunking that fid drops its locks. */
  fid: number;
}

export interface LockRequest {
  lockType: number;
  start: number;
  length: number;
  procId: number;
  clientId: string;
  fid: number;
}

export interface SavedLock extends Omit<LockRecord, 'end'> {
  ino: number;
  /** null for Infinity (JSON has no Infinity). */
  end: number | null;
}

/** Most lock records per export: each one is host memory a guest asks for. */
export const MAX_LOCKS = 16384;

const ownerKey = (o: { procId: number; clientId: string }) => `${o.procId}\0${o.clientId}`;

/** Index of the first lock in `list` (sorted, non-overlapping) whose end is past `start`. */
function firstEndingAfter(list: readonly LockRecord[], start: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.end > start) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Locks per inode, per owner. One owner's locks never overlap (a new one replaces the owner's
 * overlapping ranges), so each owner's list stays sorted by start and by end: finding the ranges a
 * request touches is a binary search, and a lock costs O(owners + log n) rather than a scan of
 * every lock on the file.
 */
export class LockTable {
  private readonly byIno = new Map<number, Map<string, LockRecord[]>>();
  private count = 0;

  /** Lock records held now. */
  get size(): number {
    return this.count;
  }

  /** F_SETLK: true if set (or released), false if another owner's lock is in the way. ENOLCK past MAX_LOCKS. */
  set(ino: number, req: LockRequest): boolean {
    const end = req.length === 0 ? Infinity : req.start + req.length;
    const owners = this.byIno.get(ino);
    if (req.lockType !== LockType.UNLCK && owners && this.conflict(owners, req, end)) return false;
    const key = ownerKey(req);
    const list = owners?.get(key) ?? [];
    const from = firstEndingAfter(list, req.start);
    let to = from;
    while (to < list.length && list[to]!.start < end) to++;
    // Keep the parts of the owner's old locks outside the new range.
    const kept: LockRecord[] = [];
    if (from < to && list[from]!.start < req.start) kept.push({ ...list[from]!, end: req.start });
    if (req.lockType === LockType.RDLCK || req.lockType === LockType.WRLCK) {
      kept.push({ type: req.lockType, start: req.start, end, procId: req.procId, clientId: req.clientId, fid: req.fid });
    }
    if (from < to && list[to - 1]!.end > end) kept.push({ ...list[to - 1]!, start: end });
    const grow = kept.length - (to - from);
    if (grow > 0 && this.count + grow > MAX_LOCKS) throw fsError('ENOLCK', `more than ${MAX_LOCKS} locks on one export`);
    list.splice(from, to - from, ...kept);
    this.count += grow;
    if (list.length) {
      const map = owners ?? new Map<string, LockRecord[]>();
      map.set(key, list);
      this.byIno.set(ino, map);
    } else if (owners) {
      owners.delete(key);
      if (owners.size === 0) this.byIno.delete(ino);
    }
    return true;
  }

  /** F_GETLK: the first lock of another owner that would block `req`, if any. */
  test(ino: number, req: LockRequest): LockRecord | undefined {
    const end = req.length === 0 ? Infinity : req.start + req.length;
    const owners = this.byIno.get(ino);
    return owners && this.conflict(owners, req, end);
  }

  private conflict(owners: Map<string, LockRecord[]>, req: LockRequest, end: number): LockRecord | undefined {
    const mine = ownerKey(req);
    for (const [key, list] of owners) {
      if (key === mine) continue;
      for (let i = firstEndingAfter(list, req.start); i < list.length && list[i]!.start < end; i++) {
        const l = list[i]!;
        if (l.type === LockType.WRLCK || req.lockType === LockType.WRLCK) return l;
      }
    }
    return undefined;
  }

  releaseFid(fid: number): void {
    for (const [ino, owners] of this.byIno) {
      for (const [key, list] of owners) {
        const kept = list.filter((l) => l.fid !== fid);
        this.count -= list.length - kept.length;
        if (kept.length) owners.set(key, kept);
        else owners.delete(key);
      }
      if (owners.size === 0) this.byIno.delete(ino);
    }
  }

  clear(): void {
    this.byIno.clear();
    this.count = 0;
  }

  save(): SavedLock[] {
    const out: SavedLock[] = [];
    for (const [ino, owners] of this.byIno) {
      for (const list of owners.values()) {
        for (const l of list) out.push({ ...l, ino, end: l.end === Infinity ? null : l.end });
      }
    }
    return out;
  }

  /** Re-adds saved locks; `inoOf` maps a saved lock to its node's current inode (undefined drops it). */
  restore(saved: readonly SavedLock[], inoOf: (lock: SavedLock) => number | undefined): void {
    this.clear();
    for (const s of saved.slice(0, MAX_LOCKS)) {
      const ino = inoOf(s);
      if (ino === undefined) continue;
      const owners = this.byIno.get(ino) ?? new Map<string, LockRecord[]>();
      const key = ownerKey(s);
      const list = owners.get(key) ?? [];
      list.push({ type: s.type, start: s.start, end: s.end ?? Infinity, procId: s.procId, clientId: s.clientId, fid: s.fid });
      owners.set(key, list);
      this.byIno.set(ino, owners);
      this.count++;
    }
    for (const owners of this.byIno.values()) for (const list of owners.values()) list.sort((a, b) => a.start - b.start);
  }
}
