/**
 * Content store on a Node filesystem, laid out like an OCI image layout's blob directory:
 *   <root>/blobs/sha256/<hex>   committed blobs (read-only by convention)
 *   <root>/ingest/<pid>-<start>-<time>-<random>   in-flight writes, named by their writer so that
 *                               a killed writer's leftovers are swept when the store is opened
 * Commit = fsync the temp file, verify, rename into place (atomic on POSIX), fsync the directory.
 * Two writers of the same blob each rename their own complete temp file; the last rename wins and
 * both hold identical bytes, so concurrent processes both succeed and leave one correct file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError } from '../errors.ts';
import { createHasher, digestHex, isDigest, type Digest, type Hasher } from '../oci/digest.ts';
import { identityAlive, selfIdentity, type ProcessIdentity } from '../util/process-identity.ts';
import { checkExpected, ingestionClosed, notFound, type BlobInfo, type ContentStore, type Expected, type Ingestion } from './store.ts';

export interface NodeFsContentStoreOptions {
  /** Directory holding blobs/ and ingest/; created on first use. */
  root: string;
  /** fsync files and the blob directory on commit (default true). */
  sync?: boolean;
}

const MAX_OPEN_FDS = 32;

export class NodeFsContentStore implements ContentStore {
  readonly root: string;
  readonly #sync: boolean;
  readonly #blobDir: string;
  readonly #ingestDir: string;
  #ready: Promise<void> | undefined;
  /** Open descriptors for range reads, least recently used first (a layer is read in many small pieces). */
  readonly #fds = new Map<Digest, number>();

