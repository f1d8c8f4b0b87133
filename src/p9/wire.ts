/**
 * Bounds-checked little-endian primitives for the 9P codec. Every read checks the remaining
 * length first, so hostile input ends in a `P9DecodeError`, never an out-of-bounds read.
 */
import { SkiffError } from '../errors.ts';
import { Errno } from '../fs/errno.ts';
import type { Qid } from './messages.ts';

/** A message that cannot be decoded. `errno` is what an Rlerror for it should carry. */
export class P9DecodeError extends SkiffError {
  readonly errno: number;
  constructor(message: string, errno: number = Errno.EPROTO) {
    super('INVALID_ARGUMENT', `9P decode: ${message}`);
    this.errno = errno;
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const TWO_32 = 0x1_0000_0000;

export class Reader {
  private readonly view: DataView;
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, private readonly end = bytes.length) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (n > this.end - this.pos) {
      throw new P9DecodeError(`truncated: ${field} needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(field: string): number {
    this.need(8, field);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    if (hi > 0x1fffff) {
      throw new P9DecodeError(`${field} exceeds 2^53-1 at offset ${this.pos}`, Errno.EOVERFLOW);
    }
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** A view of n bytes of the input (no copy). */
  bytesView(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  str(field: string): string {
    const len = this.u16(field);
    const raw = this.bytesView(len, field);
    // Short ASCII names (most of them) skip TextDecoder.
    if (len <= 64) {
      let ascii = true;
      for (let i = 0; i < len; i++) if (raw[i]! > 0x7f) { ascii = false; break; }
      if (ascii) return String.fromCharCode.apply(null, raw as unknown as number[]);
    }
    try {
      return utf8Strict.decode(raw);
    } catch {
      throw new P9DecodeError(`${field} is not valid UTF-8`, Errno.EINVAL);
    }
  }

  qid(field: string): Qid {
    const type = this.u8(`${field}.type`);
    const version = this.u32(`${field}.version`);
    const path = this.u64(`${field}.path`);
    return { type, version, path };
  }
}

export class Writer {
  private readonly view: DataView;
  pos = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  u64(v: number): void {
    this.view.setUint32(this.pos, v % TWO_32, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / TWO_32), true);
    this.pos += 8;
  }
  raw(b: Uint8Array): void {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }
  qid(q: Qid): void {
    this.u8(q.type);
    this.u32(q.version);
    this.u64(q.path);
  }
}

export const QID_SIZE = 13;

/** UTF-8 bytes of a 9P string, checked against the u16 length prefix. */
export function encodeString(s: string, field: string): Uint8Array {
  if (s.length <= 64) {
    const out = new Uint8Array(s.length);
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      out[i] = c;
    }
    if (i === s.length) return out;
  }
  const b = utf8Encoder.encode(s);
  if (b.length > 0xffff) throw new SkiffError('INVALID_ARGUMENT', `9P encode: ${field} is ${b.length} bytes, over 65535`);
  return b;
}

const LIMITS = { u8: 0xff, u16: 0xffff, u32: 0xffffffff, u64: Number.MAX_SAFE_INTEGER } as const;

/** Encode-side check: a value the wire cannot carry is a bug in the caller, reported by field. */
export function checkInt(v: unknown, kind: keyof typeof LIMITS, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > LIMITS[kind]) {
    throw new SkiffError('INVALID_ARGUMENT', `9P encode: ${field} = ${String(v)} does not fit ${kind}`);
  }
  return v;
}
