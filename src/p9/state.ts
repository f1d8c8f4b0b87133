/**
 * The server's state as JSON, for VM snapshots: a restored guest keeps using the fids it held,
 * so each fid is saved as export name + path from the export root + open flags, and resolved
 * again (by path, not inode) against the exports present at restore time.
 */
import { SkiffError } from '../errors.ts';
import { FsError } from '../fs/errno.ts';
import type { FsNode } from '../fs/types.ts';
import { fromBase64, toBase64 } from '../util/base64.ts';
import { resolvePath, type Export, type Fid, type FidTable, type XattrState } from './fids.ts';
import type { SavedLock } from './locks.ts';
import { frozenHolds, type SharedFiles } from './share.ts';

export type SavedXattr =
  | { mode: 'read'; data: string }
  | { mode: 'write'; name: string; size: number; flags: number; data: string; written: number };

export interface SavedFid {
  fid: number;
  /** null: the directory of exports (attach with an empty aname). */
  export: string | null;
  /** null: the fid's name was unlinked; it restores as a stale fid. */
  path: string[] | null;
  uid: number;
  openFlags: number | null;
  /** Base64 payloads for xattr fids. */
  xattr?: SavedXattr;
  /** Opened while its node was a shared image file: the key (share.ts). */
  frozen?: string;
}

export interface P9ServerState {
  format: 'skiff-p9-state/1';
  msize: number;
  fids: SavedFid[];
  locks: { export: string; locks: SavedLock[] }[];
  /** Export name -> qid serial, so qid paths stay the same across a restore where possible. */
  serials: Record<string, number>;
  /**
   * Shared image files' keys and ids (share.ts): the restored guest holds inodes by these ids.
   * Absent in states saved before sharing existed.
   */
  shared?: [string, number][];
}

function saveXattr(x: XattrState): SavedXattr {
  return x.mode === 'read'
    ? { mode: 'read', data: toBase64(x.data) }
    : { mode: 'write', name: x.name, size: x.size, flags: x.flags, data: toBase64(x.data), written: x.written };
}

function loadXattr(x: SavedXattr): XattrState {
  return x.mode === 'read'
    ? { mode: 'read', data: fromBase64(x.data) }
    : { mode: 'write', name: x.name, size: x.size, flags: x.flags, data: fromBase64(x.data), written: x.written };
}

export function saveFids(fids: FidTable, msize: number, exports: ReadonlyMap<string, Export>, shared: SharedFiles): P9ServerState {
  const saved: SavedFid[] = [];
  for (const f of fids.values()) {
    saved.push({
      fid: f.id, export: f.exp.isExportsRoot ? null : f.exp.name, path: f.stale || !f.path ? null : [...f.path], uid: f.uid,
      openFlags: f.openFlags, ...(f.xattr ? { xattr: saveXattr(f.xattr) } : {}),
      ...(f.frozen !== undefined && !f.stale ? { frozen: f.frozen } : {}),
    });
  }
  const locks = [...exports.values()].map((e) => ({ export: e.name, locks: e.locks.save() })).filter((l) => l.locks.length > 0);
  const serials = Object.fromEntries([...exports.values()].map((e) => [e.name, e.serial]));
  return { format: 'skiff-p9-state/1', msize, fids: saved, locks, serials, ...(shared.size > 0 ? { shared: shared.save() } : {}) };
}

const STALE_NODE: FsNode = Object.freeze({ ino: -1 });

/** Rebuilds the fid table; returns the msize to use. */
export function restoreFids(state: P9ServerState, fids: FidTable, exports: ReadonlyMap<string, Export>, exportsRoot: Export, shared: SharedFiles): number {
  if (state?.format !== 'skiff-p9-state/1' || !Array.isArray(state.fids)) {
    throw new SkiffError('INVALID_ARGUMENT', 'restoring 9P state: not a skiff-p9-state/1 object');
  }
  for (const f of state.fids) {
    if (f.export !== null && !exports.has(f.export)) throw new SkiffError('NOT_FOUND', `restoring 9P state: fid ${f.fid} needs export "${f.export}", which is not added`);
  }
  try {
    shared.restore(state.shared);
  } catch (err) {
    throw new SkiffError('INVALID_ARGUMENT', `restoring 9P state: ${(err as Error).message}`);
  }
  restoreSerials(state.serials ?? {}, exports);
  fids.clear();
  for (const f of state.fids) {
    const exp = f.export === null ? exportsRoot : exports.get(f.export)!;
    let node = STALE_NODE;
    let stale = f.path === null;
    if (f.path) {
      try {
        node = resolvePath(exp, f.path);
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
        stale = true;
      }
    }
    // A fid the guest's shared page cache fills through reads that image file or nothing.
    if (!stale && !frozenHolds(exp, node, f.frozen)) stale = true;
    const fid: Fid = {
      id: f.fid, exp, node, path: stale ? null : [...f.path!], uid: f.uid, openFlags: f.openFlags,
      ...(f.xattr ? { xattr: loadXattr(f.xattr) } : {}), ...(stale ? { stale: true } : {}),
      ...(!stale && f.frozen !== undefined ? { frozen: f.frozen } : {}),
    };
    fids.set(fid);
  }
  for (const exp of exports.values()) exp.locks.clear();
  for (const entry of state.locks ?? []) {
    const exp = exports.get(entry.export);
    if (!exp) continue;
    exp.locks.restore(entry.locks, (l) => {
      const holder = fids.has(l.fid) ? fids.get(l.fid) : undefined;
      return holder && !holder.stale && holder.exp === exp ? holder.node.ino : undefined;
    });
  }
  return state.msize;
}

/**
 * Gives exports their saved serials where that causes no clash (an export added since keeps its
 * own unless it collides, in which case it moves past every saved one).
 */
function restoreSerials(saved: Record<string, number>, exports: ReadonlyMap<string, Export>): void {
  const taken = new Set<number>();
  for (const exp of exports.values()) {
    const want = saved[exp.name];
    if (typeof want === 'number' && Number.isInteger(want) && want > 0 && !taken.has(want)) {
      exp.serial = want;
      taken.add(want);
    }
  }
  let next = Math.max(0, ...taken, ...[...exports.values()].map((e) => e.serial)) + 1;
  for (const exp of exports.values()) {
    if (saved[exp.name] === exp.serial && taken.has(exp.serial)) continue;
    if (taken.has(exp.serial)) exp.serial = next++;
    taken.add(exp.serial);
  }
}
