/**
 * zstd decoding through fzstd, behind a frame scanner of our own (RFC 8878 sections 3.1.1-3.1.2).
 * fzstd allocates each frame's declared window up front (a 14-byte frame may declare 2 GiB) and
 * copies the whole window once per block, so a stream of tiny blocks under a big window costs
 * seconds per kilobyte. The scanner reads every frame header and block header before fzstd sees
 * them and refuses:
 *  - a window above `maxWindowBytes` (default 8 MiB: every zstd level up to 19, and Go's
 *    klauspost encoder that containerd and buildkit use, stay within it);
 *  - more window copying than `2 * maxWindowBytes / 128 KiB` bytes per output byte (twice what
 *    full-size blocks under the largest allowed window cost), beyond a fixed allowance.
 * It also feeds fzstd a few blocks at a time, so the output of one input chunk (a 4-byte RLE
 * block expands to 128 KiB) is yielded in pieces of about 1 MiB instead of piling up.
 */
import { Decompress as ZstdDecompress } from 'fzstd';
import { SkiffError } from '../errors.ts';

export const DEFAULT_MAX_ZSTD_WINDOW = 8 << 20;
const BLOCK_MAX = 128 << 10;
/** Feed fzstd in groups whose output is at most about this much. */
const GROUP_OUTPUT = 1 << 20;

export interface ZstdOptions {
  /** Names the input in errors. */
  what?: string;
  maxOutputBytes?: number;
  /** Largest frame window accepted (fzstd allocates it); default 8 MiB. */
  maxWindowBytes?: number;
  /** The error for output over maxOutputBytes. */
  overLimit?: (max: number) => SkiffError;
}

type Scanned =
  | { kind: 'frame'; end: number; window: number }
  | { kind: 'block'; end: number; maxOut: number };

/** Walks the frame and block structure of a zstd stream without decoding it (sans-IO). */
export class ZstdScanner {
  #state: 'magic' | 'header' | 'block' | 'body' | 'skip' | 'checksum' = 'magic';
  readonly #buf = new Uint8Array(18);
  #fill = 0;
  #need = 4;
  #remaining = 0;
  #checksum = false;
  #window = 0;
  #blockOut = 0;
  #last = false;
  #offset = 0;
  frames = 0;

  constructor(private readonly what: string, private readonly maxWindow: number) {}

