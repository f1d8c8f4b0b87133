/**
 * File bytes as fixed-width chunks. Chunks start as zero-copy views of a layer's decompressed
 * buffer and are shared by every tree and container that holds the file; a write copies only the
 * chunks it touches (a 1-byte write to a 32 MB file copies one chunk, not the file).
 *
 * Chunk i covers [i*CHUNK, min((i+1)*CHUNK, size)). A chunk may be shorter than its span (the
 * rest reads as zeros: holes, truncate-then-extend) and `null` for a hole. Only owned chunks are
 * ever mutated, and an owned chunk's bytes past the file's size are kept zero.
 */
export const CHUNK_SIZE = 64 * 1024;

const MIN_OWNED = 256;

export class FileContent {
  #size: number;
  #chunks: (Uint8Array | null)[];
  /** Per chunk: set when this FileContent alone holds that chunk and may write into it. */
  #owned: boolean[];
  /** Chunks changed since the last `takeChanges` (what an incremental save must store). */
  #changed = new Set<number>();

  private constructor(size: number, chunks: (Uint8Array | null)[], owned: boolean[] = []) {
    this.#size = size;
    this.#chunks = chunks;
    this.#owned = owned;
  }

  static empty(): FileContent {
    return new FileContent(0, [], []);
  }

  /** Views `bytes` without copying; the caller must never mutate `bytes` afterwards. */
  static fromBytes(bytes: Uint8Array): FileContent {
    const len = bytes.length;
    if (len <= CHUNK_SIZE) return new FileContent(len, len === 0 ? [] : [bytes]);
    const n = Math.ceil(len / CHUNK_SIZE);
    const chunks: (Uint8Array | null)[] = new Array(n);
    for (let i = 0; i < n; i++) chunks[i] = bytes.subarray(i * CHUNK_SIZE, Math.min((i + 1) * CHUNK_SIZE, len));
    return new FileContent(len, chunks);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held privately by this content (what copy-on-write has cost so far). */
  get ownedBytes(): number {
    let total = 0;
    for (let i = 0; i < this.#chunks.length; i++) if (this.#owned[i]) total += this.#chunks[i]?.length ?? 0;
    return total;
  }

  /** A copy that shares every chunk; both sides copy on their next write. O(chunks), no byte copies. */
  clone(): FileContent {
    this.#owned = [];
    return new FileContent(this.#size, this.#chunks.slice());
  }

  read(offset: number, length: number): Uint8Array {
    if (offset >= this.#size || length <= 0) return new Uint8Array(0);
    const end = Math.min(this.#size, offset + length);
    const out = new Uint8Array(end - offset);
    let pos = offset;
    while (pos < end) {
      const ci = Math.floor(pos / CHUNK_SIZE);
      const base = ci * CHUNK_SIZE;
      const stop = Math.min(end, base + CHUNK_SIZE);
      const chunk = this.#chunks[ci];
      if (chunk) {
        const from = pos - base;
        const to = Math.min(stop - base, chunk.length);
        if (to > from) out.set(chunk.subarray(from, to), pos - offset);
      }
      pos = stop;
    }
    return out;
  }

  /**
   * Whole contents. A zero-copy view when the file is one chunk still shared with its layer
   * (immutable); a copy otherwise, since owned chunks change in place on later writes.
   */
  bytes(): Uint8Array {
    const only = this.#chunks[0];
    if (this.#chunks.length === 1 && only && only.length === this.#size && !this.#owned[0]) return only;
    return this.read(0, this.#size);
  }

  /**
   * The contents chunk by chunk, for streaming without a whole-file copy: shared (layer) chunks
   * as views, owned chunks and holes as copies (owned bytes change in place on later writes).
   */
  *views(): Generator<Uint8Array> {
    for (let ci = 0; ci < this.#chunks.length; ci++) {
      const span = Math.min(CHUNK_SIZE, this.#size - ci * CHUNK_SIZE);
      const chunk = this.#chunks[ci];
      if (chunk && !this.#owned[ci] && chunk.length >= span) yield chunk.subarray(0, span);
      else yield this.read(ci * CHUNK_SIZE, span);
    }
  }

  /** Indexes of the chunks written or cut since the last call, ascending; forgets them. */
  takeChanges(): number[] {
    const out = [...this.#changed].sort((a, b) => a - b);
    this.#changed.clear();
    return out;
  }

  /** Whether chunk `ci` is a hole (reads as zeros, holds no bytes). */
  isHole(ci: number): boolean {
    return !this.#chunks[ci];
  }

  write(offset: number, data: Uint8Array): number {
    const end = offset + data.length;
    if (end > this.#size) this.#resize(end);
    let pos = offset;
    while (pos < end) {
      const ci = Math.floor(pos / CHUNK_SIZE);
      this.#changed.add(ci);
      const base = ci * CHUNK_SIZE;
      const stop = Math.min(end, base + CHUNK_SIZE);
      const chunk = this.#ownChunk(ci, stop - base);
      chunk.set(data.subarray(pos - offset, stop - offset), pos - base);
      pos = stop;
    }
    return data.length;
  }

  truncate(size: number): void {
    this.#resize(size);
  }

  #resize(size: number): void {
    const old = this.#size;
    if (size === old) return;
    const n = Math.ceil(size / CHUNK_SIZE);
    if (size < old) {
      // What is cut off must not come back from a saved copy if the file grows again.
      for (let ci = Math.max(0, n - 1); ci < this.#chunks.length; ci++) this.#changed.add(ci);
      this.#chunks.length = n;
      if (this.#owned.length > n) this.#owned.length = n;
      const last = n - 1;
      const keep = size - last * CHUNK_SIZE;
      const chunk = last >= 0 ? this.#chunks[last] : null;
      if (chunk && chunk.length > keep) {
        if (this.#owned[last]) chunk.fill(0, keep);
        else this.#chunks[last] = chunk.subarray(0, keep);
      }
    } else {
      // Growing: new spans are holes; the old last chunk's tail already reads as zeros.
      while (this.#chunks.length < n) this.#chunks.push(null);
    }
    this.#size = size;
  }

  /** Makes chunk `ci` private and at least `need` bytes long, copying only that chunk. */
  #ownChunk(ci: number, need: number): Uint8Array {
    const cur = this.#chunks[ci];
    if (cur && this.#owned[ci] && cur.length >= need) return cur;
    const span = Math.min(CHUNK_SIZE, this.#size - ci * CHUNK_SIZE);
    // An in-place edit copies the chunk as it is; growth doubles, so appends stay amortized.
    let cap = cur && need <= cur.length ? cur.length : Math.min(CHUNK_SIZE, Math.max(need, MIN_OWNED, cur ? cur.length * 2 : 0));
    if (cap < need) cap = need;
    const fresh = new Uint8Array(cap);
    if (cur) fresh.set(cur.subarray(0, Math.min(cur.length, span, cap)));
    this.#chunks[ci] = fresh;
    this.#owned[ci] = true;
    return fresh;
  }
}
