/** An ingestion that hashes as it goes and keeps chunks in memory until commit (memory and idb backends). */
import { createHasher, type Hasher } from '../oci/digest.ts';
import { concatBytes } from '../util/bytes.ts';
import { checkExpected, ingestionClosed, type BlobInfo, type Expected, type Ingestion } from './store.ts';

export class BufferedIngestion implements Ingestion {
  #chunks: Uint8Array[] = [];
  #hasher: Hasher = createHasher();
  #size = 0;
  #state: 'open' | 'committed' | 'aborted' = 'open';
  readonly #persist: (info: BlobInfo, bytes: Uint8Array) => Promise<BlobInfo>;

  /** `persist` stores the verified bytes (or returns the existing info if already present). */
  constructor(persist: (info: BlobInfo, bytes: Uint8Array) => Promise<BlobInfo>) {
    this.#persist = persist;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== 'open') throw ingestionClosed(this.#state);
    if (chunk.byteLength === 0) return;
    // Copy: the caller may reuse its buffer once write resolves.
    this.#chunks.push(chunk.slice());
    this.#hasher.update(chunk);
    this.#size += chunk.byteLength;
  }

  async commit(expected?: Expected): Promise<BlobInfo> {
    if (this.#state !== 'open') throw ingestionClosed(this.#state);
    this.#state = 'committed';
    const info: BlobInfo = { digest: this.#hasher.digest(), size: this.#size };
    const chunks = this.#chunks;
    this.#chunks = [];
    checkExpected(info, expected);
    return this.#persist(info, concatBytes(chunks, this.#size));
  }

  async abort(): Promise<void> {
    if (this.#state === 'open') this.#state = 'aborted';
    this.#chunks = [];
  }
}

