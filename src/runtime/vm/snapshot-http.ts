/**
 * A snapshot shipped with the site: `vm-images/snapshots/<key>.state` beside the guest artifacts,
 * written at build time by booting the same artifacts (shipped-snapshot.ts). Read-only: a key the
 * site does not have (another kernel, v86 or memory size) is a 404 and simply misses, so a stale
 * state is never restored; the Machine then boots cold.
 *
 * `layeredSnapshots(local, shipped)` reads the local store (IndexedDB) first and falls back to the
 * site's copy, keeping that copy locally afterwards (`keepAfterMs` later, off the critical path:
 * writing 6-7 MB into IndexedDB costs more than the restore itself).
 */
import { SkiffError } from '../../errors.ts';
import type { VmSnapshotStore } from './snapshot-store.ts';

/** Where a build puts snapshots, relative to the guest artifacts' directory (vm-images/dist/). */
export const SHIPPED_SNAPSHOT_DIR = '../snapshots/';

export function shippedSnapshotFile(key: string): string {
  if (!/^[\w.-]+$/.test(key)) throw new SkiffError('INVALID_ARGUMENT', `bad snapshot key ${JSON.stringify(key)}`);
  return `${key}.state`;
}

/** Snapshots served over HTTP under `baseUrl` (read-only). Network errors and 404s are misses. */
export function httpSnapshots(baseUrl: string | URL, fetchFn: typeof fetch = (...a) => fetch(...a)): VmSnapshotStore {
  const base = new URL(String(baseUrl).endsWith('/') ? String(baseUrl) : `${String(baseUrl)}/`, globalThis.location?.href);
  return {
    async get(key) {
      const url = new URL(shippedSnapshotFile(key), base);
      let res: Response;
      try {
        res = await fetchFn(url);
      } catch {
        return null; // offline before the first visit finished: boot cold
      }
      if (!res.ok) return null;
      return res.arrayBuffer();
    },
    // The site's copy cannot be changed from here; a Machine that boots cold saves locally.
    put: async () => {},
    delete: async () => {},
  };
}

export interface LayeredSnapshotOptions {
  /** Copy a shipped state into `local` this long after it was read (default 500 ms: after the restore, which it would slow); null: never. */
  keepAfterMs?: number | null;
  /** Told where each get was answered from (timing, tests). */
  onGet?: (key: string, from: 'local' | 'shipped' | 'none') => void;
}

export function layeredSnapshots(local: VmSnapshotStore, shipped: VmSnapshotStore, o: LayeredSnapshotOptions = {}): VmSnapshotStore {
  const keepAfterMs = o.keepAfterMs === undefined ? 500 : o.keepAfterMs;
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  const cancel = (key: string) => {
    clearTimeout(pending.get(key));
    pending.delete(key);
  };
  return {
    async get(key) {
      const mine = await local.get(key).catch(() => null);
      if (mine) {
        o.onGet?.(key, 'local');
        return mine;
      }
      const theirs = await shipped.get(key);
      o.onGet?.(key, theirs ? 'shipped' : 'none');
      if (theirs && keepAfterMs !== null) {
        // Copied now: the caller may transfer (detach) the buffer it gets.
        const copy = theirs.slice(0);
        cancel(key);
        pending.set(key, setTimeout(() => {
          pending.delete(key);
          void local.put(key, copy).catch(() => {});
        }, keepAfterMs));
      }
      return theirs;
    },
    put: (key, state) => {
      cancel(key);
      return local.put(key, state);
    },
    // A shipped state that fails to load must not be copied in later: the Machine's own cold-boot
    // state (put) goes there instead.
    delete: (key) => {
      cancel(key);
      return local.delete(key);
    },
  };
}
