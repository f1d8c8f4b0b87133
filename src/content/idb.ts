/**
 * Content store in IndexedDB (the browser's durable store), via idb-keyval with its own database.
 * A blob's keys are written in one transaction, so a commit is atomic:
 *   "blob/<digest>" -> Uint8Array      "info/<digest>" -> { size }
 * or, for blobs over PART_BYTES, one record per 1 MiB part (so a range read fetches only the
 * parts it covers: image layers read on demand):
 *   "part/<digest>/<i>" -> Uint8Array  "info/<digest>" -> { size, parts }
 * has/info/list read only the small info records.
 */
import { createStore, delMany, get, getMany, keys, set, setMany, type UseStore } from 'idb-keyval';
import { SkiffError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { BufferedIngestion } from './buffered.ts';
import { checkExpected, ingestionClosed, notFound, sliceStream, type BlobInfo, type ContentStore, type Expected, type Ingestion } from './store.ts';
import { createHasher } from '../oci/digest.ts';

export interface IdbContentStoreOptions {
  /** IndexedDB database name (default "skiff-content"); one object store lives in it. */
  dbName?: string;
  storeName?: string;
}

const BLOB = 'blob/';
const INFO = 'info/';
const PART = 'part/';
/** Blobs above this are stored in parts of this size. */
export const PART_BYTES = 1 << 20;

interface Info {
  size: number;
  /** Present when stored in parts. */
  parts?: number;
}

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
    const i = await this.#info(digest);
    if (i?.parts !== undefined) return this.readRange(digest, 0, i.size);
    const b = await wrap(get<Uint8Array>(BLOB + digest, this.#store), `reading ${digest}`);
    if (!b) throw notFound(digest);
    return b;
  }

  async readRange(digest: Digest, offset: number, length: number): Promise<Uint8Array> {
    const i = await this.#info(digest);
    if (!i) throw notFound(digest);
    const end = Math.min(i.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    if (i.parts === undefined) return (await this.get(digest)).subarray(offset, end);
    const first = Math.floor(offset / PART_BYTES);
    const last = Math.floor((end - 1) / PART_BYTES);
    const keys: string[] = [];
    for (let p = first; p <= last; p++) keys.push(`${PART}${digest}/${p}`);
    const parts = await wrap(getMany<Uint8Array>(keys, this.#store), `reading ${digest}`);
    const out = new Uint8Array(end - offset);
    parts.forEach((part, k) => {
      if (!part) throw new SkiffError('STORAGE', `IndexedDB: part ${first + k} of ${digest} is missing`);
      const base = (first + k) * PART_BYTES;
      const from = Math.max(offset, base) - base;
      const to = Math.min(end, base + part.length) - base;
      if (to > from) out.set(part.subarray(from, to), base + from - offset);
    });
    return out;
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

  ingest(expected?: Expected): Ingestion {
    // The digest known up front (a layer's uncompressed copy, by its diff_id): parts go to their
    // final keys as they fill, so a big blob never sits whole in the tab's memory. They are
    // invisible until the info record is written at commit.
    if (expected?.expectedDigest) return new PartIngestion(this.#store, expected);
    return new BufferedIngestion(async (info, bytes) => {
      if (await this.has(info.digest)) return info;
      // Structured clone copies the whole backing buffer; store exactly the blob's bytes.
      if (bytes.byteLength > PART_BYTES) {
        const entries: [string, unknown][] = [];
        const n = Math.ceil(bytes.byteLength / PART_BYTES);
        for (let p = 0; p < n; p++) entries.push([`${PART}${info.digest}/${p}`, bytes.slice(p * PART_BYTES, (p + 1) * PART_BYTES)]);
        entries.push([INFO + info.digest, { size: info.size, parts: n } satisfies Info]);
        await wrap(setMany(entries, this.#store), `committing ${info.digest}`);
        return info;
      }
      const exact = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      await wrap(setMany([[BLOB + info.digest, exact], [INFO + info.digest, { size: info.size } satisfies Info]], this.#store), `committing ${info.digest}`);
      return info;
    });
  }

  async delete(digest: Digest): Promise<boolean> {
    const i = await this.#info(digest);
    if (!i) return false;
    const parts = Array.from({ length: i.parts ?? 0 }, (_, p) => `${PART}${digest}/${p}`);
    await wrap(delMany([INFO + digest, BLOB + digest, ...parts], this.#store), `deleting ${digest}`);
    return true;
  }

  #info(digest: Digest): Promise<Info | undefined> {
    return wrap(get<Info>(INFO + digest, this.#store), `reading ${digest}`);
  }
}

async function wrap<T>(p: Promise<T>, context: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    // A QuotaExceededError may come with an empty message: its name is then what says why.
    const why = (e as Error)?.message || (e as Error)?.name || String(e);
    throw new SkiffError('STORAGE', `IndexedDB: ${context}: ${why}`, { cause: e });
  }
}

/** An ingestion of a blob whose digest is known: 1 MiB parts written as they fill (see `ingest`). */
class PartIngestion implements Ingestion {
  readonly #hasher = createHasher();
  readonly #digest: Digest;
  #buf = new Uint8Array(PART_BYTES);
  #fill = 0;
  #parts = 0;
  #size = 0;
  #state: 'open' | 'committed' | 'aborted' = 'open';
  /** Whether the blob is stored already: then nothing is written (its parts must not be touched). */
  readonly #exists: Promise<boolean>;

  constructor(private readonly store: UseStore, private readonly expected: Expected) {
    this.#digest = expected.expectedDigest!;
    this.#exists = get<Info>(INFO + this.#digest, store).then((i) => i !== undefined, () => false);
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== 'open') throw ingestionClosed(this.#state);
    this.#hasher.update(chunk);
    this.#size += chunk.byteLength;
    let at = 0;
    while (at < chunk.byteLength) {
      const n = Math.min(PART_BYTES - this.#fill, chunk.byteLength - at);
      this.#buf.set(chunk.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill === PART_BYTES) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#fill === 0) return;
    if (await this.#exists) {
      this.#fill = 0;
      return;
    }
    const part = this.#fill === PART_BYTES ? this.#buf : this.#buf.slice(0, this.#fill);
    await wrap(set(`${PART}${this.#digest}/${this.#parts}`, part, this.store), `writing ${this.#digest}`);
    this.#parts++;
    this.#buf = new Uint8Array(PART_BYTES);
    this.#fill = 0;
  }

  async commit(expected?: Expected): Promise<BlobInfo> {
    if (this.#state !== 'open') throw ingestionClosed(this.#state);
    this.#state = 'committed';
    const info: BlobInfo = { digest: this.#hasher.digest(), size: this.#size };
    try {
      checkExpected(info, { ...this.expected, ...expected });
      if (await this.#exists) return info;
      await this.#flush();
      if (this.#size <= PART_BYTES) {
        // Small after all: one record, as `get` expects for blobs of that size.
        const whole = this.#parts ? await wrap(get<Uint8Array>(`${PART}${this.#digest}/0`, this.store), `reading ${this.#digest}`) : new Uint8Array(0);
        await wrap(setMany([[BLOB + info.digest, whole ?? new Uint8Array(0)], [INFO + info.digest, { size: info.size } satisfies Info]], this.store), `committing ${info.digest}`);
        await this.#dropParts();
        return info;
      }
      await wrap(set(INFO + info.digest, { size: info.size, parts: this.#parts } satisfies Info, this.store), `committing ${info.digest}`);
      return info;
    } catch (e) {
      await this.#dropParts().catch(() => {});
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    await this.#dropParts();
  }

  async #dropParts(): Promise<void> {
    // Never the parts of a blob stored under this digest (committed by another writer meanwhile).
    if (await get<Info>(INFO + this.#digest, this.store).then((i) => i?.parts !== undefined, () => false)) return;
    const keys = Array.from({ length: this.#parts }, (_, p) => `${PART}${this.#digest}/${p}`);
    if (keys.length) await wrap(delMany(keys, this.store), `discarding ${this.#digest}`);
  }
}
