/**
 * State in IndexedDB through idb-keyval: keys are "<collection>/<encoded key>", values the
 * documents themselves (IndexedDB puts are atomic per key). Transactions take a Web Lock when the
 * platform has them (one writer across tabs and workers), else an in-realm mutex.
 */
import { createStore, del, get, keys as idbKeys, set, type UseStore } from 'idb-keyval';
import { decodeKey, encodeKey, listByKeys, Mutex, type Collection, type StateStore, type StateTx } from './store.ts';

export interface IdbStateOptions {
  /** Database name; default "skiff-state". */
  dbName?: string;
}

export class IdbStateStore implements StateStore {
  readonly kind = 'idb' as const;
  private readonly db: UseStore;
  private readonly lockName: string;
  private readonly mutex = new Mutex();

  constructor(options: IdbStateOptions = {}) {
    const name = options.dbName ?? 'skiff-state';
    this.db = createStore(name, 'docs');
    this.lockName = `skiff-state:${name}`;
  }

  async get<T>(collection: Collection, key: string): Promise<T | undefined> {
    return (await get<T>(`${collection}/${encodeKey(key)}`, this.db)) ?? undefined;
  }

  async keys(collection: Collection): Promise<string[]> {
    const prefix = `${collection}/`;
    const all = (await idbKeys(this.db)) as IDBValidKey[];
    return all
      .filter((k): k is string => typeof k === 'string' && k.startsWith(prefix))
      .map((k) => decodeKey(k.slice(prefix.length)))
      .sort();
  }

  list<T>(collection: Collection): Promise<T[]> {
    return listByKeys<T>(this, collection);
  }

  transaction<R>(fn: (tx: StateTx) => Promise<R>): Promise<R> {
    const tx: StateTx = {
      get: (c, k) => this.get(c, k),
      keys: (c) => this.keys(c),
      list: (c) => this.list(c),
      // Round-trip through JSON so what is stored matches what the other backends store.
      put: (c, k, v) => set(`${c}/${encodeKey(k)}`, JSON.parse(JSON.stringify(v)), this.db),
      delete: (c, k) => del(`${c}/${encodeKey(k)}`, this.db),
    };
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (locks) return locks.request(this.lockName, () => fn(tx)) as Promise<R>;
    return this.mutex.run(() => fn(tx));
  }
}
