/**
 * Random access into one image layer's uncompressed tar, stored in the content store: the bytes
 * of every file of a layer tree are ranges of it (FileContent's base), read when someone reads
 * them, through the engine's ChunkCache. Nothing of the layer is held otherwise.
 *
 * Integrity: the copy was verified against the layer's diff_id when it was made; each chunk read
 * back is hashed again and compared with the chunk digests recorded then, so a copy corrupted on
 * disk or in IndexedDB since is refused (EIO naming the layer and chunk), never served.
 */
import { createHasher } from '../oci/digest.ts';
import type { ChunkCache } from './chunk-cache.ts';
import { FsError } from './errno.ts';
import { PendingIO } from './pending-io.ts';

/** Where the bytes live: the content store's range reads (engine/layer-index.ts). */
export interface ChunkSource {
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Present where the store can read synchronously (Node files): reads never wait then. */
  readSync?(offset: number, length: number): Uint8Array;
}

/** Bytes per chunk: the unit of reading, caching and verifying. */
export const LAYER_CHUNK = 64 * 1024;
/** Hex characters kept of each chunk's SHA-256 (128 bits: corruption, not forgery, is the threat). */
export const CHUNK_HASH_HEX = 32;

/** The chunk digests of a stream, computed as it passes (made once, when the copy is made). */
export class ChunkHasher {
  #hashes: string[] = [];
  #h = createHasher();
  #fill = 0;

  update(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(LAYER_CHUNK - this.#fill, bytes.length - at);
      this.#h.update(bytes.subarray(at, at + n));
      this.#fill += n;
      at += n;
      if (this.#fill === LAYER_CHUNK) this.#next();
    }
  }

  /** Concatenated truncated hex digests, one per chunk. */
  finish(): string {
    if (this.#fill > 0) this.#next();
    return this.#hashes.join('');
  }

  #next(): void {
    this.#hashes.push(this.#h.digest().slice(7, 7 + CHUNK_HASH_HEX));
    this.#h = createHasher();
    this.#fill = 0;
  }
}

export class LayerData {
  readonly #prefix: string;
  /**
   * Chunks a PendingIO brought, held until the macrotask after they arrived: the caller's retry
   * runs before that and finds them even when a read spans more chunks than the cache keeps.
   */
  readonly #held = new Map<number, Uint8Array>();

  /** `id` names the copy in errors and cache keys (its digest); `hashes` as ChunkHasher made them. */
  constructor(readonly id: string, readonly size: number, private readonly hashes: string, private readonly source: ChunkSource, private readonly cache: ChunkCache) {
    this.#prefix = `${id}#`;
    if (hashes.length !== Math.ceil(size / LAYER_CHUNK) * CHUNK_HASH_HEX) throw new FsError('EIO', `layer ${id}: chunk digests do not match its size`);
  }

  /** Whether reads never wait (the store reads synchronously). */
  get syncReads(): boolean {
    return this.source.readSync !== undefined;
  }

  /** Bytes [offset, offset + length), synchronously; PendingIO when a chunk must come from an async store. */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const first = Math.floor(offset / LAYER_CHUNK);
    const last = Math.floor((end - 1) / LAYER_CHUNK);
    if (first === last) {
      const c = this.#chunkSync(first);
      return c.subarray(offset - first * LAYER_CHUNK, end - first * LAYER_CHUNK);
    }
    // Every chunk first (a PendingIO for all the missing ones at once), then the copy.
    const chunks: Uint8Array[] = [];
    let missing: number[] | null = null;
    for (let ci = first; ci <= last; ci++) {
      const c = this.#cached(ci) ?? (this.source.readSync ? this.#loadSync(ci) : undefined);
      if (c) chunks.push(c);
      else (missing ??= []).push(ci);
    }
    if (missing) throw this.#pending(missing);
    return assemble(chunks, first, offset, end);
  }

  /** The same, waiting for the store when it must. */
  async readAsync(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const first = Math.floor(offset / LAYER_CHUNK);
    const last = Math.floor((end - 1) / LAYER_CHUNK);
    const waits: Promise<Uint8Array>[] = [];
    for (let ci = first; ci <= last; ci++) waits.push(this.#load(ci));
    const chunks = await Promise.all(waits);
    return assemble(chunks, first, offset, end);
  }

  #chunkSync(ci: number): Uint8Array {
    const hit = this.#cached(ci);
    if (hit) return hit;
    if (this.source.readSync) return this.#loadSync(ci);
    throw this.#pending([ci]);
  }

  #cached(ci: number): Uint8Array | undefined {
    return this.cache.get(this.#prefix + ci) ?? this.#held.get(ci);
  }

  #pending(missing: number[]): PendingIO {
    const wait = Promise.all(missing.map((ci) => this.#load(ci))).then((chunks) => {
      missing.forEach((ci, k) => this.#held.set(ci, chunks[k]!));
      setTimeout(() => { for (const ci of missing) if (this.#held.get(ci) === chunks[missing.indexOf(ci)]) this.#held.delete(ci); }, 0);
    });
    return new PendingIO(wait, `layer ${this.id}`);
  }

  #loadSync(ci: number): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.source.readSync!(ci * LAYER_CHUNK, this.#span(ci));
    } catch (e) {
      throw this.#storeError(e);
    }
    const c = this.#verify(ci, bytes);
    this.cache.set(this.#prefix + ci, c);
    return c;
  }

  #load(ci: number): Promise<Uint8Array> {
    return this.cache.load(this.#prefix + ci, async () => {
      let bytes: Uint8Array;
      try {
        bytes = await this.source.read(ci * LAYER_CHUNK, this.#span(ci));
      } catch (e) {
        throw this.#storeError(e);
      }
      return this.#verify(ci, bytes);
    });
  }

  /** Filesystem calls fail with errnos only: a store failure is an EIO that says what failed. */
  #storeError(e: unknown): FsError {
    if (e instanceof FsError) return e;
    return new FsError('EIO', `layer ${this.id}: ${(e as Error)?.message ?? String(e)}`);
  }

  #span(ci: number): number {
    return Math.min(LAYER_CHUNK, this.size - ci * LAYER_CHUNK);
  }

  #verify(ci: number, bytes: Uint8Array): Uint8Array {
    const want = this.hashes.slice(ci * CHUNK_HASH_HEX, (ci + 1) * CHUNK_HASH_HEX);
    const got = bytes.length === this.#span(ci) ? createHasher().update(bytes).digest().slice(7, 7 + CHUNK_HASH_HEX) : `${bytes.length} bytes`;
    if (got !== want) {
      throw new FsError('EIO', `layer ${this.id}: chunk ${ci} (bytes ${ci * LAYER_CHUNK}-${ci * LAYER_CHUNK + this.#span(ci)}) does not match the digest recorded when the copy was made (stored copy corrupted: remove the image and load it again)`);
    }
    return bytes;
  }
}

/** Bytes [offset, end) of the copy, out of its chunks `first`, `first + 1`, ... that cover them. */
function assemble(chunks: Uint8Array[], first: number, offset: number, end: number): Uint8Array {
  const out = new Uint8Array(end - offset);
  for (let k = 0; k < chunks.length; k++) {
    const base = (first + k) * LAYER_CHUNK;
    const from = Math.max(offset, base) - base;
    const to = Math.min(end, base + LAYER_CHUNK) - base;
    out.set(chunks[k]!.subarray(from, to), base + from - offset);
  }
  return out;
}
