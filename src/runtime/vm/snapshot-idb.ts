/** Snapshots in IndexedDB (the browser), one entry per key in a dedicated database. */
import { createStore, del, get, set } from 'idb-keyval';
import type { VmSnapshotStore } from './snapshot-store.ts';

export function idbSnapshots(dbName = 'skiff-vm'): VmSnapshotStore {
  const store = createStore(dbName, 'snapshots');
  return {
    get: async (key) => ((await get<ArrayBuffer>(key, store)) ?? null),
    put: (key, state) => set(key, state, store),
    delete: (key) => del(key, store),
  };
}
