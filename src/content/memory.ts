/** In-memory content store: tests, and ephemeral sessions in a tab. */
import type { Digest } from '../oci/digest.ts';
import { BufferedIngestion } from './buffered.ts';
import { notFound, sliceStream, type BlobInfo, type ContentStore, type Ingestion } from './store.ts';

export class MemoryContentStore implements ContentStore {
  readonly #blobs = new Map<Digest, Uint8Array>();

  async has(digest: Digest): Promise<boolean> {
    return this.#blobs.has(digest);
  }

  async info(digest: Digest): Promise<BlobInfo> {
    const b = this.#blobs.get(digest);
    if (!b) throw notFound(digest);
    return { digest, size: b.byteLength };
  }

  /** Returns the stored array itself (no copy); callers must not mutate it. */
  async get(digest: Digest): Promise<Uint8Array> {
    const b = this.#blobs.get(digest);
    if (!b) throw notFound(digest);
    return b;
  }

  stream(digest: Digest, opts: { chunkSize?: number } = {}): AsyncIterable<Uint8Array> {
    return sliceStream(this.get(digest), opts.chunkSize);
  }

  async readRange(digest: Digest, offset: number, length: number): Promise<Uint8Array> {
    return this.readRangeSync(digest, offset, length);
  }

  /** A view of the stored array (no copy); callers must not mutate it. */
  readRangeSync(digest: Digest, offset: number, length: number): Uint8Array {
    const b = this.#blobs.get(digest);
    if (!b) throw notFound(digest);
    return b.subarray(offset, offset + length);
  }

  async list(): Promise<BlobInfo[]> {
    return [...this.#blobs].map(([digest, b]) => ({ digest, size: b.byteLength }));
  }

  ingest(): Ingestion {
    return new BufferedIngestion(async (info, bytes) => {
      if (!this.#blobs.has(info.digest)) this.#blobs.set(info.digest, bytes);
      return info;
    });
  }

  async delete(digest: Digest): Promise<boolean> {
    return this.#blobs.delete(digest);
  }
}
