/**
 * File bytes as fixed-width chunks. An image file's bytes are a range of its layer's stored copy
 * (the `base`: fs/layer-data.ts), read when read and never held here; bytes given in memory are
 * zero-copy views. Either way they are shared by every tree and container that holds the file; a
 * write copies only the chunks it touches (a 1-byte write to a 32 MB file copies one chunk).
 *
 * Chunk i covers [i*CHUNK, min((i+1)*CHUNK, size)). A chunk may be shorter than its span (the
 * rest reads as zeros: holes, truncate-then-extend) and `null` for a hole; an empty slot
 * (`undefined`) reads from the base up to `baseSize`, zeros past it. Only owned chunks are ever
 * mutated, and an owned chunk's bytes past the file's size are kept zero.
 * With a base in an async store, reads and partial writes of chunks not cached throw PendingIO
 * (fs/pending-io.ts) before changing anything.
 */
import type { LayerData } from './layer-data.ts';

export const CHUNK_SIZE = 64 * 1024;

const MIN_OWNED = 256;

export class FileContent {
  #size: number;
  #chunks: (Uint8Array | null | undefined)[];
  #base: LayerData | null = null;
  /** Where the file's bytes start in the base. */
  #baseOffset = 0;
  /** Bytes of the base still visible (a truncate below it cuts it for good). */
  #baseSize = 0;
  /** Per chunk: set when this FileContent alone holds that chunk and may write into it. */
  #owned: boolean[];
  /** Chunks changed since the last `takeChanges` (what an incremental save must store). */
  #changed = new Set<number>();