  /** The frame and block ends within `chunk`, in order. */
  scan(chunk: Uint8Array): Scanned[] {
    const out: Scanned[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#state === 'body' || this.#state === 'skip' || this.#state === 'checksum') {
        const take = Math.min(this.#remaining, chunk.length - pos);
        pos += take;
        this.#remaining -= take;
        if (this.#remaining > 0) break;
        if (this.#state === 'body') {
          out.push({ kind: 'block', end: pos, maxOut: this.#blockOut });
          this.#next(this.#last ? (this.#checksum ? 'checksum' : 'magic') : 'block');
        } else this.#next('magic');
        continue;
      }
      const take = Math.min(this.#need - this.#fill, chunk.length - pos);
      this.#buf.set(chunk.subarray(pos, pos + take), this.#fill);
      this.#fill += take;
      pos += take;
      if (this.#fill < this.#need) break;
      const at = this.#offset + pos;
      if (this.#state === 'magic') this.#magic(at);
      else if (this.#state === 'header') this.#header(at, pos, out);
      else this.#block(at);
      const state = this.#state as string; // changed by the calls above
      if (state === 'body' && this.#remaining === 0) {
        out.push({ kind: 'block', end: pos, maxOut: this.#blockOut });
        this.#next(this.#last ? (this.#checksum ? 'checksum' : 'magic') : 'block');
      } else if (state === 'skip' && this.#remaining === 0) this.#next('magic');
    }
    this.#offset += chunk.length;
    return out;
  }

  /** Throws unless the stream ended between frames. */
  end(): void {
    if (this.#state !== 'magic' || this.#fill > 0) throw this.#error(this.#offset, 'truncated: the stream ended inside a frame');
    if (this.frames === 0) throw new SkiffError('INVALID_ARCHIVE', `${this.what}: empty zstd stream`);
  }

  #next(state: 'magic' | 'block' | 'checksum'): void {
    this.#state = state;
    this.#fill = 0;
    this.#need = state === 'block' ? 3 : 4;
    if (state === 'checksum') this.#remaining = 4;
  }

  #error(at: number, rule: string): SkiffError {
    return new SkiffError('INVALID_ARCHIVE', `${this.what}: corrupt or truncated zstd data (${rule}, at byte ${at})`);
  }

  #magic(at: number): void {
    const b = this.#buf;
    const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    if (magic === 0xfd2fb528) {
      // Frame header: magic, descriptor, then window, dictionary id and content size as it says.
      this.#state = 'header';
      this.#need = 5;
      return;
    }
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // Skippable frame: 4-byte size, then that many bytes nobody decodes.
      this.#state = 'header';
      this.#need = 8;
      return;
    }
    throw this.#error(at - 4, `bad frame magic 0x${magic.toString(16)}`);
  }

  #header(at: number, pos: number, out: Scanned[]): void {
    const b = this.#buf;
    if (b[0] !== 0x28) {
      // skippable
      this.#remaining = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
      this.#state = 'skip';
      this.#fill = 0;
      return;
    }
    const fhd = b[4]!;
    const single = (fhd >> 5) & 1;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsFlag = fhd >> 6;
    const fcsBytes = fcsFlag ? 1 << fcsFlag : single;
    if (fhd & 8) throw this.#error(at, 'reserved bit set in the frame header');
    const size = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
    if (this.#need < size) {
      this.#need = size;
      return;
    }
    let window: number;
    if (single) {
      // The window is the content size, which fzstd allocates at once.
      const o = 5 + dictBytes;
      window = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) window = window * 256 + b[o + i]!;
      if (fcsFlag === 1) window += 256;
    } else {
      const exp = b[5]! >> 3;
      const base = 2 ** (10 + exp);
      window = base + (base / 8) * (b[5]! & 7);
    }
    if (window > this.maxWindow) {
      throw new SkiffError('INVALID_ARCHIVE', `${this.what}: zstd frame at byte ${at - size} needs a ${mib(window)} window, over the limit of ${mib(this.maxWindow)} (possible decompression bomb; raise maxZstdWindowBytes to accept it)`);
    }
    this.frames++;
    this.#window = window;
    this.#checksum = ((fhd >> 2) & 1) === 1;
    out.push({ kind: 'frame', end: pos, window });
    this.#next('block');
  }

  #block(at: number): void {
    const b = this.#buf;
    const h = b[0]! | (b[1]! << 8) | (b[2]! << 16);
    this.#last = (h & 1) === 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) throw this.#error(at - 3, 'reserved block type');
    if (size > Math.min(BLOCK_MAX, Math.max(this.#window, 1))) throw this.#error(at - 3, `block of ${size} bytes over the ${Math.min(BLOCK_MAX, this.#window)}-byte maximum`);
    this.#blockOut = type === 2 ? Math.min(BLOCK_MAX, this.#window) : size;
    this.#remaining = type === 1 ? 1 : size;
    this.#state = 'body';
    this.#fill = 0;
  }
}

function mib(n: number): string {
  return n >= 1 << 20 ? `${+(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`;
}

export async function* zstdDecompressStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: ZstdOptions = {}): AsyncGenerator<Uint8Array> {
  const what = opts.what ?? 'zstd';
  const max = opts.maxOutputBytes ?? Infinity;
  const maxWindow = opts.maxWindowBytes ?? DEFAULT_MAX_ZSTD_WINDOW;
  const overLimit = opts.overLimit ?? ((m: number) => new SkiffError('INVALID_ARCHIVE', `${what}: decompressed size exceeds the limit of ${m} bytes (possible decompression bomb)`));
  // Window bytes fzstd copies (one window per block, one allocation per frame) against output:
  // full blocks under the largest allowed window use half of this ratio.
  const ratio = Math.max(2, (2 * maxWindow) / BLOCK_MAX);
  const allowance = 16 * maxWindow;
  let work = 0;
  let total = 0;
  let out: Uint8Array[] = [];
  const d = new ZstdDecompress((chunk) => {
    total += chunk.byteLength;
    if (total > max) throw overLimit(max);
    out.push(chunk);
  });
  const scanner = new ZstdScanner(what, maxWindow);
  let window = 0;
  const feed = (piece: Uint8Array, final: boolean): void => {
    try {
      d.push(piece, final);
    } catch (e) {
      if (e instanceof SkiffError) throw e;
      throw new SkiffError('INVALID_ARCHIVE', `${what}: corrupt or truncated zstd data (${(e as Error)?.message ?? e})`, { cause: e });
    }
  };
  const tooCostly = (): SkiffError => new SkiffError('INVALID_ARCHIVE', `${what}: zstd blocks too small for their ${mib(window)} window (${work} bytes of window copying for ${total} bytes of output; possible decompression bomb; raise maxZstdWindowBytes to accept it)`);
  // Groups end at block boundaries, where fzstd keeps an empty view of the piece it was given
  // until a push leaves part of a block behind (at the latest the end of a source chunk, unless
  // it ends on a boundary too): views of buffers that are alive anyway, so fed without copying.
  for await (const chunk of source) {
    if (chunk.byteLength === 0) continue;
    let from = 0;
    let est = 0;
    const flush = (to: number): Uint8Array[] => {
      if (to > from) {
        feed(chunk.subarray(from, to), false);
        from = to;
      }
      est = 0;
      const ready = out;
      out = [];
      return ready;
    };
    for (const s of scanner.scan(chunk)) {
      if (s.kind === 'frame') {
        window = s.window;
        work += window;
        continue;
      }
      work += window;
      est += s.maxOut;
      if (work > ratio * (total + est) + allowance) {
        yield* flush(s.end);
        if (work > ratio * total + allowance) throw tooCostly();
      } else if (est >= GROUP_OUTPUT) yield* flush(s.end);
    }
    yield* flush(chunk.length);
  }
  scanner.end();
  feed(new Uint8Array(0), true);
  yield* out;
}
