/**
 * Advisory POSIX record locks for Tlock/Tgetlock, in memory, per export and inode. Semantics
 * follow fcntl(F_SETLK): an owner's locks never conflict with each other (a new lock replaces the
 * owner's overlapping ranges), read locks share, a write lock excludes every other owner.
 * The owner is (client_id, proc_id), as the Linux client sends them.
 */
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

const sameOwner = (a: { procId: number; clientId: string }, b: { procId: number; clientId: string }) =>
  a.procId === b.procId && a.clientId === b.clientId;

export class LockTable {
  private readonly byIno = new Map<number, LockRecord[]>();

  /** F_SETLK: true if set (or released), false if another owner's lock is in the way. */
  set(ino: number, req: LockRequest): boolean {
    const end = req.length === 0 ? Infinity : req.start + req.length;
    const list = this.byIno.get(ino) ?? [];
    if (req.lockType !== LockType.UNLCK && this.conflict(list, req, end)) return false;
    const next: LockRecord[] = [];
    for (const l of list) {
      if (!sameOwner(l, req) || l.end <= req.start || l.start >= end) {
        next.push(l);
        continue;
      }
      // Keep the parts of the owner's old lock outside the new range.
      if (l.start < req.start) next.push({ ...l, end: req.start });
      if (l.end > end) next.push({ ...l, start: end });
    }
    if (req.lockType === LockType.RDLCK || req.lockType === LockType.WRLCK) {
      next.push({ type: req.lockType, start: req.start, end, procId: req.procId, clientId: req.clientId, fid: req.fid });
    }
    if (next.length) this.byIno.set(ino, next);
    else this.byIno.delete(ino);
    return true;
  }

  /** F_GETLK: the first lock of another owner that would block `req`, if any. */
  test(ino: number, req: LockRequest): LockRecord | undefined {
    const end = req.length === 0 ? Infinity : req.start + req.length;
    return this.conflict(this.byIno.get(ino) ?? [], req, end);
  }

  private conflict(list: LockRecord[], req: LockRequest, end: number): LockRecord | undefined {
    return list.find((l) =>
      !sameOwner(l, req) && l.start < end && req.start < l.end &&
      (l.type === LockType.WRLCK || req.lockType === LockType.WRLCK));
  }

  releaseFid(fid: number): void {
    for (const [ino, list] of this.byIno) {
      const kept = list.filter((l) => l.fid !== fid);
      if (kept.length) this.byIno.set(ino, kept);
      else this.byIno.delete(ino);
    }
  }

  clear(): void {
    this.byIno.clear();
  }

  save(): SavedLock[] {
    const out: SavedLock[] = [];
    for (const [ino, list] of this.byIno) {
      for (const l of list) out.push({ ...l, ino, end: l.end === Infinity ? null : l.end });
    }
    return out;
  }

  /** Re-adds saved locks; `inoOf` maps a saved lock to its node's current inode (undefined drops it). */
  restore(saved: readonly SavedLock[], inoOf: (lock: SavedLock) => number | undefined): void {
    this.byIno.clear();
    for (const s of saved) {
      const ino = inoOf(s);
      if (ino === undefined) continue;
      const list = this.byIno.get(ino) ?? [];
      list.push({ type: s.type, start: s.start, end: s.end ?? Infinity, procId: s.procId, clientId: s.clientId, fid: s.fid });
      this.byIno.set(ino, list);
    }
  }
}
