/** The engine's door to src/archive: tar reading/writing and layer decompression. */
import { decompress, decompressStream, readTar, TarParser, TarWriter, type Compression } from '../archive/index.ts';
import { SkiffError } from '../errors.ts';
import { createHasher, type DiffID } from '../oci/digest.ts';
import type { TarEntry } from '../archive/types.ts';

/** Default cap on one uncompressed layer (a decompression bomb guard). */
export const DEFAULT_MAX_LAYER_BYTES = 2 ** 31;

export function decompressLayer(bytes: Uint8Array, compression: Compression, maxBytes = DEFAULT_MAX_LAYER_BYTES, what?: string): Promise<Uint8Array> {
  return decompress(bytes, { compression, maxOutputBytes: maxBytes, ...(what ? { what } : {}) });
}

/** Entries of a tar held in memory; file bodies are views of `bytes`. */
export function parseTar(bytes: Uint8Array): TarEntry[] {
  return readTar(bytes);
}

/** The tar's chunks (file bodies passed through, not copied), end marker included. */
export function* writeTarChunks(entries: Iterable<TarEntry>): Iterable<Uint8Array> {
  const w = new TarWriter();
  for (const e of entries) yield* w.add(e);
  yield w.finish();
}

export async function* writeTarChunksAsync(entries: AsyncIterable<TarEntry>): AsyncIterable<Uint8Array> {
  const w = new TarWriter();
  for await (const e of entries) yield* w.add(e);
  yield w.finish();
}

export interface LayerScan {
  diffId: DiffID;
  /** Uncompressed size. */
  size: number;
  /** The layer's entries with file bodies dropped (structure only). */
  entries: TarEntry[];
}

export interface ScanLimits {
  /** Most uncompressed bytes (default DEFAULT_MAX_LAYER_BYTES). */
  maxBytes?: number;
  /** Most entries. */
  maxEntries?: number;
  maxWindowBytes?: number;
  /** The errors for going over them (a caller naming its own budgets). */
  overBytes?: (max: number) => SkiffError;
  overEntries?: (max: number) => SkiffError;
}

/**
 * Decompress, hash and parse a layer in one streaming pass, keeping only the entries' headers:
 * memory stays at the compressed blob (or, given a stream, one chunk of it) plus one decoder
 * window, whatever the layer's size.
 */
export async function scanLayer(blob: Uint8Array | AsyncIterable<Uint8Array>, compression: Compression, limits: number | ScanLimits = {}): Promise<LayerScan> {
  const l = typeof limits === 'number' ? { maxBytes: limits } : limits;
  const maxEntries = l.maxEntries ?? Infinity;
  const hasher = createHasher();
  const parser = new TarParser();
  const entries: TarEntry[] = [];
  let size = 0;
  const chunks = decompressStream(blob instanceof Uint8Array ? [blob] : blob, {
    compression, maxOutputBytes: l.maxBytes ?? DEFAULT_MAX_LAYER_BYTES,
    ...(l.maxWindowBytes !== undefined ? { maxWindowBytes: l.maxWindowBytes } : {}),
    ...(l.overBytes ? { overLimit: l.overBytes } : {}),
  });
  for await (const chunk of chunks) {
    hasher.update(chunk);
    size += chunk.byteLength;
    // Bodies stream past: only headers are kept (with size 0: structure only).
    for (const ev of parser.write(chunk)) {
      if (ev.kind !== 'header') continue;
      if (entries.length >= maxEntries) throw l.overEntries?.(maxEntries) ?? new SkiffError('INVALID_ARCHIVE', `more than ${maxEntries} entries`);
      entries.push({ header: ev.header.size > 0 ? { ...ev.header, size: 0 } : ev.header, data: EMPTY });
    }
  }
  parser.end();
  return { diffId: hasher.digest() as string as DiffID, size, entries };
}
const EMPTY = new Uint8Array(0);
