/**
 * The engine's metadata store: small JSON documents (image records, the tag index, containers,
 * volumes) grouped in collections. Blobs live in the content store, never here.
 *
 * Reads see whole documents (each document is replaced atomically). Every change happens inside
 * `transaction`, which holds the store's one lock: across processes for the Node backend (a lock
 * file), across tabs for IndexedDB (Web Locks when present). Inside a transaction, read-modify-write
 * of shared indexes (the tag index) cannot interleave with another writer.
 */
export type Collection = 'images' | 'tags' | 'containers' | 'volumes' | 'networks' | 'meta';

export const COLLECTIONS: readonly Collection[] = ['images', 'tags', 'containers', 'volumes', 'networks', 'meta'];

export interface StateReader {
  get<T>(collection: Collection, key: string): Promise<T | undefined>;
  keys(collection: Collection): Promise<string[]>;
  /** All documents of a collection, in key order. */
  list<T>(collection: Collection): Promise<T[]>;
}

/** `list` for backends that read one document per key: keys in order, documents gone meanwhile skipped. */
export async function listByKeys<T>(reader: Pick<StateReader, 'get' | 'keys'>, collection: Collection): Promise<T[]> {
  const out: T[] = [];
  for (const k of await reader.keys(collection)) {
    const v = await reader.get<T>(collection, k);
    if (v !== undefined) out.push(v);
  }
  return out;
}

export interface StateTx extends StateReader {
  put<T>(collection: Collection, key: string, value: T): Promise<void>;
  delete(collection: Collection, key: string): Promise<void>;
}

export interface StateStore extends StateReader {
  readonly kind: 'memory' | 'node-fs' | 'idb';
  /** Runs `fn` holding the store's exclusive lock. Writes made before a throw stay written. */
  transaction<R>(fn: (tx: StateTx) => Promise<R>): Promise<R>;
  close?(): Promise<void>;
}

/** Keys become file names and IndexedDB keys: keep them to a safe alphabet. */
export function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/\./g, '%2E').replace(/\*/g, '%2A');
}

export function decodeKey(name: string): string {
  return decodeURIComponent(name);
}

/** An in-process FIFO mutex: the building block every backend uses inside one JS realm. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<R>(fn: () => Promise<R>): Promise<R> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
