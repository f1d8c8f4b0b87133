/**
 * The content store: blobs addressed by their SHA-256, containerd-style. The big interface is a
 * composition of small roles so a consumer can ask for only what it uses (a layer unpacker needs a
 * Provider; a puller needs an Ingester).
 *
 * Ingestion contract (every backend):
 * - `ingest()` starts a write; nothing is visible to `has/info/get/list` until `commit`.
 * - `commit` hashes what was written and checks it against `expectedDigest`/`expectedSize` when
 *   given; on mismatch it throws SkiffError DIGEST_MISMATCH naming both values and discards the data.
 * - Committing content that already exists succeeds (idempotent) and returns its info.
 * - `abort` discards; after `commit` or `abort` the ingestion refuses further use.
 */
import { SkiffError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface Provider {
  has(digest: Digest): Promise<boolean>;
  /** NOT_FOUND if absent. */
  info(digest: Digest): Promise<BlobInfo>;
  /** The whole blob; NOT_FOUND if absent. */
  get(digest: Digest): Promise<Uint8Array>;
  list(): Promise<BlobInfo[]>;
  /**
   * The blob as chunks, for blobs too big to hold at once (Node's readFile stops at 2 GiB).
   * NOT_FOUND (on first iteration) if absent.
   */
  stream(digest: Digest, opts?: { chunkSize?: number }): AsyncIterable<Uint8Array>;
  /**
   * Bytes [offset, offset + length) of a blob (fewer at its end), without reading the rest: how
   * image layers are read on demand (engine/layer-data.ts). Absent: `readRange` below falls back
   * to `get`, which holds the whole blob.
   */
  readRange?(digest: Digest, offset: number, length: number): Promise<Uint8Array>;
  /** The same, synchronously, where the backend can (Node's files): reads then never wait. */
  readRangeSync?(digest: Digest, offset: number, length: number): Uint8Array;
}

export interface Expected {
  expectedDigest?: Digest;
  expectedSize?: number;
}

export interface Ingestion {
  /** The caller may reuse `chunk` once the returned promise settles. */
  write(chunk: Uint8Array): Promise<void>;
  commit(expected?: Expected): Promise<BlobInfo>;
  abort(): Promise<void>;
  /** Bytes written so far. */
  readonly size: number;
}

export interface Ingester {
  /**
   * `expected`, when known up front, lets a backend place the bytes where they will live as they
   * arrive (IndexedDB writes parts instead of holding the blob in memory). A hint: pass it to
   * `commit` too, which is what checks it on every backend.
   */
  ingest(expected?: Expected): Ingestion;
}

export interface Manager {
  /** Removes a blob; returns false if it was not there. */
  delete(digest: Digest): Promise<boolean>;
}

export interface ContentStore extends Provider, Ingester, Manager {}

/** Store a whole buffer, verifying it against `expected` when given. */
export async function putBlob(store: Ingester, bytes: Uint8Array, expected?: Expected): Promise<BlobInfo> {
  const ing = store.ingest();
  try {
    await ing.write(bytes);
  } catch (e) {
    await ing.abort().catch(() => {});
    throw e;
  }
  return ing.commit(expected);
}

/** Store a stream of chunks (a registry response body, a file). */
export async function putStream(store: Ingester, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected?: Expected): Promise<BlobInfo> {
  const ing = store.ingest();
  try {
    for await (const c of chunks) await ing.write(c);
  } catch (e) {
    await ing.abort().catch(() => {});
    throw e;
  }
  return ing.commit(expected);
}

/** Throws DIGEST_MISMATCH when `actual` does not satisfy `expected`. */
export function checkExpected(actual: BlobInfo, expected: Expected | undefined): void {
  if (!expected) return;
  if (expected.expectedDigest !== undefined && expected.expectedDigest !== actual.digest) {
    throw new SkiffError('DIGEST_MISMATCH',
      `content digest mismatch: expected ${expected.expectedDigest}, got ${actual.digest} (${actual.size} bytes)`);
  }
  if (expected.expectedSize !== undefined && expected.expectedSize !== actual.size) {
    throw new SkiffError('DIGEST_MISMATCH',
      `content size mismatch for ${actual.digest}: expected ${expected.expectedSize} bytes, got ${actual.size}` +
      (expected.expectedDigest ? ` (expected digest ${expected.expectedDigest})` : ''));
  }
}

/** `stream` for backends that hold whole blobs: subarray views, no copies. */
export async function* sliceStream(whole: Promise<Uint8Array>, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  const b = await whole;
  for (let i = 0; i < b.length; i += chunkSize) yield b.subarray(i, i + chunkSize);
}

/** A byte range of a blob, through the backend's `readRange` when it has one. */
export async function readRange(store: Provider, digest: Digest, offset: number, length: number): Promise<Uint8Array> {
  if (store.readRange) return store.readRange(digest, offset, length);
  return (await store.get(digest)).subarray(offset, offset + length);
}

export function notFound(digest: Digest): SkiffError {
  return new SkiffError('NOT_FOUND', `content ${digest} not found`);
}

export function ingestionClosed(state: string): SkiffError {
  return new SkiffError('INVALID_ARGUMENT', `ingestion already ${state}`);
}
