/** The engine's door to src/archive: tar reading/writing and layer decompression. */
import { decompress, decompressStream, readTar, readTarStream, TarParser, TarWriter, type Compression } from '../archive/index.ts';
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

export function parseTarStream(chunks: AsyncIterable<Uint8Array>): AsyncIterable<TarEntry> {
  return readTarStream(chunks);
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

/**
 * Decompress, hash and parse a layer in one streaming pass, keeping only the entries' headers:
 * memory stays at the compressed blob plus one decoder window, whatever the layer's size.
 */
export async function scanLayer(blob: Uint8Array, compression: Compression, maxBytes = DEFAULT_MAX_LAYER_BYTES): Promise<LayerScan> {
  const hasher = createHasher();
  const parser = new TarParser();
  const entries: TarEntry[] = [];
  let size = 0;
  const keep = (list: TarEntry[]): void => {
    for (const e of list) entries.push(e.data.byteLength > 0 ? { header: { ...e.header, size: 0 }, data: EMPTY } : e);
  };
  for await (const chunk of decompressStream([blob], { compression, maxOutputBytes: maxBytes })) {
    hasher.update(chunk);
    size += chunk.byteLength;
    keep(parser.push(chunk));
  }
  parser.end();
  return { diffId: hasher.digest() as string as DiffID, size, entries };
}
const EMPTY = new Uint8Array(0);
