/** The engine's door to src/archive: tar reading/writing and layer decompression. */
import { decompress, readTar, readTarStream, TarWriter, type Compression } from '../archive/index.ts';
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
