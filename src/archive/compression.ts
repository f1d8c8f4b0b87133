/**
 * Layer compression: sniff gzip/zstd/plain by magic, gzip both ways through the platform's
 * CompressionStream/DecompressionStream (browsers and Node 18+ have them), zstd decode through
 * fzstd behind our own frame checks (zstd.ts). Every decoder takes `maxOutputBytes` so a
 * decompression bomb fails with a clear error instead of exhausting memory.
 */
import { SkiffError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';
import type { ByteTransform } from './types.ts';
import { hasNodeZlib, nodeTransform } from './zlib-node.ts';
import { zstdDecompressStream } from './zstd.ts';

export { DEFAULT_MAX_ZSTD_WINDOW, ZstdScanner, zstdDecompressStream } from './zstd.ts';

export type Compression = 'none' | 'gzip' | 'zstd';

export interface DecompressOptions {
  /** Fail once output exceeds this many bytes. Streams default to unlimited, buffers to 2 GiB. */
  maxOutputBytes?: number;
  /** Names the input in errors ("layer sha256:ab12"). */
  what?: string;
  /** Largest zstd window accepted (DEFAULT_MAX_ZSTD_WINDOW). */
  maxWindowBytes?: number;
  /** The error for output over maxOutputBytes (a caller naming its own budget). */
  overLimit?: (max: number) => SkiffError;
}

const BUFFER_DEFAULT_MAX = 2 ** 31;

/** gzip 1f 8b; zstd frame 28 b5 2f fd or a skippable frame 5? 2a 4d 18; anything else is plain. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 4 && (head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  return 'none';
}

function bomb(what: string, max: number, opts: DecompressOptions = {}): SkiffError {
  if (opts.overLimit) return opts.overLimit(max);
  return new SkiffError('INVALID_ARCHIVE', `${what}: decompressed size exceeds the limit of ${max} bytes (possible decompression bomb)`);
}

function corrupt(what: string, format: string, e: unknown): SkiffError {
  if (e instanceof SkiffError) return e;
  const msg = (e as Error)?.message ?? String(e);
  return new SkiffError('INVALID_ARCHIVE', `${what}: corrupt or truncated ${format} data (${msg})`, { cause: e });
}


function webTransform(pair: { writable: WritableStream<BufferSource>; readable: ReadableStream<Uint8Array> }): ByteTransform {
  const writer = pair.writable.getWriter();
  const reader = pair.readable.getReader();
  return {
    write: (chunk) => writer.write(chunk as Uint8Array<ArrayBuffer>),
    end: () => writer.close(),
    abort: (err) => { writer.abort(err).catch(() => {}); },
    output: { next: () => reader.read() as Promise<IteratorResult<Uint8Array>> },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/**
 * Feed `source` through `t` while yielding its output, counted against maxOutputBytes. Errors of
 * the source are rethrown as they are; errors of the transform become `corrupt` data errors.
 */
async function* pipeThrough(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, t: ByteTransform, format: string, opts: DecompressOptions): AsyncGenerator<Uint8Array> {
  const what = opts.what ?? format;
  const max = opts.maxOutputBytes ?? Infinity;
  let sourceError: unknown;
  let stopped = false;
  const pump = (async () => {
    try {
      for await (const c of source) {
        if (stopped) return;
        await t.write(c);
      }
      await t.end();
    } catch (e) {
      sourceError ??= e;
      t.abort(e);
    }
  })();
  let total = 0;
  let ok = false;
  try {
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await t.output.next();
      } catch (e) {
        if (sourceError !== undefined) throw sourceError;
        throw corrupt(what, format, e);
      }
      if (r.done) break;
      total += r.value.byteLength;
      if (total > max) throw bomb(what, max, opts);
      yield r.value;
    }
    await pump;
    if (sourceError !== undefined) throw sourceError;
    ok = true;
  } finally {
    if (!ok) {
      stopped = true;
      await t.cancel();
      await pump.catch(() => {});
    }
  }
}

export interface StreamImplOptions {
  /** Force the web-standard (De)CompressionStream even where Node's zlib is available. */
  portable?: boolean;
}

// One gzip path: the same pump over Node's zlib where the Node entry point installed it (about 3x
// faster: 256 KiB chunks), else over the web-standard streams. Transforms are made on first read.
export async function* gunzipStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: DecompressOptions & StreamImplOptions = {},
): AsyncGenerator<Uint8Array> {
  const t = opts.portable || !hasNodeZlib() ? webTransform(new DecompressionStream('gzip')) : nodeTransform('gunzip');
  yield* pipeThrough(source, t, 'gzip', opts);
}

export async function* gzipStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: StreamImplOptions = {}): AsyncGenerator<Uint8Array> {
  const t = opts.portable || !hasNodeZlib() ? webTransform(new CompressionStream('gzip')) : nodeTransform('gzip');
  yield* pipeThrough(source, t, 'gzip', {});
}

/** zstd encoding is not available in JS here; we read zstd layers but write gzip. */
export function zstdCompress(): never {
  throw new SkiffError('UNSUPPORTED', 'zstd compression is not supported (zstd layers can be read; write gzip instead)');
}

/**
 * Decompress a stream whose format is given or sniffed from its first bytes ('auto').
 * 'none' passes chunks through, still counting them against maxOutputBytes.
 */
export async function* decompressStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: DecompressOptions & { compression?: Compression | 'auto' } = {},
): AsyncGenerator<Uint8Array> {
  const it = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<Uint8Array>)[Symbol.iterator]()) as
    AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  // Gather at least 4 bytes to sniff, then replay them ahead of the rest.
  const head: Uint8Array[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 4) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    head.push(r.value);
    headLen += r.value.byteLength;
  }
  let compression = opts.compression ?? 'auto';
  if (compression === 'auto') {
    const first = concatBytes(head);
    compression = detectCompression(first);
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield* head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  if (compression === 'gzip') yield* gunzipStream(replay(), opts);
  else if (compression === 'zstd') yield* zstdDecompressStream(replay(), opts);
  else {
    const max = opts.maxOutputBytes ?? Infinity;
    let total = 0;
    for await (const c of replay()) {
      total += c.byteLength;
      if (total > max) throw opts.overLimit?.(max) ?? new SkiffError('INVALID_ARCHIVE', `${opts.what ?? 'input'}: size exceeds the limit of ${max} bytes`);
      yield c;
    }
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return concatBytes(parts);
}

export function gunzip(bytes: Uint8Array, opts: DecompressOptions & StreamImplOptions = {}): Promise<Uint8Array> {
  return collect(gunzipStream([bytes], { ...opts, maxOutputBytes: opts.maxOutputBytes ?? BUFFER_DEFAULT_MAX }));
}

export function gzip(bytes: Uint8Array, opts: StreamImplOptions = {}): Promise<Uint8Array> {
  return collect(gzipStream([bytes], opts));
}

/** Decompress a whole buffer, sniffing the format unless given. */
export function decompress(bytes: Uint8Array, opts: DecompressOptions & { compression?: Compression | 'auto' } = {}): Promise<Uint8Array> {
  return collect(decompressStream([bytes], { ...opts, maxOutputBytes: opts.maxOutputBytes ?? BUFFER_DEFAULT_MAX }));
}
