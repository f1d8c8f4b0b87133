/**
 * A bzip2 decoder (the format bzip2 1.0 writes: Huffman-coded MTF/RLE2 symbols over a
 * Burrows-Wheeler block, then RLE1), for ADD of `.tar.bz2` archives, as BuildKit unpacks them.
 * Block and stream CRCs are checked; concatenated streams (pbzip2) are read one after another.
 * `maxOutputBytes` bounds the output so a small input cannot expand without limit.
 */
import { SkiffError } from '../errors.ts';

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const END_MAGIC_HI = 0x177245;
const END_MAGIC_LO = 0x385090;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function bad(why: string): never {
  throw new SkiffError('INVALID_ARCHIVE', `bzip2: ${why}`);
}

class Bits {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}

  bit(): number {
    const i = this.pos >>> 3;
    if (i >= this.data.length) bad('unexpected end of data');
    const b = (this.data[i]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  alignToByte(): void {
    this.pos = (this.pos + 7) & ~7;
  }

  get bytePos(): number {
    return this.pos >>> 3;
  }

  get length(): number {
    return this.data.length;
  }
}

interface Table {
  sorted: number[];
  count: number[];
  firstCode: number[];
  firstIndex: number[];
  maxLen: number;
}

/** Canonical Huffman decoding tables: codes by length, then by symbol. */
function makeTable(lengths: number[]): Table {
  const maxLen = Math.max(...lengths);
  const count = new Array<number>(maxLen + 2).fill(0);
  for (const l of lengths) count[l]!++;
  const sorted: number[] = [];
  for (let len = 1; len <= maxLen; len++) for (let s = 0; s < lengths.length; s++) if (lengths[s] === len) sorted.push(s);
  const firstCode = new Array<number>(maxLen + 2).fill(0);
  const firstIndex = new Array<number>(maxLen + 2).fill(0);
  let code = 0;
  let index = 0;
  for (let len = 1; len <= maxLen; len++) {
    firstCode[len] = code;
    firstIndex[len] = index;
    code = (code + count[len]!) * 2;
    index += count[len]!;
  }
  return { sorted, count, firstCode, firstIndex, maxLen };
}

function decodeSymbol(b: Bits, t: Table): number {
  let code = 0;
  for (let len = 1; len <= t.maxLen; len++) {
    code = code * 2 + b.bit();
    const off = code - t.firstCode[len]!;
    if (off >= 0 && off < t.count[len]!) return t.sorted[t.firstIndex[len]! + off]!;
  }
  return bad('invalid Huffman code');
}

class Output {
  buf = new Uint8Array(1 << 16);
  len = 0;
  constructor(private readonly max: number, private readonly overLimit?: (max: number) => SkiffError) {}

  push(byte: number): void {
    if (this.len >= this.max) throw this.overLimit?.(this.max) ?? new SkiffError('INVALID_ARCHIVE', `bzip2: output larger than ${this.max} bytes`);
    if (this.len >= this.buf.length) {
      const next = new Uint8Array(Math.min(this.buf.length * 2, Math.max(this.max, this.buf.length + 1)));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = byte;
  }
}

/** One block: its symbols decoded, the BWT undone, RLE1 expanded into `out`; returns the block CRC. */
function readBlock(b: Bits, blockSize: number, out: Output): number {
  const expectedCrc = b.bits(32) >>> 0;
  if (b.bit()) bad('randomised blocks are not supported');
  const origPtr = b.bits(24);
  const used = b.bits(16);
  const seqToUnseq: number[] = [];
  for (let i = 0; i < 16; i++) {
    if (!(used & (0x8000 >>> i))) continue;
    const bitsUsed = b.bits(16);
    for (let j = 0; j < 16; j++) if (bitsUsed & (0x8000 >>> j)) seqToUnseq.push(i * 16 + j);
  }
  if (seqToUnseq.length === 0) bad('block uses no symbols');
  const alphaSize = seqToUnseq.length + 2;
  const nGroups = b.bits(3);
  if (nGroups < 2 || nGroups > 6) bad('bad number of Huffman groups');
  const nSelectors = b.bits(15);
  if (nSelectors < 1) bad('no selectors');
  const mtfGroups = Array.from({ length: nGroups }, (_, i) => i);
  const selectors: number[] = [];
  for (let i = 0; i < nSelectors; i++) {
    let j = 0;
    while (b.bit()) if (++j >= nGroups) bad('bad selector');
    const v = mtfGroups[j]!;
    mtfGroups.splice(j, 1);
    mtfGroups.unshift(v);
    selectors.push(v);
  }
  const tables: Table[] = [];
  for (let t = 0; t < nGroups; t++) {
    const lengths: number[] = [];
    let curr = b.bits(5);
    for (let s = 0; s < alphaSize; s++) {
      for (;;) {
        if (curr < 1 || curr > 20) bad('bad code length');
        if (!b.bit()) break;
        curr += b.bit() ? -1 : 1;
      }
      lengths.push(curr);
    }
    tables.push(makeTable(lengths));
  }
  // Symbols: RUNA/RUNB runs of the front byte, MTF indexes, end of block.
  const eob = alphaSize - 1;
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  const block = new Uint8Array(blockSize);
  const counts = new Uint32Array(256);
  let n = 0;
  let groupPos = 0;
  let selIndex = 0;
  let table = tables[selectors[0]!]!;
  let run = 0;
  let runWeight = 1;
  const flushRun = (): void => {
    if (!run) return;
    const byte = seqToUnseq[mtf[0]!]!;
    if (n + run > blockSize) bad('block overflows its size');
    block.fill(byte, n, n + run);
    counts[byte]! += run;
    n += run;
    run = 0;
    runWeight = 1;
  };
  for (;;) {
    if (groupPos === 50) {
      groupPos = 0;
      if (++selIndex >= selectors.length) bad('ran out of selectors');
      table = tables[selectors[selIndex]!]!;
    }
    groupPos++;
    const sym = decodeSymbol(b, table);
    if (sym <= 1) {
      run += (sym + 1) * runWeight;
      runWeight *= 2;
      if (run > blockSize) bad('run overflows the block');
      continue;
    }
    flushRun();
    if (sym === eob) break;
    const idx = sym - 1;
    const v = mtf[idx]!;
    mtf.copyWithin(1, 0, idx);
    mtf[0] = v;
    const byte = seqToUnseq[v]!;
    if (n >= blockSize) bad('block overflows its size');
    block[n++] = byte;
    counts[byte]!++;
  }
  if (origPtr >= n) bad('bad BWT origin');
  // Undo the Burrows-Wheeler transform: T maps each row to the row that follows it.
  const cum = new Uint32Array(256);
  for (let c = 0, sum = 0; c < 256; c++) {
    cum[c] = sum;
    sum += counts[c]!;
  }
  const T = new Uint32Array(n);
  for (let i = 0; i < n; i++) T[cum[block[i]!]!++] = i;
  // RLE1: four equal bytes are followed by a count of more.
  let crc = 0xffffffff;
  const emit = (byte: number): void => {
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
    out.push(byte);
  };
  let p = T[origPtr]!;
  let last = -1;
  let same = 0;
  for (let k = 0; k < n; k++) {
    const byte = block[p]!;
    p = T[p]!;
    if (same === 4) {
      for (let r = 0; r < byte; r++) emit(last);
      same = 0;
      last = -1;
      continue;
    }
    if (byte === last) same++;
    else {
      last = byte;
      same = 1;
    }
    emit(byte);
  }
  crc = ~crc >>> 0;
  if (crc !== expectedCrc) bad('block CRC mismatch');
  return crc;
}

/** Whether the bytes start like a bzip2 stream ("BZh1".."BZh9"). */
export function isBzip2(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x42 && data[1] === 0x5a && data[2] === 0x68 && data[3]! >= 0x31 && data[3]! <= 0x39;
}

/** `overLimit`: the error for output past `maxOutputBytes` (a caller naming its own budget). */
export function bunzip2(data: Uint8Array, opts: { maxOutputBytes?: number; overLimit?: (max: number) => SkiffError } = {}): Uint8Array {
  const out = new Output(opts.maxOutputBytes ?? 2 ** 31, opts.overLimit);
  const b = new Bits(data);
  let streams = 0;
  while (b.bytePos + 4 <= b.length) {
    if (!isBzip2(data.subarray(b.bytePos))) {
      if (streams > 0) break; // trailing garbage after complete streams is ignored, as bzip2 warns
      bad('not a bzip2 stream');
    }
    b.bits(24);
    const blockSize = (b.bits(8) - 0x30) * 100_000;
    let combined = 0;
    for (;;) {
      const hi = b.bits(24);
      const lo = b.bits(24);
      if (hi === BLOCK_MAGIC_HI && lo === BLOCK_MAGIC_LO) {
        const crc = readBlock(b, blockSize, out);
        combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0;
      } else if (hi === END_MAGIC_HI && lo === END_MAGIC_LO) {
        if (b.bits(32) >>> 0 !== combined) bad('stream CRC mismatch');
        b.alignToByte();
        break;
      } else bad('bad block magic');
    }
    streams++;
  }
  return out.buf.slice(0, out.len);
}
