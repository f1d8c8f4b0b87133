/**
 * Snapshots in IndexedDB: object store `records` keyed by [snapshot, record key], and `snapshots`
 * naming each one that exists. A batch is one readwrite transaction (all or nothing; `commit`
 * resolves on its `complete`, asked for with strict durability where the browser offers it).
 * The one-writer rule holds across tabs and workers through a Web Lock per snapshot when the
 * platform has Web Locks, else within this realm.
 */
import { SkiffError } from '../../errors.ts';
import type { RecordOp, SnapshotKey, SnapshotStore, SnapshotWriter } from './store.ts';
import { snapshotWriter } from './writer.ts';

export interface IdbSnapshotOptions {
  /** Database name; default "skiff-snapshots". */
  dbName?: string;
}

const RECORDS = 'records';
const writersByDb = new Map<string, Set<SnapshotKey>>();
const SNAPSHOTS = 'snapshots';

export class IdbSnapshotStore implements SnapshotStore {
  readonly kind = 'idb' as const;
  readonly id: string;
  readonly #name: string;
  #db: Promise<IDBDatabase> | undefined;
  readonly #writers: Set<SnapshotKey>;

  constructor(o: IdbSnapshotOptions = {}) {
    this.#name = o.dbName ?? 'skiff-snapshots';
    this.id = `idb:${this.#name}`;
    // Per database, not per instance: two stores over one database in a realm share the rule.
    let w = writersByDb.get(this.#name);
    if (!w) writersByDb.set(this.#name, (w = new Set()));
    this.#writers = w;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(this.#name, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(RECORDS);
        req.result.createObjectStore(SNAPSHOTS);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(storageError(req.error, `opening IndexedDB ${this.#name}`));
    });
    return this.#db;
  }

  async #tx<T>(mode: IDBTransactionMode, fn: (records: IDBObjectStore, snapshots: IDBObjectStore) => T): Promise<T> {
    const db = await this.#open();
    const tx = db.transaction([RECORDS, SNAPSHOTS], mode, { durability: 'strict' } as IDBTransactionOptions);
    const out = fn(tx.objectStore(RECORDS), tx.objectStore(SNAPSHOTS));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = tx.onerror = () => reject(storageError(tx.error, 'IndexedDB transaction'));
    });
    return out;
  }

  async open(key: SnapshotKey): Promise<SnapshotWriter> {
    if (this.#writers.has(key)) throw new SkiffError('CONFLICT', `${key.replace('/', ' ')} is in use in this page; one writer at a time`);
    this.#writers.add(key);
    let unlock: () => void = () => {};
    try {
      unlock = await holdWebLock(`skiff-snapshot:${this.#name}:${key}`, key);
      const records = await this.read(key);
      // Sizes of what is stored, so `bytes` needs no read of the whole snapshot.
      const sizes = new Map([...records].map(([k, v]) => [k, k.length + v.byteLength]));
      const apply = async (batch: RecordOp[]): Promise<number> => {
        if (batch.length === 0) return 0;
        const next = new Map<string, number>();
        for (const op of batch) next.set(op.key, op.value ? op.key.length + op.value.byteLength : 0);
        await this.#tx('readwrite', (recs, snaps) => {
          for (const op of batch) {
            if (op.value) recs.put(op.value.slice(), [key, op.key]);
            else recs.delete([key, op.key]);
          }
          snaps.put({ key }, key);
        });
        let delta = 0;
        for (const [k, n] of next) {
          delta += n - (sizes.get(k) ?? 0);
          if (n) sizes.set(k, n);
          else sizes.delete(k);
        }
        return delta;
      };
      return snapshotWriter(key, records, apply, () => {
        this.#writers.delete(key);
        unlock();
      });
    } catch (err) {
      this.#writers.delete(key);
      unlock();
      throw err;
    }
  }

  async read(key: SnapshotKey): Promise<Map<string, Uint8Array>> {
    const range = IDBKeyRange.bound([key], [key, []]);
    let keys!: IDBRequest<IDBValidKey[]>;
    let values!: IDBRequest<unknown[]>;
    await this.#tx('readonly', (recs) => {
      keys = recs.getAllKeys(range);
      values = recs.getAll(range);
    });
    const out = new Map<string, Uint8Array>();
    keys.result.forEach((k, n) => out.set((k as [string, string])[1], toBytes(values.result[n])));
    return out;
  }

  async remove(key: SnapshotKey): Promise<void> {
    if (this.#writers.has(key)) throw new SkiffError('CONFLICT', `${key} is open for writing`);
    await this.#tx('readwrite', (recs, snaps) => {
      recs.delete(IDBKeyRange.bound([key], [key, []]));
      snaps.delete(key);
    });
  }

  async list(): Promise<SnapshotKey[]> {
    let keys!: IDBRequest<IDBValidKey[]>;
    await this.#tx('readonly', (_r, snaps) => {
      keys = snaps.getAllKeys();
    });
    return (keys.result as string[]).sort();
  }

  async usage(key: SnapshotKey): Promise<number> {
    let n = 0;
    for (const [k, v] of await this.read(key)) n += k.length + v.byteLength;
    return n;
  }
}

/** Holds a Web Lock named `name` until the returned function is called; CONFLICT if taken. */
async function holdWebLock(name: string, key: SnapshotKey): Promise<() => void> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (!locks) return () => {};
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const got = await new Promise<boolean>((resolve, reject) => {
    locks.request(name, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? held : undefined;
    }).catch(reject);
  });
  if (!got) throw new SkiffError('CONFLICT', `${key.replace('/', ' ')} is in use in another tab or worker; one writer at a time`);
  return release;
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new SkiffError('STORAGE', 'reading a stored layer: a record is not bytes');
}

function storageError(err: unknown, context: string): SkiffError {
  return new SkiffError('STORAGE', `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
