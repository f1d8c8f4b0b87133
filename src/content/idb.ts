/**
 * Content store in IndexedDB (the browser's durable store), via idb-keyval with its own database.
 * Each blob is two keys written in one transaction, so a commit is atomic:
 *   "blob/<digest>" -> Uint8Array      "info/<digest>" -> { size }
 * has/info/list read only the small info records.
 */
import { createStore, delMany, get, getMany, keys, setMany, type UseStore } from 'idb-keyval';
import { SkiffError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { BufferedIngestion } from './buffered.ts';
import { notFound, sliceStream, type BlobInfo, type ContentStore, type Ingestion } from './store.ts';

export interface IdbContentStoreOptions {
  /** IndexedDB database name (default "skiff-content"); one object store lives in it. */
  dbName?: string;
  storeName?: string;
}

const BLOB = 'blob/';
const INFO = 'info/';

export class IdbContentStore implements ContentStore {
  readonly #store: UseStore;

  constructor(opts: IdbContentStoreOptions = {}) {
    this.#store = createStore(opts.dbName ?? 'skiff-content', opts.storeName ?? 'blobs');
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.#info(digest)) !== undefined;
  }

  async info(digest: Digest): Promise<BlobInfo> {
    const i = await this.#info(digest);
    if (!i) throw notFound(digest);
    return { digest, size: i.size };
  }

  async get(digest: Digest): Promise<Uint8Array> {
    const b = await wrap(get<Uint8Array>(BLOB + digest, this.#store), `reading ${digest}`);
    if (!b) throw notFound(digest);
    return b;
  }

  stream(digest: Digest, opts: { chunkSize?: number } = {}): AsyncIterable<Uint8Array> {
    return sliceStream(this.get(digest), opts.chunkSize);
  }

  async list(): Promise<BlobInfo[]> {
    const all = await wrap(keys<string>(this.#store), 'listing content');
    const infoKeys = all.filter((k) => typeof k === 'string' && k.startsWith(INFO));
    const infos = await wrap(getMany<{ size: number }>(infoKeys, this.#store), 'listing content');
    const out: BlobInfo[] = [];
    infoKeys.forEach((k, i) => {
      const v = infos[i];
      if (v) out.push({ digest: k.slice(INFO.length) as Digest, size: v.size });
    });
    return out;
  }

  ingest(): Ingestion {
    return new BufferedIngestion(async (info, bytes) => {
      if (await this.has(info.digest)) return info;
      // Structured clone copies the whole backing buffer; store exactly the blob's bytes.
      const exact = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      await wrap(setMany([[BLOB + info.digest, exact], [INFO + info.digest, { size: info.size }]], this.#store), `committing ${info.digest}`);
      return info;
    });
  }

  async delete(digest: Digest): Promise<boolean> {
    if (!(await this.has(digest))) return false;
    await wrap(delMany([INFO + digest, BLOB + digest], this.#store), `deleting ${digest}`);
    return true;
  }

  #info(digest: Digest): Promise<{ size: number } | undefined> {
    return wrap(get<{ size: number }>(INFO + digest, this.#store), `reading ${digest}`);
  }
}

async function wrap<T>(p: Promise<T>, context: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new SkiffError('STORAGE', `IndexedDB: ${context}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}
