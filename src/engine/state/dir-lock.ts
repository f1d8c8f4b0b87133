/**
 * A cross-process lock on a Node filesystem without flock (Node 20 has none): a directory of
 * numbered lock files `lock.<n>`. The holder is whoever created the highest number; that file
 * names it (pid + start time, see process-identity.ts) until its release rewrites it as `free`.
 *
 * Why numbered files instead of one `lock` file: breaking a dead holder's lock by unlinking it
 * removes whatever lock is there *now*, which may already be a live process's, and two holders
 * follow. Here nothing breaks a lock by removing it. A contender that finds the highest file free
 * or naming a dead process creates the next number with link(2), which fails if it exists, so of
 * all contenders that saw the same state exactly one wins. The winner then lists again: a number
 * above its own means it raced with a slow contender's stale view and it backs off. The highest
 * file is never removed (only lower ones, by the holder), so that check cannot be fooled.
 *
 * A lock file is written under a unique temporary name and linked into place, so nobody ever
 * reads a half-written one.
 */
import { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError } from '../../errors.ts';
import { formatIdentity, identityAlive, parseIdentity, selfIdentity, type ProcessIdentity } from '../../util/process-identity.ts';

export interface DirLockOptions {
  /** Directory holding the lock files (created on first use). */
  dir: string;
  /** Named in errors, e.g. "state" or "volume data". */
  what: string;
  /**
   * Only where a holder cannot be identified by start time (no /proc): a lock older than this is
   * taken as hung and broken (default 10 min).
   */
  staleMs?: number;
}

export interface HeldLock {
  readonly index: number;
  /** Marks the lock free; a no-op when it was already released. */
  release(): Promise<void>;
}

const FREE = 'free';
const NAME = /^lock\.(\d+)$/;
let unique = 0;

export class DirLock {
  readonly dir: string;
  private readonly what: string;
  private readonly staleMs: number;

  constructor(o: DirLockOptions) {
    this.dir = o.dir;
    this.what = o.what;
    this.staleMs = o.staleMs ?? 600_000;
  }

  /** Waits for the lock; CONFLICT naming the holder after `timeoutMs`. */
  async acquire(timeoutMs: number): Promise<HeldLock> {
    const deadline = Date.now() + timeoutMs;
    let wait = 2;
    for (;;) {
      const got = await this.tryAcquire();
      if ('release' in got) return got;
      if (Date.now() > deadline) {
        const by = got.holder ? ` (pid ${got.holder.pid})` : '';
        throw new SkiffError('CONFLICT', `locking ${this.what} ${this.dir}: still held by another skiff process${by} after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      wait = Math.min(wait * 2, 50);
    }
  }

  /** One attempt: the lock, or who holds it (null: lost a race, try again at once). */
  async tryAcquire(): Promise<HeldLock | { holder: ProcessIdentity | null }> {
    await mkdir(this.dir, { recursive: true });
    const top = await this.highest();
    if (top) {
      const holder = await this.liveHolder(top);
      if (holder === undefined) return { holder: null }; // vanished under us
      if (holder) return { holder };
    }
    const mine = (top?.index ?? 0) + 1;
    const path = this.file(mine);
    const tmp = join(this.dir, `.tmp-${process.pid}-${++unique}-${Math.random().toString(36).slice(2)}`);
    await writeFile(tmp, `${formatIdentity(selfIdentity())} ${Date.now()}\n`);
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { holder: null };
      throw err;
    } finally {
      await unlink(tmp).catch(() => {});
    }
    // Re-verify: a contender working from an old listing may have linked a number below the
    // real top; whoever is not the highest backs off.
    const now = await this.indices();
    if (now.some((i) => i > mine)) {
      await unlink(path).catch(() => {});
      return { holder: null };
    }
    for (const i of now) if (i < mine) await unlink(this.file(i)).catch(() => {});
    let released = false;
    return {
      index: mine,
      release: async () => {
        if (released) return;
        released = true;
        const t = join(this.dir, `.tmp-${process.pid}-${++unique}-free`);
        await writeFile(t, FREE);
        await rename(t, path);
      },
    };
  }

  /** Whether someone alive holds the lock now (for messages, and for owners refusing a second opener). */
  async holder(): Promise<ProcessIdentity | null> {
    const top = await this.highest().catch(() => null);
    return top ? ((await this.liveHolder(top)) ?? null) : null;
  }

  /** Temporary files of contenders that died between write and link. */
  async sweep(olderThanMs = 60_000): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const n of names) {
      if (!n.startsWith('.tmp-')) continue;
      const p = join(this.dir, n);
      const st = await stat(p).catch(() => null);
      if (st && Date.now() - st.mtimeMs > olderThanMs) await unlink(p).catch(() => {});
    }
  }

  private file(i: number): string {
    return join(this.dir, `lock.${i}`);
  }

  private async indices(): Promise<number[]> {
    const out: number[] = [];
    for (const n of await readdir(this.dir)) {
      const m = NAME.exec(n);
      if (m) out.push(Number(m[1]));
    }
    return out;
  }

  private async highest(): Promise<{ index: number } | null> {
    const all = await this.indices();
    return all.length ? { index: Math.max(...all) } : null;
  }

  /** The live holder named by lock file `top`; null when free or stale; undefined when it vanished. */
  private async liveHolder(top: { index: number }): Promise<ProcessIdentity | null | undefined> {
    const path = this.file(top.index);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (text === FREE) return null;
    const id = parseIdentity(text);
    if (!id || !identityAlive(id)) return null;
    if (id.start === '') {
      const st = await stat(path).catch(() => null);
      if (st && Date.now() - st.mtimeMs > this.staleMs) return null;
    }
    return id;
  }
}
