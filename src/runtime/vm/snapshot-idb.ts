/**
 * Snapshots in IndexedDB (the browser), one entry per key in a dedicated database. Putting a state
 * drops the others: they belong to older kernels, v86 versions or snapshot formats, which this
 * site no longer asks for, and each holds megabytes of the origin's quota.
 */
import { createStore, del, get, keys, set } from 'idb-keyval';
import type { VmSnapshotStore } from './snapshot-store.ts';

export function idbSnapshots(dbName = 'skiff-vm'): VmSnapshotStore {
  const store = createStore(dbName, 'snapshots');
  return {
    get: async (key) => ((await get<ArrayBuffer>(key, store)) ?? null),
    async put(key, state) {
      await set(key, state, store);
      for (const k of await keys(store)) if (k !== key) await del(k, store);
    },
    delete: (key) => del(key, store),
  };
}
