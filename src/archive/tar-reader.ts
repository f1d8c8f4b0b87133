/**
 * A sans-IO streaming tar parser. `write(chunk)` returns the events that chunk completes (an
 * entry's header, pieces of its body, its end), so a body of any size streams through in the
 * chunks it arrived in; `push(chunk)` returns whole entries instead, for callers that want
 * bodies in one piece (and can afford them); `end()` checks the archive ended cleanly. Handles
 * ustar, pax (local and global headers, SCHILY.xattr.*), GNU long names/links (L/K), GNU
 * base-256 numbers and GNU atime/ctime.
 *
 * Zero-copy: body pieces are subarrays of the pushed chunks, and `push` returns a body that lies
 * within one chunk as such a subarray (one spread over chunks is copied once). So pushed chunks
 * must not be reused by the caller.
 */
import { SkiffError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';
import { BLOCK, F, checksums, decodeUtf8, isZeroBlock, parsePaxRecords, parsePaxTime, readNumber, readString, type Field } from './tar-format.ts';
import type { TarEntry, TarEntryType, TarHeader } from './types.ts';

export interface TarParserOptions {
  /** Largest file body accepted (default 4 GiB - 1); bigger entries are rejected by name. */
  maxEntrySize?: number;
}

/** What `write` yields: a header, then its body in pieces (none for an empty body), then its end. */
export type TarEvent =
  | { kind: 'header'; header: TarHeader }
  | { kind: 'data'; data: Uint8Array }
  | { kind: 'end' };

/** pax, GNU long-name and long-link bodies larger than this are rejected (as Go's archive/tar does). */
const MAX_META_SIZE = 1 << 20;
const TYPES: Record<number, TarEntryType> = {
  0x00: 'file', 0x30: 'file', 0x37: 'file', 0x31: 'hardlink', 0x32: 'symlink',
  0x33: 'chardev', 0x34: 'blockdev', 0x35: 'directory', 0x36: 'fifo',
};

type Kind = 'entry' | 'pax' | 'global' | 'longname' | 'longlink' | 'skip';

export class TarParser {
  readonly #maxEntrySize: number;
  #state: 'header' | 'data' | 'padding' | 'end1' | 'done' = 'header';
  readonly #hdrBuf = new Uint8Array(BLOCK);
  #hdrFill = 0;
  /** Offset of the next byte in the archive, for error messages. */
  #offset = 0;
  #cur: { kind: Kind; header: TarHeader; size: number } | undefined;
  #parts: Uint8Array[] = [];
  #got = 0;
  /** The entry `push` is assembling. */
  #entry: TarHeader | undefined;
  #body: Uint8Array[] = [];
  #pad = 0;
  #pax: Map<string, Uint8Array> | undefined;
  #global = new Map<string, Uint8Array>();
  #longName: string | undefined;
  #longLink: string | undefined;
  #lastName = '';

  constructor(opts: TarParserOptions = {}) {
    this.#maxEntrySize = opts.maxEntrySize ?? 2 ** 32 - 1;
  }

  /** Whole entries completed by this chunk (bodies assembled). */
  push(chunk: Uint8Array): TarEntry[] {
    const entries: TarEntry[] = [];
    for (const ev of this.write(chunk)) {
      if (ev.kind === 'header') {
        this.#entry = ev.header;
        this.#body = [];
      } else if (ev.kind === 'data') this.#body.push(ev.data);
      else {
        const header = this.#entry!;
        entries.push({ header, data: this.#body.length === 0 ? new Uint8Array(0) : concatBytes(this.#body, header.size) });
        this.#entry = undefined;
        this.#body = [];
      }
    }
    return entries;
  }

  /** The events this chunk completes. */
  write(chunk: Uint8Array): TarEvent[] {
    const out: TarEvent[] = [];
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      switch (this.#state) {
        case 'header':
        case 'end1': {
          let block: Uint8Array;
          if (this.#hdrFill === 0 && n - pos >= BLOCK) {
            block = chunk.subarray(pos, pos + BLOCK);
            pos += BLOCK;
          } else {
            const take = Math.min(BLOCK - this.#hdrFill, n - pos);
            this.#hdrBuf.set(chunk.subarray(pos, pos + take), this.#hdrFill);
            this.#hdrFill += take;
            pos += take;
            if (this.#hdrFill < BLOCK) break;
            this.#hdrFill = 0;
            block = this.#hdrBuf;
          }
          this.#onBlock(block, out);
          this.#offset += BLOCK;
          break;
        }
        case 'data': {
          const cur = this.#cur!;
          const take = Math.min(cur.size - this.#got, n - pos);
          const piece = chunk.subarray(pos, pos + take);
          this.#got += take;
          pos += take;
          // Entry bodies stream out; metadata bodies (at most MAX_META_SIZE) are gathered.
          if (cur.kind === 'entry') {
            if (cur.header.type === 'file') out.push({ kind: 'data', data: piece });
          } else if (cur.kind !== 'skip') this.#parts.push(piece);
          if (this.#got === cur.size) this.#finish(concatBytes(this.#parts), out);
          break;
        }
        case 'padding': {
          const skip = Math.min(this.#pad, n - pos);
          this.#pad -= skip;
          pos += skip;
          this.#offset += skip;
          if (this.#pad === 0) this.#state = 'header';
          break;
        }
        case 'done':
          // Past the end-of-archive marker: the rest is record padding.
          pos = n;
          break;
      }
    }
    return out;
  }

  /** Throws INVALID_ARCHIVE unless the archive ended at an entry boundary. */
  end(): void {
    const name = this.#cur ? this.#cur.header.name : this.#lastName;
    if (this.#state === 'data') {
      throw this.#error(name, `truncated: expected ${this.#cur!.size} bytes of data, archive ended after ${this.#got}`);
    }
    if (this.#state === 'padding') throw this.#error(name, 'truncated: archive ended inside the padding after the data');
    if (this.#hdrFill > 0) {
      throw this.#error(this.#lastName, `truncated: archive ended ${this.#hdrFill} bytes into the header ${this.#lastName ? 'after' : 'of the first entry'}`);
    }
    if (this.#pax || this.#longName !== undefined || this.#longLink !== undefined) {
      throw this.#error(this.#lastName, 'archive ended after a pax or GNU long-name header with no entry following');
    }
  }

  #error(name: string, rule: string): SkiffError {
    const where = name ? `entry "${name}"` : `header at offset ${this.#offset}`;
    return new SkiffError('INVALID_ARCHIVE', `tar ${where}: ${rule}`);
  }

  #onBlock(block: Uint8Array, out: TarEvent[]): void {
    if (this.#state === 'end1') {
      if (!isZeroBlock(block)) throw this.#error('', 'data after the end-of-archive zero block');
      this.#state = 'done';
      return;
    }
    if (isZeroBlock(block)) {
      if (this.#pax || this.#longName !== undefined || this.#longLink !== undefined) {
        throw this.#error(this.#lastName, 'end-of-archive marker right after a pax or GNU long-name header');
      }
      this.#state = 'end1';
      return;
    }
    const rawName = readString(block, F.name);
    const { unsigned, signed } = checksums(block);
    const stored = readNumber(block, F.chksum);
    if (stored === undefined || (stored !== unsigned && stored !== signed)) {
      throw this.#error(rawName, `header checksum mismatch at offset ${this.#offset} (stored ${stored ?? 'unreadable'}, computed ${unsigned})`);
    }
    const num = (f: Field): number => {
      const v = readNumber(block, F[f]);
      if (v === undefined) throw this.#error(rawName, `header field "${f}" is not a valid number (or exceeds 2^53)`);
      return v;
    };
    // "ustar\0" + "00" is POSIX; "ustar  \0" is GNU (whose prefix area holds atime/ctime instead).
    const isUstar = block[257] === 0x75 && block[258] === 0x73 && block[259] === 0x74 && block[260] === 0x61 && block[261] === 0x72;
    const isGnu = isUstar && block[262] === 0x20 && block[263] === 0x20;
    let name = rawName;
    if (isUstar && !isGnu && block[F.prefix[0]] !== 0) name = `${readString(block, F.prefix)}/${rawName}`;
    const flag = block[156]!;
    let size = num('size');
    if (size < 0) throw this.#error(name, `negative size ${size}`);

    let kind: Kind = 'entry';
    let type = TYPES[flag];
    if (flag === 0x78) kind = 'pax'; // x
    else if (flag === 0x67) kind = 'global'; // g
    else if (flag === 0x4c) kind = 'longname'; // L
    else if (flag === 0x4b) kind = 'longlink'; // K
    else if (flag === 0x56) kind = 'skip'; // V: volume label
    else if (flag === 0x44) type = 'directory'; // D: GNU dumpdir; its body lists names, we drop it
    else if (flag === 0x53 || flag === 0x4d || flag === 0x4e) {
      throw this.#error(name, `GNU ${flag === 0x53 ? 'sparse' : 'multi-volume'} entries (type '${String.fromCharCode(flag)}') are not supported`);
    } else if (type === undefined) {
      throw this.#error(name, `unknown entry type '${flag >= 0x20 && flag < 0x7f ? String.fromCharCode(flag) : `\\x${flag.toString(16)}`}'`);
    }
    if (kind !== 'entry' && kind !== 'skip' && size > MAX_META_SIZE) {
      throw this.#error(name, `${kind === 'pax' || kind === 'global' ? 'pax' : 'GNU long-name'} header of ${size} bytes exceeds the ${MAX_META_SIZE}-byte limit`);
    }

    const header: TarHeader = {
      name,
      type: type ?? 'file',
      mode: num('mode') & 0o7777,
      uid: num('uid'),
      gid: num('gid'),
      size,
      mtime: num('mtime'),
      linkname: readString(block, F.linkname),
      devmajor: 0,
      devminor: 0,
    };
    if (isUstar) {
      const uname = readString(block, F.uname);
      const gname = readString(block, F.gname);
      if (uname) header.uname = uname;
      if (gname) header.gname = gname;
      if (type === 'chardev' || type === 'blockdev') {
        header.devmajor = num('devmajor');
        header.devminor = num('devminor');
      }
    }
    if (isGnu) {
      const at = readNumber(block, F.gnuAtime);
      const ct = readNumber(block, F.gnuCtime);
      if (at) header.atime = at;
      if (ct) header.ctime = ct;
    }
    if (kind === 'entry') {
      if (flag === 0 && name.endsWith('/')) header.type = 'directory'; // V7 directories
      this.#applyMeta(header);
      size = header.size;
      // Header-only types carry no body in the archive whatever their size field says.
      if (header.type !== 'file' && flag !== 0x44) size = header.size = 0;
      if (size > this.#maxEntrySize) throw this.#error(header.name, `size ${size} exceeds the limit of ${this.#maxEntrySize} bytes`);
      this.#lastName = header.name;
    }
    this.#cur = { kind, header, size };
    this.#parts = [];
    this.#got = 0;
    if (kind === 'entry') out.push({ kind: 'header', header });
    if (size === 0) this.#finish(new Uint8Array(0), out);
    else this.#state = 'data';
  }

  #finish(data: Uint8Array, out: TarEvent[]): void {
    const cur = this.#cur!;
    this.#parts = [];
    this.#offset += cur.size;
    const rem = cur.size % BLOCK;
    this.#pad = rem === 0 ? 0 : BLOCK - rem;
    this.#state = this.#pad === 0 ? 'header' : 'padding';
    switch (cur.kind) {
      case 'entry':
        // (a dumpdir's body, the only other entry body, was dropped on the way)
        out.push({ kind: 'end' });
        this.#cur = undefined;
        return;
      case 'pax':
      case 'global': {
        let recs: Array<[string, Uint8Array]>;
        try {
          recs = parsePaxRecords(data);
        } catch (e) {
          throw this.#error(cur.header.name, (e as Error).message);
        }
        if (cur.kind === 'pax') {
          this.#pax ??= new Map();
          for (const [k, v] of recs) this.#pax.set(k, v.slice());
        } else {
          for (const [k, v] of recs) {
            if (v.length === 0) this.#global.delete(k);
            else this.#global.set(k, v.slice());
          }
        }
        break;
      }
      case 'longname':
      case 'longlink': {
        const nul = data.indexOf(0);
        const s = decodeUtf8(nul >= 0 ? data.subarray(0, nul) : data);
        if (cur.kind === 'longname') this.#longName = s;
        else this.#longLink = s;
        break;
      }
      case 'skip':
        break;
    }
    this.#cur = undefined;
  }

  /** GNU long names first, then global pax, then local pax (pax wins, as in Go's archive/tar). */
  #applyMeta(h: TarHeader): void {
    if (this.#longName !== undefined) h.name = this.#longName;
    if (this.#longLink !== undefined) h.linkname = this.#longLink;
    this.#longName = this.#longLink = undefined;
    const local = this.#pax;
    this.#pax = undefined;
    if (this.#global.size === 0 && !local) return;
    const recs = new Map(this.#global);
    if (local) for (const [k, v] of local) recs.set(k, v);
    for (const [k, v] of recs) {
      if (v.length === 0) continue; // an empty local value cancels a global one
      if (k.startsWith('SCHILY.xattr.')) {
        (h.xattrs ??= {})[k.slice(13)] = v;
        continue;
      }
      const s = decodeUtf8(v);
      const int = (): number => {
        if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw this.#error(h.name, `pax record ${k}="${s}" is not a valid non-negative integer`);
        return Number(s);
      };
      const time = (): number => {
        const t = parsePaxTime(s);
        if (t === undefined) throw this.#error(h.name, `pax record ${k}="${s}" is not a valid time`);
        return t;
      };
      switch (k) {
        case 'path': h.name = s; break;
        case 'linkpath': h.linkname = s; break;
        case 'size': h.size = int(); break;
        case 'uid': h.uid = int(); break;
        case 'gid': h.gid = int(); break;
        case 'uname': h.uname = s; break;
        case 'gname': h.gname = s; break;
        case 'mtime': h.mtime = time(); break;
        case 'atime': h.atime = time(); break;
        case 'ctime': h.ctime = time(); break;
        default:
          if (k.startsWith('GNU.sparse.')) throw this.#error(h.name, 'GNU sparse files (pax GNU.sparse.*) are not supported');
          (h.pax ??= {})[k] = s;
      }
    }
  }
}

/** Parse a whole archive held in memory. File bodies are subarrays of `bytes`. */
export function readTar(bytes: Uint8Array, opts?: TarParserOptions): TarEntry[] {
  const p = new TarParser(opts);
  const entries = p.push(bytes);
  p.end();
  return entries;
}

/**
 * Parse an archive as it streams in, yielding each entry as soon as it is complete. Every body
 * is held whole: for archives whose entries may be large, use readTarEvents.
 */
export async function* readTarStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts?: TarParserOptions): AsyncGenerator<TarEntry> {
  const p = new TarParser(opts);
  for await (const chunk of source) yield* p.push(chunk);
  p.end();
}

/** Parse an archive as it streams in, bodies in the pieces they arrive in (memory: one chunk). */
export async function* readTarEvents(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts?: TarParserOptions): AsyncGenerator<TarEvent> {
  const p = new TarParser(opts);
  for await (const chunk of source) yield* p.write(chunk);
  p.end();
}
