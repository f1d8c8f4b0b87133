/**
 * The big-image fixture (test/fixtures/make-debian-image.sh): a ~200 MB Debian bookworm i386
 * rootfs, built once from Debian's packages and cached outside the repo. `bigImagePath()` builds
 * it when missing (minutes, needs the mirror) and returns null when it cannot; `importBigImage`
 * puts it into an engine's store under BIG_IMAGE (once per store).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../../src/engine/engine.ts';

export const BIG_IMAGE = 'skiff-fixtures/debian:bookworm-i386';
const SCRIPT = fileURLToPath(new URL('../fixtures/make-debian-image.sh', import.meta.url));

export function bigImageDir(): string {
  return process.env.SKIFF_FIXTURES ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'skiff', 'fixtures');
}

/** The fixture's tarball, built if missing; null when it is missing and cannot be built here. */
export function bigImagePath(opts: { build?: boolean } = {}): string | null {
  const path = join(bigImageDir(), 'debian-bookworm-i386.tar.gz');
  if (existsSync(path)) return path;
  if (opts.build === false) return null;
  try {
    execFileSync('bash', [SCRIPT, bigImageDir()], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    return null;
  }
  return existsSync(path) ? path : null;
}

/** Imports the fixture into `engine`'s store as BIG_IMAGE unless it is there; false without the fixture. */
export async function importBigImage(engine: Engine, opts: { build?: boolean } = {}): Promise<boolean> {
  if (await engine.inspectImage({ ref: BIG_IMAGE }).then(() => true, () => false)) return true;
  const path = bigImagePath(opts);
  if (!path) return false;
  await engine.importImage({
    data: new Uint8Array(readFileSync(path)), name: 'debian-bookworm-i386.tar.gz', ref: BIG_IMAGE,
    changes: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
  });
  return true;
}
