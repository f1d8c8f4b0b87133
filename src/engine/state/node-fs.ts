/**
 * State documents as files: <root>/<collection>/<encoded key>.json. A reader sees the old or the
 * new document, never half of one (each is written to a temp file and renamed into place).
 *
 * Transactions hold the lock in <root>/locks (dir-lock.ts: sound across processes, a dead or
 * pid-reused holder is taken over at once). Their writes are staged as fsynced temp files and land
 * together at the end: with more than one, an intent file listing the renames is made durable
 * first, so a process killed half-way through is finished by the next lock holder (roll forward)
 * and a crash never leaves half a transaction. Directories are fsynced after the renames.
 */
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SkiffError } from '../../errors.ts';
import { fsyncDir } from '../../util/fsync-dir.ts';
import { DirLock } from './dir-lock.ts';
import { decodeKey, encodeKey, listByKeys, Mutex, COLLECTIONS, type Collection, type StateStore, type StateTx } from './store.ts';

export interface NodeFsStateOptions {
  /** Directory holding the documents (e.g. $SKIFF_HOME/state). */
  root: string;
  /** Where a holder cannot be identified by start time (no /proc): a lock older than this (default 10 min) is taken as hung. */
  staleMs?: number;
  /** Give up waiting for the lock after this long. */
  timeoutMs?: number;
}

/** One staged change: the final file and its new content's temp file (null: delete). */
interface Staged {
  file: string;
  tmp: string | null;
  text: string | null;
}

let tmpCounter = 0;

export class NodeFsStateStore implements StateStore {
  readonly kind = 'node-fs' as const;
  readonly root: string;
  private readonly timeoutMs: number;
  private readonly mutex = new Mutex();
  private readonly lockDir: DirLock;
  private swept = false;

  constructor(options: NodeFsStateOptions) {
    this.root = options.root;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.lockDir = new DirLock({ dir: join(this.root, 'locks'), what: 'state', ...(options.staleMs !== undefined ? { staleMs: options.staleMs } : {}) });
  }

  private file(c: Collection, key: string): string {
    return join(this.root, c, encodeKey(key) + '.json');
  }

  private get intentPath(): string {
    return join(this.root, 'locks', 'intent.json');
  }

  async get<T>(collection: Collection, key: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(collection, key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storageError(err, `reading state ${collection}/${key}`);
    }
    return parse<T>(text, `${collection}/${key}`);
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

  transaction<R>(fn: (tx: StateTx) => Promise<R>): Promise<R> {
    // The in-process mutex keeps this process's transactions from racing for the lock file.
    return this.mutex.run(async () => {
      let held;
      try {
        await mkdir(this.root, { recursive: true });
        held = await this.lockDir.acquire(this.timeoutMs);
        await this.recover();
      } catch (err) {
        if (held) await held.release().catch(() => {});
        throw err instanceof SkiffError ? err : storageError(err, `locking state ${this.root}`);
      }
      const staged = new Map<string, Staged>();
      const tx: StateTx = {
        get: async <T>(c: Collection, k: string) => {
          const s = staged.get(this.file(c, k));
          if (s) return s.text === null ? undefined : parse<T>(s.text, `${c}/${k}`);
          return this.get<T>(c, k);
        },
        keys: async (c) => {
          const set = new Set(await this.keys(c));
          const dir = join(this.root, c);
          for (const s of staged.values()) {
            if (dirname(s.file) !== dir) continue;
            const k = decodeKey(s.file.slice(dir.length + 1, -5));
            if (s.text === null) set.delete(k);
            else set.add(k);
          }
          return [...set].sort();
        },
        list: (c) => listByKeys(tx, c),
        put: async (c, k, v) => {
          const file = this.file(c, k);
          try {
            await this.dropStaged(staged.get(file));
            const text = JSON.stringify(v, null, 1);
            staged.set(file, { file, tmp: await this.stage(dirname(file), text), text });
          } catch (err) {
            throw storageError(err, `writing state ${c}/${k}`);
          }
        },
        delete: async (c, k) => {
          const file = this.file(c, k);
          await this.dropStaged(staged.get(file));
          staged.set(file, { file, tmp: null, text: null });
        },
      };
      try {
        // As before the staging: what a transaction wrote before a throw is kept.
        try {
          return await fn(tx);
        } finally {
          await this.land([...staged.values()]);
        }
      } finally {
        await held.release().catch(() => {});
      }
    });
  }

  /** Stray temp files of killed writers, and a half-landed transaction. Run holding the lock. */
  private async recover(): Promise<void> {
    let intent: Staged[] | null = null;
    try {
      intent = JSON.parse(await readFile(this.intentPath, 'utf8')) as Staged[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') intent = null; // torn: its renames never started
    }
    if (intent) await this.apply(intent);
    await rm(this.intentPath, { force: true });
    if (this.swept && !intent) return;
    this.swept = true;
    // Holding the lock, every temp file in the collections is a dead writer's.
    for (const c of COLLECTIONS) {
      const dir = join(this.root, c);
      for (const n of await readdir(dir).catch(() => [] as string[])) if (n.startsWith('.tmp-')) await rm(join(dir, n), { force: true });
    }
    await this.lockDir.sweep();
  }

  private async stage(dir: string, text: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${process.pid}-${++tmpCounter}`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  private async dropStaged(s: Staged | undefined): Promise<void> {
    if (s?.tmp) await rm(s.tmp, { force: true });
  }

  /** Makes the staged changes real: through a durable intent when there is more than one. */
  private async land(staged: Staged[]): Promise<void> {
    if (staged.length === 0) return;
    const ops = staged.map(({ file, tmp }) => ({ file, tmp, text: null }));
    try {
      if (ops.length > 1) {
        const tmp = await this.stage(join(this.root, 'locks'), JSON.stringify(ops));
        await rename(tmp, this.intentPath);
        await fsyncDir(join(this.root, 'locks'));
      }
      await this.apply(ops);
      if (ops.length > 1) await unlink(this.intentPath);
    } catch (err) {
      throw storageError(err, `committing state in ${this.root}`);
    }
  }

  private async apply(ops: Staged[]): Promise<void> {
    const dirs = new Set<string>();
    for (const op of ops) {
      if (op.tmp) {
        // Missing temp file: this rename already happened before a crash.
        try {
          await rename(op.tmp, op.file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      } else await rm(op.file, { force: true });
      dirs.add(dirname(op.file));
    }
    for (const d of dirs) await fsyncDir(d).catch(() => {});
  }
}

function parse<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new SkiffError('STORAGE', `reading state ${what}: corrupt JSON document`, { cause: err });
  }
}

function storageError(err: unknown, context: string): SkiffError {
  return new SkiffError('STORAGE', `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

