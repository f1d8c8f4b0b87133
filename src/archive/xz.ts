/**
 * An xz decoder for what `xz` writes by default: streams of blocks with one LZMA2 filter, their
 * index and footer, concatenated streams and stream padding; CRC32 checks verified, CRC64 and
 * SHA-256 checks skipped. Used for ADD of `.tar.xz` archives, as BuildKit unpacks them. Filters
 * other than LZMA2 (BCJ, delta) are refused with a clear error. `maxOutputBytes` bounds the output.
 */
import { SkiffError } from '../errors.ts';

function bad(why: string): never {
  throw new SkiffError('INVALID_ARCHIVE', `xz: ${why}`);
}

const CRC32 = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

class Out {
  buf = new Uint8Array(1 << 16);
  len = 0;
  constructor(private readonly max: number, private readonly overLimit?: (max: number) => SkiffError) {}

  ensure(extra: number): void {
    const need = this.len + extra;
    if (need > this.max) throw this.overLimit?.(this.max) ?? new SkiffError('INVALID_ARCHIVE', `xz: output larger than ${this.max} bytes`);
    if (need <= this.buf.length) return;
    let size = this.buf.length;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, Math.max(this.max, need)));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

/** The range decoder over one LZMA chunk's bytes. */
class Range {
  range = 0xffffffff;
  code = 0;
  constructor(private readonly data: Uint8Array, private pos: number, private readonly end: number) {
    if (this.byte() !== 0) bad('corrupt LZMA data');
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.byte()) >>> 0;
  }

  private byte(): number {
    if (this.pos >= this.end) bad('LZMA chunk ends early');
    return this.data[this.pos++]!;
  }

  private normalize(): void {
    if (this.range < 0x1000000) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.byte()) >>> 0;
    }
  }

  bit(probs: Uint16Array, i: number): number {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
      b = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      probs[i] = p - (p >>> 5);
      b = 1;
    }
    this.normalize();
    return b;
  }

  direct(n: number): number {
    let r = 0;
    for (let i = 0; i < n; i++) {
      this.range >>>= 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      r = ((r << 1) | b) >>> 0;
      this.normalize();
    }
    return r;
  }

  tree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(probs, base + m);
    return m - (1 << bits);
  }

  reverse(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }
}

/** Length coder probabilities: choice, choice2, low[16][8], mid[16][8], high[256]. */
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + 16 * 8;
const LEN_HIGH = LEN_MID + 16 * 8;
const LEN_SIZE = LEN_HIGH + 256;

/** The LZMA state that LZMA2 chunks carry over (reset per the chunk's control byte). */
class Lzma {
  lc = 0;
  lp = 0;
  pb = 0;
  state = 0;
  reps = [0, 0, 0, 0];
  isMatch = new Uint16Array(12 << 4);
  isRep = new Uint16Array(12);
  isRepG0 = new Uint16Array(12);
  isRepG1 = new Uint16Array(12);
  isRepG2 = new Uint16Array(12);
  isRep0Long = new Uint16Array(12 << 4);
  posSlot = new Uint16Array(4 << 6);
  posSpecial = new Uint16Array(1 + 128 - 14);
  align = new Uint16Array(16);
  lenCoder = new Uint16Array(LEN_SIZE);
  repLenCoder = new Uint16Array(LEN_SIZE);
  literal = new Uint16Array(0x300);

  setProps(props: number): void {
    if (props >= 9 * 5 * 5) bad('bad LZMA properties');
    this.lc = props % 9;
    this.lp = Math.floor(props / 9) % 5;
    this.pb = Math.floor(props / 45);
    if (this.lc + this.lp > 4) bad('bad LZMA2 properties (lc + lp > 4)');
    this.literal = new Uint16Array(0x300 << (this.lc + this.lp));
  }

  reset(): void {
    this.state = 0;
    this.reps = [0, 0, 0, 0];
    for (const a of [this.isMatch, this.isRep, this.isRepG0, this.isRepG1, this.isRepG2, this.isRep0Long, this.posSlot, this.posSpecial, this.align, this.lenCoder, this.repLenCoder, this.literal]) a.fill(1024);
  }

  private len(rc: Range, probs: Uint16Array, posState: number): number {
    if (!rc.bit(probs, LEN_CHOICE)) return rc.tree(probs, LEN_LOW + (posState << 3), 3);
    if (!rc.bit(probs, LEN_CHOICE2)) return 8 + rc.tree(probs, LEN_MID + (posState << 3), 3);
    return 16 + rc.tree(probs, LEN_HIGH, 8);
  }

