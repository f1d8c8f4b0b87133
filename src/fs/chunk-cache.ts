/**
 * A byte-bounded LRU of immutable chunks (image layer bytes read on demand, fs/layer-data.ts),
 * shared by every layer of an engine: memory for file bytes stays at `maxBytes` whatever the size
 * of the images. Loads of the same chunk in flight are shared, so two readers never fetch it twice.
 */
export const DEFAULT_CHUNK_CACHE_BYTES = 64 << 20;

export class ChunkCache {
  readonly #chunks = new Map<string, Uint8Array>();
  readonly #loading = new Map<string, Promise<Uint8Array>>();
  #bytes = 0;
  /** Chunks loaded since creation (misses), for benches and tests. */
  loads = 0;

  constructor(readonly maxBytes: number = DEFAULT_CHUNK_CACHE_BYTES) {}

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): Uint8Array | undefined {
    const c = this.#chunks.get(key);
    if (c) {
      // Most recently used last.
      this.#chunks.delete(key);
      this.#chunks.set(key, c);
    }
    return c;
  }

  set(key: string, chunk: Uint8Array): void {
    const old = this.#chunks.get(key);
    if (old) {
      this.#chunks.delete(key);
      this.#bytes -= old.byteLength;
    }
    this.#chunks.set(key, chunk);
    this.#bytes += chunk.byteLength;
    this.loads++;
    // The chunk just added stays even when it alone exceeds the budget: its reader needs it now.
    for (const k of this.#chunks.keys()) {
      if (this.#bytes <= this.maxBytes || k === key) break;
      this.#bytes -= this.#chunks.get(k)!.byteLength;
      this.#chunks.delete(k);
    }
  }

  /** The cached chunk, or `load`'s result, stored; one load per key at a time. */
  load(key: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.get(key);
    if (hit) return Promise.resolve(hit);
    let p = this.#loading.get(key);
    if (!p) {
      p = load().then(
        (c) => { this.#loading.delete(key); this.set(key, c); return c; },
        (e: unknown) => { this.#loading.delete(key); throw e; },
      );
      this.#loading.set(key, p);
    }
    return p;
  }

  /** Drops every chunk whose key starts with `prefix` (a layer whose copy was removed). */
  forget(prefix: string): void {
    for (const [k, c] of this.#chunks) {
      if (!k.startsWith(prefix)) continue;
      this.#bytes -= c.byteLength;
      this.#chunks.delete(k);
    }
  }
}
