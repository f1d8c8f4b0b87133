/**
 * The engine's one door to src/archive: tar parsing/writing and layer decompression.
 * TEMPORARY: a minimal ustar/pax reader until src/archive lands; replaced by its readTar etc.
 */
import { SkiffError } from '../errors.ts';
import type { TarEntry, TarHeader } from '../archive/types.ts';
import type { Compression } from '../oci/mediatypes.ts';

const DEFAULT_MAX = 8 * 1024 ** 3;

export async function decompressLayer(bytes: Uint8Array, compression: Compression, maxBytes = DEFAULT_MAX): Promise<Uint8Array> {
  if (compression === 'none') return bytes;
  if (compression === 'zstd') {
    const { decompress } = await import('fzstd');
    return decompress(bytes);
  }
  const zlib = await import('node:zlib');
  try {
    return new Uint8Array(zlib.gunzipSync(bytes, { maxOutputLength: Math.min(maxBytes, 2 ** 32) }));
  } catch (err) {
    throw new SkiffError('INVALID_ARCHIVE', `gzip: ${(err as Error).message}`);
  }
}

function str(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(off, end));
}
function oct(b: Uint8Array, off: number, len: number): number {
  const s = str(b, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

export function* parseTar(bytes: Uint8Array): Iterable<TarEntry> {
  let off = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + 512 <= bytes.length) {
    const h = bytes.subarray(off, off + 512);
    if (h.every((x) => x === 0)) return;
    const size = oct(h, 124, 12);
    const flag = String.fromCharCode(h[156]!);
    const dataStart = off + 512;
    if (dataStart + size > bytes.length) throw new SkiffError('INVALID_ARCHIVE', `truncated tar: entry "${str(h, 0, 100)}" needs ${size} bytes`);
    const data = bytes.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / 512) * 512;
    if (flag === 'x') {
      const text = new TextDecoder().decode(data);
      let i = 0;
      while (i < text.length) {
        const sp = text.indexOf(' ', i);
        const len = parseInt(text.slice(i, sp), 10);
        const rec = text.slice(sp + 1, i + len - 1);
        const eq = rec.indexOf('=');
        pax[rec.slice(0, eq)] = rec.slice(eq + 1);
        i += len;
      }
      continue;
    }
    if (flag === 'g') continue;
    if (flag === 'L') { longName = str(data, 0, data.length); continue; }
    if (flag === 'K') { longLink = str(data, 0, data.length); continue; }
    const prefix = str(h, 345, 155);
    let name = longName ?? pax['path'] ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const types: Record<string, TarHeader['type']> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'chardev', '4': 'blockdev', '5': 'directory', '6': 'fifo' };
    const type = types[flag];
    if (!type) throw new SkiffError('INVALID_ARCHIVE', `entry "${name}": unsupported tar type "${flag}"`);
    if (type === 'directory' && !name.endsWith('/')) name += '';
    const header: TarHeader = {
      name, type, mode: oct(h, 100, 8) & 0o7777, uid: oct(h, 108, 8), gid: oct(h, 116, 8), size: type === 'file' ? size : 0,
      mtime: oct(h, 136, 12), linkname: longLink ?? pax['linkpath'] ?? str(h, 157, 100), devmajor: oct(h, 329, 8), devminor: oct(h, 337, 8),
    };
    yield { header, data: type === 'file' ? data : new Uint8Array() };
    pax = {}; longName = undefined; longLink = undefined;
  }
  throw new SkiffError('INVALID_ARCHIVE', 'truncated tar: missing end-of-archive blocks');
}

export async function* parseTarStream(chunks: AsyncIterable<Uint8Array>): AsyncIterable<TarEntry> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of chunks) { parts.push(c); n += c.byteLength; }
  const all = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.byteLength; }
  yield* parseTar(all);
}

function enc(s: string, len: number, into: Uint8Array, off: number): void {
  const b = new TextEncoder().encode(s);
  into.set(b.subarray(0, len), off);
}
function encOct(n: number, len: number, into: Uint8Array, off: number): void {
  enc(n.toString(8).padStart(len - 1, '0'), len - 1, into, off);
}

export function* writeTar(entries: Iterable<TarEntry>, opts: { end?: boolean } = {}): Iterable<Uint8Array> {
  const flags: Record<TarHeader['type'], string> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', blockdev: '4', directory: '5', fifo: '6' };
  for (const { header: h, data } of entries) {
    const b = new Uint8Array(512);
    if (new TextEncoder().encode(h.name).length > 100) throw new SkiffError('UNSUPPORTED', `long name ${h.name}`);
    enc(h.name, 100, b, 0);
    encOct(h.mode, 8, b, 100); encOct(h.uid, 8, b, 108); encOct(h.gid, 8, b, 116);
    encOct(h.type === 'file' ? data.byteLength : 0, 12, b, 124); encOct(Math.floor(h.mtime), 12, b, 136);
    b.fill(0x20, 148, 156); enc(flags[h.type], 1, b, 156); enc(h.linkname, 100, b, 157);
    enc('ustar\x0000', 8, b, 257); encOct(h.devmajor, 8, b, 329); encOct(h.devminor, 8, b, 337);
    let sum = 0; for (const x of b) sum += x;
    enc(sum.toString(8).padStart(6, '0') + '\0 ', 8, b, 148);
    yield b;
    if (h.type === 'file' && data.byteLength) {
      yield data;
      const pad = (512 - (data.byteLength % 512)) % 512;
      if (pad) yield new Uint8Array(pad);
    }
  }
  if (opts.end !== false) yield new Uint8Array(1024);
}

export function writeTarChunks(entries: Iterable<TarEntry>): Iterable<Uint8Array> {
  return writeTar(entries);
}
