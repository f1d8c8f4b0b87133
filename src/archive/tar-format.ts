/**
 * The tar block format shared by reader and writer: field offsets, numeric codecs (octal and GNU
 * base-256), checksums and pax records. Layout per POSIX ustar; GNU additions noted.
 */
export const BLOCK = 512;

/** [offset, length] of each header field. */
export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  // GNU format reuses the prefix area:
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
} as const satisfies Record<string, readonly [number, number]>;
export type Field = keyof typeof F;

export const TYPEFLAG = {
  file: 0x30, // '0'
  hardlink: 0x31,
  symlink: 0x32,
  chardev: 0x33,
  blockdev: 0x34,
  directory: 0x35,
  fifo: 0x36,
} as const;

const utf8 = new TextDecoder('utf-8');
const utf8enc = new TextEncoder();

export function encodeUtf8(s: string): Uint8Array {
  return utf8enc.encode(s);
}

/** NUL-terminated string from a field. */
export function readString(block: Uint8Array, [off, len]: readonly [number, number]): string {
  let end = off;
  const max = off + len;
  while (end < max && block[end] !== 0) end++;
  if (end === off) return '';
  // ASCII fast path: most names are ASCII, and fromCharCode avoids the decoder's setup cost.
  let ascii = true;
  for (let i = off; i < end; i++) if (block[i]! >= 0x80) { ascii = false; break; }
  return ascii ? String.fromCharCode.apply(null, block.subarray(off, end) as unknown as number[]) : utf8.decode(block.subarray(off, end));
}

export function decodeUtf8(b: Uint8Array): string {
  return utf8.decode(b);
}

/**
 * A numeric field: octal (NUL/space padded) or GNU base-256 (high bit of the first byte set; 0xff
 * first byte means negative). Returns undefined when the field holds something else.
 */
export function readNumber(block: Uint8Array, [off, len]: readonly [number, number]): number | undefined {
  const first = block[off]!;
  if (first & 0x80) {
    // Accumulate as a double: exact up to 2^53, which is as far as JS sizes go anyway.
    if (first === 0xff) {
      // two's complement: -(~x + 1)
      let x = 0;
      for (let i = off + 1; i < off + len; i++) x = x * 256 + (255 - block[i]!);
      const v = -(x + 1);
      return Number.isSafeInteger(v) ? v : undefined;
    }
    let v = first & 0x7f;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + block[i]!;
    return Number.isSafeInteger(v) ? v : undefined;
  }
  let i = off;
  const end = off + len;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++; // leading spaces (and all-NUL = 0)
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i]!;
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else if (c === 0x20 || c === 0) {
      // trailing terminator: the rest must be terminators too
      for (let j = i + 1; j < end; j++) if (block[j] !== 0 && block[j] !== 0x20) return undefined;
      break;
    } else {
      return undefined;
    }
  }
  if (!Number.isSafeInteger(v)) return undefined;
  return digits === 0 ? 0 : v;
}

/** Largest value an octal field of `len` bytes holds (len-1 digits plus a NUL). */
export function octalMax(len: number): number {
  return 8 ** (len - 1) - 1;
}

export function writeOctal(block: Uint8Array, [off, len]: readonly [number, number], v: number): void {
  const s = Math.trunc(v).toString(8).padStart(len - 1, '0');
  for (let i = 0; i < len - 1; i++) block[off + i] = s.charCodeAt(i);
  block[off + len - 1] = 0;
}

/** GNU base-256 for values an octal field cannot hold (non-negative only). */
export function writeBase256(block: Uint8Array, [off, len]: readonly [number, number], v: number): void {
  let x = v;
  for (let i = off + len - 1; i > off; i--) {
    block[i] = x % 256;
    x = Math.floor(x / 256);
  }
  block[off] = 0x80;
}

export function writeString(block: Uint8Array, [off, len]: readonly [number, number], bytes: Uint8Array): void {
  block.set(bytes.subarray(0, len), off);
}

/** Unsigned sum with the checksum field counted as spaces; also the historic signed sum. */
export function checksums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b < 128 ? b : b - 256;
  }
  return { unsigned, signed };
}

export function isZeroBlock(block: Uint8Array): boolean {
  // Check 4 bytes at a time when aligned; headers are small so this is not hot.
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** One pax record: "<len> <key>=<value>\n", where len counts the whole record. */
export function encodePaxRecord(key: string, value: Uint8Array | string): Uint8Array {
  const k = encodeUtf8(key);
  const v = typeof value === 'string' ? encodeUtf8(value) : value;
  const body = k.length + v.length + 3; // ' ', '=', '\n'
  let n = body + String(body).length;
  if (String(n).length !== String(body).length) n = body + String(n).length;
  const out = new Uint8Array(n);
  const prefix = encodeUtf8(`${n} `);
  out.set(prefix, 0);
  out.set(k, prefix.length);
  out[prefix.length + k.length] = 0x3d;
  out.set(v, prefix.length + k.length + 1);
  out[n - 1] = 0x0a;
  return out;
}

/** Parse pax records; values stay bytes (xattrs are binary). Throws a string naming the rule. */
export function parsePaxRecords(data: Uint8Array): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    let sp = pos;
    let len = 0;
    while (sp < data.length && data[sp]! >= 0x30 && data[sp]! <= 0x39 && sp - pos < 12) len = len * 10 + (data[sp++]! - 0x30);
    if (sp === pos || data[sp] !== 0x20) throw new Error(`malformed pax record at byte ${pos}: no length`);
    if (len <= sp - pos + 1 || pos + len > data.length) throw new Error(`malformed pax record at byte ${pos}: length ${len} out of range`);
    const end = pos + len;
    if (data[end - 1] !== 0x0a) throw new Error(`malformed pax record at byte ${pos}: missing newline`);
    const rec = data.subarray(sp + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new Error(`malformed pax record at byte ${pos}: no key`);
    out.push([decodeUtf8(rec.subarray(0, eq)), rec.subarray(eq + 1)]);
    pos = end;
  }
  return out;
}

/** Pax time: decimal seconds, possibly negative and fractional ("1700000000.123456789"). */
export function parsePaxTime(s: string): number | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  return Number(s);
}

export function formatPaxTime(t: number): string {
  if (Number.isInteger(t)) return String(t);
  // Up to nanosecond precision, trailing zeros trimmed.
  const neg = t < 0;
  const a = Math.abs(t);
  const sec = Math.floor(a);
  let frac = Math.round((a - sec) * 1e9);
  let s = sec;
  if (frac >= 1e9) { s += 1; frac -= 1e9; }
  const f = String(frac).padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${s}${f ? '.' + f : ''}`;
}
