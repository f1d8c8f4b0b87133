/**
 * State documents as files: <root>/<collection>/<encoded key>.json. Each write goes to a temp file
 * in the same directory and is renamed over the old one, so a reader (or a crash) sees the old or
 * the new document, never half of one. Transactions hold <root>/lock, created with O_EXCL; a lock
 * whose owner process is gone, or that is older than `staleMs`, is broken.
 */
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError } from '../../errors.ts';
import { decodeKey, encodeKey, listByKeys, Mutex, type Collection, type StateStore, type StateTx } from './store.ts';

export interface NodeFsStateOptions {
  /** Directory holding the documents (e.g. $SKIFF_HOME/state). */
  root: string;
  /** A lock whose owner process is gone is broken at once; one held longer than this (default 10 min) is taken as hung and broken too. */
  staleMs?: number;
  /** Give up waiting for the lock after this long. */
  timeoutMs?: number;
}

let tmpCounter = 0;

export class NodeFsStateStore implements StateStore {
  readonly kind = 'node-fs' as const;
  readonly root: string;
  private readonly staleMs: number;
  private readonly timeoutMs: number;
  private readonly mutex = new Mutex();

  constructor(options: NodeFsStateOptions) {
    this.root = options.root;
    this.staleMs = options.staleMs ?? 600_000;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  private file(c: Collection, key: string): string {
    return join(this.root, c, encodeKey(key) + '.json');
  }

  async get<T>(collection: Collection, key: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(collection, key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storageError(err, `reading state ${collection}/${key}`);
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new SkiffError('STORAGE', `reading state ${collection}/${key}: corrupt JSON document`, { cause: err });
    }
  }

  async keys(collection: Collection): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, collection));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw storageError(err, `listing state ${collection}`);
    }
    return names
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .map((n) => decodeKey(n.slice(0, -5)))
      .sort();
  }

  list<T>(collection: Collection): Promise<T[]> {
    return listByKeys<T>(this, collection);
  }

  private async put(collection: Collection, key: string, value: unknown): Promise<void> {
    try {
      await this.write(collection, key, value);
    } catch (err) {
      throw storageError(err, `writing state ${collection}/${key}`);
    }
  }

  private async write(collection: Collection, key: string, value: unknown): Promise<void> {
    const dir = join(this.root, collection);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${process.pid}-${++tmpCounter}`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(value, null, 1));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file(collection, key));
  }

  private async del(collection: Collection, key: string): Promise<void> {
    await rm(this.file(collection, key), { force: true }).catch((err: unknown) => {
      throw storageError(err, `deleting state ${collection}/${key}`);
    });
  }

  transaction<R>(fn: (tx: StateTx) => Promise<R>): Promise<R> {
    // The in-process mutex keeps this process's transactions from racing for the lock file.
    return this.mutex.run(async () => {
      const release = await this.lock();
      try {
        return await fn({
          get: (c, k) => this.get(c, k),
          keys: (c) => this.keys(c),
          list: (c) => this.list(c),
          put: (c, k, v) => this.put(c, k, v),
          delete: (c, k) => this.del(c, k),
        });
      } finally {
        await release();
      }
    });
  }

  private async lock(): Promise<() => Promise<void>> {
    await mkdir(this.root, { recursive: true }).catch((err: unknown) => {
      throw storageError(err, `creating the state directory ${this.root}`);
    });
    const path = join(this.root, 'lock');
    const token = `${process.pid} ${Date.now()} ${Math.random().toString(36).slice(2)}`;
    const deadline = Date.now() + this.timeoutMs;
    let wait = 2;
    for (;;) {
      try {
        await writeFile(path, token, { flag: 'wx' });
        return async () => {
          // Only remove the lock if it is still ours (it may have been broken as stale).
          const now = await readFile(path, 'utf8').catch(() => '');
          if (now === token) await unlink(path).catch(() => {});
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError(err, `locking state ${path}`);
      }
      if (await this.isStale(path)) {
        await unlink(path).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) {
        throw new SkiffError('CONFLICT', `locking state ${path}: still held by another skiff process after ${this.timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      wait = Math.min(wait * 2, 50);
    }
  }

  private async isStale(path: string): Promise<boolean> {
    try {
      const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      const pid = Number(text.split(' ')[0]);
      if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) return true;
      return Date.now() - st.mtimeMs > this.staleMs;
    } catch {
      return false; // vanished or half-written: just retry
    }
  }
}

function storageError(err: unknown, context: string): SkiffError {
  return new SkiffError('STORAGE', `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
