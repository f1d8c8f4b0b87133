/**
 * Snapshots as files: $SKIFF_HOME/vm/snapshots, else $XDG_CACHE_HOME/skiff or ~/.cache/skiff.
 * Putting a state drops the other states there (older kernels, v86 versions, snapshot formats:
 * megabytes each that nothing would ask for again) and temporary files a dead writer left.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SkiffError } from '../../errors.ts';
import type { VmSnapshotStore } from './snapshot-store.ts';

export function defaultSnapshotDir(env: Record<string, string | undefined> = process.env): string {
  if (env.SKIFF_HOME) return join(env.SKIFF_HOME, 'vm', 'snapshots');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'skiff', 'vm', 'snapshots');
}

export function nodeSnapshots(dir: string = defaultSnapshotDir()): VmSnapshotStore {
  const file = (key: string) => {
    if (!/^[\w.-]+$/.test(key)) throw new SkiffError('INVALID_ARGUMENT', `bad snapshot key ${JSON.stringify(key)}`);
    return join(dir, `${key}.state`);
  };
  return {
    async get(key) {
      try {
        const b = await readFile(file(key));
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new SkiffError('STORAGE', `reading snapshot ${file(key)}: ${(err as Error).message}`, { cause: err });
      }
    },
    async put(key, state) {
      await mkdir(dir, { recursive: true });
      // Write, fsync, rename, fsync the directory: a crash leaves the old state or the new one under
      // the real name, never a truncated one (the seal would catch it, at the price of a cold boot).
      const tmp = `${file(key)}.${process.pid}.tmp`;
      try {
        const fh = await open(tmp, 'w', 0o600);
        try {
          await fh.writeFile(new Uint8Array(state));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, file(key));
      } catch (err) {
        await rm(tmp, { force: true });
        throw new SkiffError('STORAGE', `saving snapshot ${file(key)}: ${(err as Error).message}`, { cause: err });
      }
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
      await sweep(dir, `${key}.state`);
    },
    async delete(key) {
      await rm(file(key), { force: true });
    },
  };
}

/** An hour: far longer than a write of a state takes, so a temporary file this old has no writer. */
const STALE_TMP_MS = 3600_000;

async function sweep(dir: string, keep: string): Promise<void> {
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (f === keep) continue;
    const path = join(dir, f);
    if (f.endsWith('.state')) {
      await rm(path, { force: true });
    } else if (f.endsWith('.tmp')) {
      const st = await stat(path).catch(() => null);
      if (st && Date.now() - st.mtimeMs > STALE_TMP_MS) await rm(path, { force: true });
    }
  }
}