  private distance(rc: Range, len: number): number {
    const slot = rc.tree(this.posSlot, Math.min(len, 3) << 6, 6);
    if (slot < 4) return slot;
    const direct = (slot >>> 1) - 1;
    let dist = ((2 | (slot & 1)) << direct) >>> 0;
    if (slot < 14) dist += rc.reverse(this.posSpecial, dist - slot, direct);
    else {
      dist += (rc.direct(direct - 4) << 4) >>> 0;
      dist += rc.reverse(this.align, 0, 4);
    }
    return dist >>> 0;
  }

  /** Decodes `size` bytes into `out`; `dictStart` is where the dictionary was last reset. */
  decode(rc: Range, out: Out, size: number, dictStart: number): void {
    out.ensure(size);
    const buf = out.buf;
    const end = out.len + size;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    while (out.len < end) {
      const pos = out.len;
      // Positions count from the last dictionary reset (liblzma's dict.pos).
      const posState = (pos - dictStart) & pbMask;
      const s = this.state;
      if (!rc.bit(this.isMatch, (s << 4) + posState)) {
        const prev = pos > dictStart ? buf[pos - 1]! : 0;
        const base = 0x300 * ((((pos - dictStart) & lpMask) << this.lc) + (prev >>> (8 - this.lc)));
        let sym = 1;
        if (s >= 7) {
          const rep0 = this.reps[0]!;
          if (pos - dictStart <= rep0) bad('match distance beyond the dictionary');
          let matchByte = buf[pos - rep0 - 1]!;
          do {
            const matchBit = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            const b = rc.bit(this.literal, base + ((1 + matchBit) << 8) + sym);
            sym = (sym << 1) | b;
            if (matchBit !== b) break;
          } while (sym < 0x100);
        }
        while (sym < 0x100) sym = (sym << 1) | rc.bit(this.literal, base + sym);
        buf[out.len++] = sym & 0xff;
        this.state = s < 4 ? 0 : s < 10 ? s - 3 : s - 6;
        continue;
      }
      let len: number;
      if (!rc.bit(this.isRep, s)) {
        len = this.len(rc, this.lenCoder, posState);
        this.state = s < 7 ? 7 : 10;
        const dist = this.distance(rc, len);
        if (dist === 0xffffffff) bad('unexpected LZMA end marker in an LZMA2 chunk');
        this.reps = [dist, this.reps[0]!, this.reps[1]!, this.reps[2]!];
      } else {
        if (!rc.bit(this.isRepG0, s)) {
          if (!rc.bit(this.isRep0Long, (s << 4) + posState)) {
            // Short rep: one byte from the last distance.
            this.state = s < 7 ? 9 : 11;
            const rep0 = this.reps[0]!;
            if (pos - dictStart <= rep0) bad('match distance beyond the dictionary');
            buf[out.len++] = buf[pos - rep0 - 1]!;
            continue;
          }
        } else {
          let dist: number;
          if (!rc.bit(this.isRepG1, s)) dist = this.reps[1]!;
          else if (!rc.bit(this.isRepG2, s)) {
            dist = this.reps[2]!;
            this.reps[2] = this.reps[1]!;
          } else {
            dist = this.reps[3]!;
            this.reps[3] = this.reps[2]!;
            this.reps[2] = this.reps[1]!;
          }
          this.reps[1] = this.reps[0]!;
          this.reps[0] = dist;
        }
        len = this.len(rc, this.repLenCoder, posState);
        this.state = s < 7 ? 8 : 11;
      }
      const rep0 = this.reps[0]!;
      if (pos - dictStart <= rep0) bad('match distance beyond the dictionary');
      const n = Math.min(len + 2, end - out.len);
      for (let i = 0; i < n; i++) {
        buf[out.len] = buf[out.len - rep0 - 1]!;
        out.len++;
      }
    }
  }
}

