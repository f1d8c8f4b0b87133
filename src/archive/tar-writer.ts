/**
 * Deterministic tar writer: POSIX ustar headers, with a pax extended header in front of an entry
 * whenever ustar cannot say it exactly (long or non-ASCII names and link targets, sizes >= 8 GiB,
 * large ids, fractional or negative times, xattrs, long user/group names, extra pax records).
 * The same entries always give the same bytes: pax records are sorted, pax headers are named from
 * the entry, and nothing depends on the clock.
 */
import { SkiffError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';
import { BLOCK, F, TYPEFLAG, checksums, encodePaxRecord, encodeUtf8, formatPaxTime, octalMax, writeBase256, writeOctal, writeString } from './tar-format.ts';
import type { TarEntry, TarHeader } from './types.ts';

const ZERO = new Uint8Array(BLOCK * 2);
const ASCII = /^[\x01-\x7f]*$/;
/** pax keys the writer derives from header fields; copies in `header.pax` are ignored. */
const DERIVED = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime']);

function fits(s: string, max: number): boolean {
  return s.length <= max && ASCII.test(s);
}

function paxRecords(h: TarHeader, size: number): Uint8Array[] {
  const recs = new Map<string, Uint8Array | string>();
  if (!fits(h.name, 100)) recs.set('path', h.name);
  if (!fits(h.linkname, 100)) recs.set('linkpath', h.linkname);
  if (size > octalMax(12)) recs.set('size', String(size));
  if (h.uid > octalMax(8)) recs.set('uid', String(h.uid));
  if (h.gid > octalMax(8)) recs.set('gid', String(h.gid));
  if (h.uname !== undefined && !fits(h.uname, 32)) recs.set('uname', h.uname);
  if (h.gname !== undefined && !fits(h.gname, 32)) recs.set('gname', h.gname);
  if (!Number.isInteger(h.mtime) || h.mtime < 0 || h.mtime > octalMax(12)) recs.set('mtime', formatPaxTime(h.mtime));
  if (h.atime !== undefined) recs.set('atime', formatPaxTime(h.atime));
  if (h.ctime !== undefined) recs.set('ctime', formatPaxTime(h.ctime));
  for (const [k, v] of Object.entries(h.pax ?? {})) if (!DERIVED.has(k) && !k.startsWith('SCHILY.xattr.')) recs.set(k, v);
  for (const [k, v] of Object.entries(h.xattrs ?? {})) recs.set(`SCHILY.xattr.${k}`, v);
  return [...recs.keys()].sort().map((k) => encodePaxRecord(k, recs.get(k)!));
}

function encodeHeader(h: {
  name: Uint8Array; mode: number; uid: number; gid: number; size: number; mtime: number; typeflag: number;
  linkname: Uint8Array; uname: Uint8Array; gname: Uint8Array; devmajor: number; devminor: number;
}): Uint8Array {
  const b = new Uint8Array(BLOCK);
  writeString(b, F.name, h.name);
  writeOctal(b, F.mode, h.mode);
  writeOctal(b, F.uid, Math.min(h.uid, octalMax(8)));
  writeOctal(b, F.gid, Math.min(h.gid, octalMax(8)));
  writeOctal(b, F.size, h.size > octalMax(12) ? 0 : h.size);
  writeOctal(b, F.mtime, h.mtime);
  b[156] = h.typeflag;
  writeString(b, F.linkname, h.linkname);
  b.set([0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30], 257); // "ustar\0" "00"
  writeString(b, F.uname, h.uname);
  writeString(b, F.gname, h.gname);
  for (const [f, v] of [[F.devmajor, h.devmajor], [F.devminor, h.devminor]] as const) {
    if (v > octalMax(8)) writeBase256(b, f, v);
    else writeOctal(b, f, v);
  }
  const sum = checksums(b).unsigned;
  const s = sum.toString(8).padStart(6, '0');
  for (let i = 0; i < 6; i++) b[148 + i] = s.charCodeAt(i);
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

/** ustar can hold only ASCII; pax carries the real value, the field keeps a readable stand-in. */
function fieldBytes(s: string, max: number): Uint8Array {
  return encodeUtf8(fits(s, max) ? s : s.replace(/[^\x01-\x7f]/g, '_').slice(0, max));
}

function validate(h: TarHeader, data: Uint8Array): number {
  const bad = (rule: string): never => {
    throw new SkiffError('INVALID_ARGUMENT', `tar entry "${h.name}": ${rule}`);
  };
  if (h.name === '') bad('empty name');
  if (h.name.includes('\0') || h.linkname.includes('\0')) bad('names must not contain NUL');
  for (const k of ['uid', 'gid', 'mode', 'devmajor', 'devminor'] as const) {
    if (!Number.isSafeInteger(h[k]) || h[k] < 0) bad(`${k} must be a non-negative integer, got ${h[k]}`);
  }
  if (!Number.isFinite(h.mtime)) bad(`mtime must be a finite number, got ${h.mtime}`);
  if (h.type === 'file') {
    if (h.size !== data.length) bad(`header size ${h.size} does not match data length ${data.length}`);
    return data.length;
  }
  if (data.length !== 0) bad(`a ${h.type} entry cannot carry data`);
  return 0;
}

/** Streams tar blocks for entries, one call per entry; deterministic. */
export class TarWriter {
  #finished = false;

  /** The blocks for one entry: [pax header + pax data + padding], header, data, padding. */
  add(entry: TarEntry): Uint8Array[] {
    if (this.#finished) throw new SkiffError('INVALID_ARGUMENT', 'tar writer already finished');
    const h = entry.header;
    const size = validate(h, entry.data);
    const out: Uint8Array[] = [];
    const recs = paxRecords(h, size);
    if (recs.length > 0) {
      const paxData = concatBytes(recs);
      const base = h.name.replace(/\/+$/, '').split('/').pop() || 'entry';
      out.push(encodeHeader({
        name: fieldBytes(`PaxHeaders/${base}`, 100), mode: 0o644, uid: 0, gid: 0, size: paxData.length,
        mtime: clampTime(h.mtime), typeflag: 0x78, linkname: new Uint8Array(0), uname: new Uint8Array(0),
        gname: new Uint8Array(0), devmajor: 0, devminor: 0,
      }));
      out.push(paxData);
      if (paxData.length % BLOCK) out.push(ZERO.subarray(0, BLOCK - (paxData.length % BLOCK)));
    }
    out.push(encodeHeader({
      name: fieldBytes(h.name, 100), mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, size,
      mtime: clampTime(h.mtime), typeflag: TYPEFLAG[h.type], linkname: fieldBytes(h.linkname, 100),
      uname: fieldBytes(h.uname ?? '', 32), gname: fieldBytes(h.gname ?? '', 32),
      devmajor: h.devmajor, devminor: h.devminor,
    }));
    if (size > 0) {
      out.push(entry.data);
      if (size % BLOCK) out.push(ZERO.subarray(0, BLOCK - (size % BLOCK)));
    }
    return out;
  }

  /** The end-of-archive marker: two zero blocks. */
  finish(): Uint8Array {
    this.#finished = true;
    return ZERO;
  }
}

function clampTime(t: number): number {
  const s = Math.floor(t);
  return s < 0 ? 0 : Math.min(s, octalMax(12));
}

/** A whole archive in one buffer. */
export function writeTar(entries: Iterable<TarEntry>): Uint8Array {
  const w = new TarWriter();
  const parts: Uint8Array[] = [];
  for (const e of entries) parts.push(...w.add(e));
  // finish() is a shared constant: an empty archive must still be the caller's own buffer.
  parts.push(w.finish().slice());
  return concatBytes(parts);
}

/** The archive as a stream of chunks (file bodies are passed through, not copied). */
export async function* writeTarStream(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): AsyncGenerator<Uint8Array> {
  const w = new TarWriter();
  for await (const e of entries) yield* w.add(e);
  yield w.finish();
}

/** Convenience for building entries: fills the fields a caller usually does not care about. */
export function tarEntry(h: Partial<TarHeader> & { name: string }, data: Uint8Array | string = new Uint8Array(0)): TarEntry {
  const bytes = typeof data === 'string' ? encodeUtf8(data) : data;
  const type = h.type ?? 'file';
  return {
    header: {
      type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0, linkname: '',
      devmajor: 0, devminor: 0, ...h, size: type === 'file' ? bytes.length : 0,
    },
    data: bytes,
  };
}