  constructor(opts: NodeFsContentStoreOptions) {
    this.root = opts.root;
    this.#sync = opts.sync ?? true;
    this.#blobDir = join(opts.root, 'blobs', 'sha256');
    this.#ingestDir = join(opts.root, 'ingest');
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#blobDir, { recursive: true });
      await mkdir(this.#ingestDir, { recursive: true });
      await this.pruneIngest();
    })().catch((e: unknown) => {
      this.#ready = undefined;
      throw storageError(e, `creating content store at ${this.root}`);
    });
    return this.#ready;
  }

  blobPath(digest: Digest): string {
    return join(this.#blobDir, digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch (e) {
      if (isENOENT(e)) return false;
      throw storageError(e, `checking ${digest}`);
    }
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      const s = await stat(this.blobPath(digest));
      return { digest, size: s.size };
    } catch (e) {
      if (isENOENT(e)) throw notFound(digest);
      throw storageError(e, `reading ${digest}`);
    }
  }

  async get(digest: Digest): Promise<Uint8Array> {
    try {
      const b = await readFile(this.blobPath(digest));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if (isENOENT(e)) throw notFound(digest);
      throw storageError(e, `reading ${digest}`);
    }
  }

  async readRange(digest: Digest, offset: number, length: number): Promise<Uint8Array> {
    return this.readRangeSync(digest, offset, length);
  }

  /** pread(2) on a cached descriptor: a 64 KiB piece from the page cache takes microseconds. */
  readRangeSync(digest: Digest, offset: number, length: number): Uint8Array {
    const fd = this.#fd(digest);
    const buf = new Uint8Array(length);
    let got = 0;
    try {
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (e) {
      this.#closeFd(digest);
      throw storageError(e, `reading ${digest} at ${offset}`);
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  #fd(digest: Digest): number {
    let fd = this.#fds.get(digest);
    if (fd !== undefined) {
      this.#fds.delete(digest);
      this.#fds.set(digest, fd);
      return fd;
    }
    try {
      fd = openSync(this.blobPath(digest), 'r');
    } catch (e) {
      if (isENOENT(e)) throw notFound(digest);
      throw storageError(e, `reading ${digest}`);
    }
    this.#fds.set(digest, fd);
    if (this.#fds.size > MAX_OPEN_FDS) this.#closeFd(this.#fds.keys().next().value!);
    return fd;
  }

  #closeFd(digest: Digest): void {
    const fd = this.#fds.get(digest);
    if (fd === undefined) return;
    this.#fds.delete(digest);
    try { closeSync(fd); } catch { /* already closed */ }
  }

  async *stream(digest: Digest, opts: { chunkSize?: number } = {}): AsyncGenerator<Uint8Array> {
    let fh: FileHandle;
    try {
      fh = await open(this.blobPath(digest), 'r');
    } catch (e) {
      if (isENOENT(e)) throw notFound(digest);
      throw storageError(e, `reading ${digest}`);
    }
    try {
      const size = opts.chunkSize ?? 1 << 20;
      for (;;) {
        // A fresh buffer per chunk: consumers may keep chunks (the tar parser returns views).
        const buf = new Uint8Array(size);
        const { bytesRead } = await fh.read(buf, 0, size, null);
        if (bytesRead === 0) return;
        yield bytesRead === size ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Removes in-flight files whose writer process is gone (a killed `skiff load` leaves its
   * partial blob here), and any older than `olderThanMs` (default a day). Runs when the store is
   * first used; returns how many it removed.
   */
  async pruneIngest(opts: { olderThanMs?: number } = {}): Promise<number> {
    const cutoff = Date.now() - (opts.olderThanMs ?? 24 * 3600_000);
    let names: string[];
    try {
      names = await readdir(this.#ingestDir);
    } catch (e) {
      if (isENOENT(e)) return 0;
      throw storageError(e, `listing ${this.#ingestDir}`);
    }
    let n = 0;
    for (const name of names) {
      const p = join(this.#ingestDir, name);
      const writer = ingestWriter(name);
      try {
        if ((writer && !identityAlive(writer)) || (await stat(p)).mtimeMs < cutoff) {
          await rm(p, { force: true });
          n++;
        }
      } catch (e) {
        if (!isENOENT(e)) throw storageError(e, `pruning ${p}`);
      }
    }
    return n;
  }

  async list(): Promise<BlobInfo[]> {
    // Listing is what prune does first: the first one in a process sweeps dead writers' ingest files.
    await this.#init().catch(() => {});
    let names: string[];
    try {
      names = await readdir(this.#blobDir);
    } catch (e) {
      if (isENOENT(e)) return [];
      throw storageError(e, `listing ${this.#blobDir}`);
    }
    const out: BlobInfo[] = [];
    for (const n of names) {
      const d = `sha256:${n}`;
      if (!isDigest(d)) continue;
      try {
        out.push({ digest: d, size: (await stat(join(this.#blobDir, n))).size });
      } catch (e) {
        if (!isENOENT(e)) throw storageError(e, `listing ${d}`);
      }
    }
    return out;
  }

  ingest(): Ingestion {
    return new FileIngestion(this);
  }

  async delete(digest: Digest): Promise<boolean> {
    this.#closeFd(digest);
    try {
      await unlink(this.blobPath(digest));
      return true;
    } catch (e) {
      if (isENOENT(e)) return false;
      throw storageError(e, `deleting ${digest}`);
    }
  }

  /** @internal used by FileIngestion */
  async _tempFile(): Promise<{ path: string; fh: FileHandle }> {
    await this.#init();
    const me = selfIdentity();
    const path = join(this.#ingestDir, `${me.pid}-${me.start || '0'}-${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`);
    try {
      return { path, fh: await open(path, 'wx') };
    } catch (e) {
      throw storageError(e, `creating ${path}`);
    }
  }

  /** @internal move a verified temp file into place */
  async _publish(tempPath: string, info: BlobInfo, fh: FileHandle): Promise<void> {
    try {
      if (this.#sync) await fh.sync();
      await fh.close();
      await rename(tempPath, this.blobPath(info.digest));
      if (this.#sync) {
        const dir = await open(this.#blobDir, 'r');
        try { await dir.sync(); } finally { await dir.close(); }
      }
    } catch (e) {
      await rm(tempPath, { force: true }).catch(() => {});
      throw storageError(e, `committing ${info.digest}`);
    }
  }
}

class FileIngestion implements Ingestion {
  readonly #store: NodeFsContentStore;
  readonly #hasher: Hasher = createHasher();
  #file: Promise<{ path: string; fh: FileHandle }> | undefined;
  #size = 0;
  #state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(store: NodeFsContentStore) {
    this.#store = store;
  }

  get size(): number {
    return this.#size;
  }

  #open(): Promise<{ path: string; fh: FileHandle }> {
    return (this.#file ??= this.#store._tempFile());
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== 'open') throw ingestionClosed(this.#state);
    const { fh, path } = await this.#open();
    this.#hasher.update(chunk);
    this.#size += chunk.byteLength;
    try {
      let off = 0;
      while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
    } catch (e) {
      throw storageError(e, `writing ${path}`);
    }
  }

  async commit(expected?: Expected): Promise<BlobInfo> {
    if (this.#state !== 'open') throw ingestionClosed(this.#state);
    this.#state = 'committed';
    const { fh, path } = await this.#open();
    const info: BlobInfo = { digest: this.#hasher.digest(), size: this.#size };
    try {
      checkExpected(info, expected);
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(path, { force: true });
      throw e;
    }
    await this.#store._publish(path, info, fh);
    return info;
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    if (!this.#file) return;
    const { fh, path } = await this.#file;
    await fh.close().catch(() => {});
    await rm(path, { force: true });
  }
}

function isENOENT(e: unknown): boolean {
  return (e as { code?: string })?.code === 'ENOENT';
}

function storageError(e: unknown, context: string): SkiffError {
  if (e instanceof SkiffError) return SkiffError.wrap(e, context);
  return new SkiffError('STORAGE', `${context}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** The writer named by an ingest file (pid-start-time-random); null for other names. */
function ingestWriter(name: string): ProcessIdentity | null {
  const m = /^(\d+)-(\d+)-[0-9a-z]+-[0-9a-f]+$/.exec(name);
  return m ? { pid: Number(m[1]), start: m[2] === '0' ? '' : m[2]! } : null;
}