/** LZMA2 chunks from `pos` to their end marker; returns the position after it. */
function lzma2(data: Uint8Array, pos: number, out: Out): number {
  const lz = new Lzma();
  let dictStart = out.len;
  let needProps = true;
  let first = true;
  for (;;) {
    const control = data[pos++];
    if (control === undefined) bad('LZMA2 data ends early');
    if (control === 0x00) return pos;
    if (control === 0x01 || control === 0x02) {
      if (control === 0x01) dictStart = out.len;
      else if (first) bad('first LZMA2 chunk does not reset the dictionary');
      const size = ((data[pos]! << 8) | data[pos + 1]!) + 1;
      pos += 2;
      if (pos + size > data.length) bad('LZMA2 data ends early');
      out.ensure(size);
      out.buf.set(data.subarray(pos, pos + size), out.len);
      out.len += size;
      pos += size;
      first = false;
      continue;
    }
    if (control < 0x80) bad(`bad LZMA2 control byte 0x${control.toString(16)}`);
    const unpacked = ((control & 0x1f) << 16) + (data[pos]! << 8) + data[pos + 1]! + 1;
    const packed = (data[pos + 2]! << 8) + data[pos + 3]! + 1;
    pos += 4;
    const mode = (control >>> 5) & 3;
    if (mode === 3) dictStart = out.len;
    else if (first) bad('first LZMA2 chunk does not reset the dictionary');
    if (mode >= 2) {
      lz.setProps(data[pos++]!);
      needProps = false;
    } else if (needProps) bad('LZMA2 chunk without properties');
    if (mode >= 1) lz.reset();
    if (pos + packed > data.length) bad('LZMA2 data ends early');
    lz.decode(new Range(data, pos, pos + packed), out, unpacked, dictStart);
    pos += packed;
    first = false;
  }
}

function varint(data: Uint8Array, at: { pos: number }): number {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    const b = data[at.pos++];
    if (b === undefined) bad('truncated number');
    v += (b & 0x7f) * 2 ** (7 * i);
    if (!(b & 0x80)) return v;
  }
  return bad('number too long');
}

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

export function isXz(data: Uint8Array): boolean {
  return data.length >= 6 && MAGIC.every((b, i) => data[i] === b);
}

const CHECK_SIZE = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

/** `overLimit`: the error for output past `maxOutputBytes` (a caller naming its own budget). */
export function unxz(data: Uint8Array, opts: { maxOutputBytes?: number; overLimit?: (max: number) => SkiffError } = {}): Uint8Array {
  const out = new Out(opts.maxOutputBytes ?? 2 ** 31, opts.overLimit);
  let pos = 0;
  let streams = 0;
  while (pos < data.length) {
    // Stream padding (zero bytes in fours) may sit between and after streams.
    if (streams > 0 && data[pos] === 0) {
      pos += 4;
      continue;
    }
    if (!isXz(data.subarray(pos))) bad('not an xz stream');
    const flags = data[pos + 7]!;
    if (crc32(data.subarray(pos + 6, pos + 8)) !== new DataView(data.buffer, data.byteOffset + pos + 8, 4).getUint32(0, true)) bad('stream header CRC mismatch');
    const check = flags & 0x0f;
    pos += 12;
    for (;;) {
      const hb = data[pos];
      if (hb === undefined) bad('stream ends early');
      if (hb === 0x00) break; // the index
      const headerSize = (hb + 1) * 4;
      const blockStart = pos;
      const at = { pos: pos + 2 };
      const bflags = data[pos + 1]!;
      if (bflags & 0x40) varint(data, at);
      if (bflags & 0x80) varint(data, at);
      const nFilters = (bflags & 3) + 1;
      let lzma2Seen = false;
      for (let f = 0; f < nFilters; f++) {
        const id = varint(data, at);
        const propSize = varint(data, at);
        at.pos += propSize;
        if (id !== 0x21) throw new SkiffError('UNSUPPORTED', `xz: filter 0x${id.toString(16)} (BCJ or delta) is not supported; only LZMA2`);
        lzma2Seen = true;
      }
      if (!lzma2Seen) bad('block without LZMA2');
      const blockOut = out.len;
      pos = lzma2(data, blockStart + headerSize, out);
      while ((pos - blockStart) % 4) pos++;
      const cs = CHECK_SIZE[check]!;
      if (check === 1) {
        const want = new DataView(data.buffer, data.byteOffset + pos, 4).getUint32(0, true);
        if (crc32(out.buf.subarray(blockOut, out.len)) !== want) bad('block CRC32 mismatch');
      }
      pos += cs;
    }
    // Index: indicator, record count, records (two numbers each), padding, CRC32; then the footer.
    const at = { pos: pos + 1 };
    const records = varint(data, at);
    for (let r = 0; r < records; r++) {
      varint(data, at);
      varint(data, at);
    }
    pos = at.pos;
    while (pos % 4) pos++;
    pos += 4 + 12;
    if (data[pos - 2] !== 0x59 || data[pos - 1] !== 0x5a) bad('bad stream footer');
    streams++;
  }
  return out.buf.slice(0, out.len);
}
