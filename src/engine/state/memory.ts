import { Mutex, type Collection, type StateStore, type StateTx } from './store.ts';

/** Documents held as JSON text so callers can never alias a stored object. */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  private readonly docs = new Map<Collection, Map<string, string>>();
  private readonly mutex = new Mutex();

  private col(c: Collection): Map<string, string> {
    let m = this.docs.get(c);
    if (!m) this.docs.set(c, (m = new Map()));
    return m;
  }

  async get<T>(collection: Collection, key: string): Promise<T | undefined> {
    const text = this.col(collection).get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async keys(collection: Collection): Promise<string[]> {
    return [...this.col(collection).keys()].sort();
  }

  async list<T>(collection: Collection): Promise<T[]> {
    const keys = await this.keys(collection);
    return keys.map((k) => JSON.parse(this.col(collection).get(k)!) as T);
  }

  transaction<R>(fn: (tx: StateTx) => Promise<R>): Promise<R> {
    return this.mutex.run(() => {
      const tx: StateTx = {
        get: (c, k) => this.get(c, k),
        keys: (c) => this.keys(c),
        list: (c) => this.list(c),
        put: async (c, k, v) => void this.col(c).set(k, JSON.stringify(v)),
        delete: async (c, k) => void this.col(c).delete(k),
      };
      return fn(tx);
    });
  }
}