  private constructor(size: number, chunks: (Uint8Array | null | undefined)[], owned: boolean[] = []) {
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

  /** `size` bytes at `offset` of `data`, read on demand. */
  static fromLayer(data: LayerData, offset: number, size: number): FileContent {
    // A holey array: every slot empty, i.e. from the base.
    const c = new FileContent(size, size === 0 ? [] : new Array<Uint8Array>(Math.ceil(size / CHUNK_SIZE)));
    c.#base = data;
    c.#baseOffset = offset;
    c.#baseSize = size;
    return c;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * `<copy digest>@<offset>+<size>` while every byte is still the layer copy's (the content of an
   * image file): the same in every process for the same file of the same layer. Null otherwise.
   */
  get baseKey(): string | null {
    const base = this.#base;
    if (!base || this.#size === 0 || this.#size !== this.#baseSize) return null;
    for (let ci = 0; ci < this.#chunks.length; ci++) if (this.#chunks[ci] !== undefined) return null;
    return `${base.id}@${this.#baseOffset}+${this.#size}`;
  }

  /**
   * Holds the base's bytes in memory from now on (shared views, not owned), so every later read
   * is synchronous: for a container's changed files, saved from an asynchronous store.
   */
  async materialize(): Promise<void> {
    const base = this.#base;
    if (!base || base.syncReads) return;
    for (let ci = 0; ci < this.#chunks.length; ci++) {
      const n = this.#baseSpan(ci);
      if (this.#chunks[ci] !== undefined || n === 0) continue;
      const bytes = await base.readAsync(this.#baseOffset + ci * CHUNK_SIZE, n);
      // The file may have changed while the bytes came: only a slot still from the base takes them.
      const now = this.#baseSpan(ci);
      if (ci < this.#chunks.length && this.#chunks[ci] === undefined && this.#base === base) this.#chunks[ci] = now > 0 ? bytes.subarray(0, now) : null;
    }
  }

  /** Bytes of chunk `ci` that come from the base (0 without one). */
  #baseSpan(ci: number): number {
    if (!this.#base) return 0;
    return Math.max(0, Math.min(CHUNK_SIZE, this.#baseSize - ci * CHUNK_SIZE));
  }

  /** Chunk `ci` as stored, or its base bytes (a view; may throw PendingIO). */
  #chunk(ci: number): Uint8Array | null {
    const c = this.#chunks[ci];
    if (c !== undefined) return c;
    const n = this.#baseSpan(ci);
    return n > 0 ? this.#base!.read(this.#baseOffset + ci * CHUNK_SIZE, n) : null;
  }

  /**
   * Makes sure a later `write(offset, data)` of `length` bytes finds the base bytes it keeps
   * (the partial chunks at either end): throws PendingIO now, before anything changed.
   */
  prepareWrite(offset: number, length: number): void {
    if (!this.#base || length <= 0) return;
    const end = offset + length;
    for (const ci of new Set([Math.floor(offset / CHUNK_SIZE), Math.floor((end - 1) / CHUNK_SIZE)])) {
      const whole = offset <= ci * CHUNK_SIZE && end >= Math.min((ci + 1) * CHUNK_SIZE, this.#size);
      if (!whole && this.#chunks[ci] === undefined && this.#baseSpan(ci) > 0) this.#chunk(ci);
    }
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
    const c = new FileContent(this.#size, this.#chunks.slice());
    c.#base = this.#base;
    c.#baseOffset = this.#baseOffset;
    c.#baseSize = this.#baseSize;
    return c;
  }

  read(offset: number, length: number): Uint8Array {
    if (offset >= this.#size || length <= 0) return new Uint8Array(0);
    const end = Math.min(this.#size, offset + length);
    // One piece of the base, as a view: the common read of an untouched image file.
    if (this.#base && end <= this.#baseSize && this.#allBase(offset, end)) {
      return this.#base.read(this.#baseOffset + offset, end - offset).slice();
    }
    const out = new Uint8Array(end - offset);
    let pos = offset;
    while (pos < end) {
      const ci = Math.floor(pos / CHUNK_SIZE);
      const base = ci * CHUNK_SIZE;
      const stop = Math.min(end, base + CHUNK_SIZE);
      const chunk = this.#chunk(ci);
      if (chunk) {
        const from = pos - base;
        const to = Math.min(stop - base, chunk.length);
        if (to > from) out.set(chunk.subarray(from, to), pos - offset);
      }
      pos = stop;
    }
    return out;
  }

  #allBase(offset: number, end: number): boolean {
    for (let ci = Math.floor(offset / CHUNK_SIZE); ci * CHUNK_SIZE < end; ci++) if (this.#chunks[ci] !== undefined) return false;
    return true;
  }

  /**
   * Whole contents. A zero-copy view when the file is one chunk still shared with its layer
   * (immutable); a copy otherwise, since owned chunks change in place on later writes.
   */
  bytes(): Uint8Array {
    const only = this.#chunks[0];
    if (this.#chunks.length === 1 && only && only.length === this.#size && !this.#owned[0]) return only;
    if (this.#base && this.#size <= this.#baseSize && this.#allBase(0, this.#size)) return this.#base.read(this.#baseOffset, this.#size);
    return this.read(0, this.#size);
  }

  /**
   * The contents chunk by chunk, for streaming without a whole-file copy: shared (layer) chunks
   * as views, owned chunks and holes as copies (owned bytes change in place on later writes).
   */
  *views(): Generator<Uint8Array> {
    for (let ci = 0; ci < this.#chunks.length; ci++) {
      const span = Math.min(CHUNK_SIZE, this.#size - ci * CHUNK_SIZE);
      const chunk = this.#chunk(ci);
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
    const c = this.#chunks[ci];
    return c === undefined ? this.#baseSpan(ci) === 0 : !c;
  }

  write(offset: number, data: Uint8Array): number {
    this.prepareWrite(offset, data.length);
    const end = offset + data.length;
    if (end > this.#size) this.#resize(end);
    let pos = offset;
    while (pos < end) {
      const ci = Math.floor(pos / CHUNK_SIZE);
      this.#changed.add(ci);
      const base = ci * CHUNK_SIZE;
      const stop = Math.min(end, base + CHUNK_SIZE);
      // Overwritten whole: the base's bytes for it are not needed (nor read).
      if (this.#chunks[ci] === undefined && pos === base && stop >= Math.min(base + CHUNK_SIZE, this.#size)) this.#chunks[ci] = null;
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
      if (size < this.#baseSize) this.#baseSize = size;
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
    const cur = this.#chunk(ci);
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
