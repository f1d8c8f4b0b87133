/**
 * Image files shared between containers in the guest (issue 13), as overlayfs shares a lower
 * file's inode and page cache among the containers of an image on Linux.
 *
 * A regular file of a cacheable export (a container root) that is still its image layer's file
 * (FileSystem.imageFileKey: unchanged, one name, bytes a range of a layer copy) gets a qid from
 * one namespace for the whole server: type FILE | QID_CACHEABLE | QID_SHARED, version 0, path a
 * small id per key. The key names the layer copy, the file's range of it and its attributes, so
 * the same file of the same layer has the same id in every container, and (the map being saved
 * with the server state) in a process that restores a snapshot of a guest that still holds the
 * old ids. The guest (vm-images/kernel/skiff-9p-share.patch) then uses one inode for it.
 *
 * What keeps one container from changing what the others see:
 * - A fid opened while its node is shared reads that image file for its whole life
 *   (FileSystem.readImageFile), even after the container changed the file: the guest fills the
 *   shared page cache through such fids only. Overlayfs gives a read-only fd the same semantics.
 * - An open for writing or truncating of a shared file copies it up first, so the answer carries
 *   the container's own qid and the guest looks the name up again.
 * - Any other change (setattr, xattrs, link, rename, unlink) copies up as always; the node is
 *   then no longer shared and answers with its export's qids.
 *
 * Ids stay below 2^31 - 3 with the high 32 bits 0: export qids have bit 31 set (attr.ts qidOf),
 * so neither the 64-bit paths nor a 32-bit guest's folded inode numbers can collide.
 */
import type { FileSystem, FsNode } from '../fs/types.ts';
import { QID_CACHEABLE, QidType, type Qid } from './messages.ts';

/** qid.type bit of a shared image file: 9P's QTMOUNT, which Linux v9fs otherwise ignores. */
export const QID_SHARED = QidType.MOUNT;

/** Largest id: (id + 2) stays below 2^31, where export qids begin. */
export const MAX_SHARED_ID = 0x7fff_fffc;

/** What sharing needs of an export (fids.ts Export; structural, so fids.ts can name SharedFiles). */
interface SharingExport {
  readonly fs: FileSystem;
  readonly cacheable?: boolean;
}

/** Key -> id, ids handed out in order from 1. */
export class SharedFiles {
  readonly #ids = new Map<string, number>();
  #next = 1;

  get size(): number {
    return this.#ids.size;
  }

  /** The id of `key`, a new one the first time; null once ids ran out (the file is not shared then). */
  idOf(key: string): number | null {
    let id = this.#ids.get(key);
    if (id === undefined) {
      if (this.#next > MAX_SHARED_ID) return null;
      id = this.#next++;
      this.#ids.set(key, id);
    }
    return id;
  }

  save(): [string, number][] {
    return [...this.#ids];
  }

  /**
   * Takes a saved map. A guest restored from a snapshot holds inodes of these ids: every one keeps
   * its key; keys seen since this server started (none, normally) keep theirs unless it clashes.
   */
  restore(saved: unknown): void {
    if (saved === undefined) return;
    if (!Array.isArray(saved)) throw new TypeError('shared image files: not a list');
    const mine = [...this.#ids];
    this.#ids.clear();
    const used = new Set<number>();
    for (const e of saved as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Number.isInteger(e[1]) || e[1] < 1 || e[1] > MAX_SHARED_ID || used.has(e[1])) {
        throw new TypeError(`shared image files: bad entry ${JSON.stringify(e)?.slice(0, 200)}`);
      }
      this.#ids.set(e[0], e[1]);
      used.add(e[1]);
    }
    this.#next = Math.max(1, ...used) + 1;
    for (const [key, id] of mine) {
      if (this.#ids.has(key)) continue;
      if (!used.has(id)) {
        this.#ids.set(key, id);
        used.add(id);
        this.#next = Math.max(this.#next, id + 1);
      }
    }
  }
}

/** The qid of a shared image file with this id. */
export function sharedQid(id: number): Qid {
  return { type: QidType.FILE | QID_CACHEABLE | QID_SHARED, version: 0, path: id };
}

/** The key `node` is shared under in `exp` right now, or null (sharing off, not cacheable, changed). */
export function shareKeyOf(shared: SharedFiles | null, exp: SharingExport, node: FsNode): string | null {
  if (!shared || !exp.cacheable || !exp.fs.imageFileKey) return null;
  return exp.fs.imageFileKey(node);
}

/**
 * Whether a fid opened while shared under `frozen` may go on with `node` (the node a saved or
 * rebound fid resolves to now): only if that node started as the same image file, since the
 * fid reads that file's bytes for its whole life. Not frozen: always.
 */
export function frozenHolds(exp: SharingExport, node: FsNode, frozen: string | undefined): boolean {
  return frozen === undefined || exp.fs.imageFileKey?.(node, { lower: true }) === frozen;
}

/** The shared qid of `node` in `exp`, or null when it is not shared. */
export function sharedQidOf(shared: SharedFiles | null, exp: SharingExport, node: FsNode): Qid | null {
  const key = shareKeyOf(shared, exp, node);
  if (key === null) return null;
  const id = shared!.idOf(key);
  return id === null ? null : sharedQid(id);
}
