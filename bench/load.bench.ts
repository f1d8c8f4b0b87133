/**
 * What a decompression bomb costs the loading process:
 * - load.bomb_peak_rss_mb: peak RSS of a child process that loads (streaming, into a Node-fs
 *   store) an OCI archive whose one gzip layer is 3 MB and unpacks to three 1 GiB files; the load
 *   is refused at the default per-image budget. Baseline: the same child loading a small image.
 * - load.entries_bomb_peak_rss_mb: the same for a 10 MB gzip layer of one directory holding
 *   1,000,000 empty files (refused at the default per-image entry budget).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metric } from './run.ts';
import { peakRssMb } from './util.ts';

const work = join(tmpdir(), 'skiff-bench-load');
const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

async function writeArchives(): Promise<{ bomb: string; small: string; entries: string }> {
  const { gzipBombTar, gzipManyEntries } = await import('../test/archive/bombs.ts');
  const { buildImage, ociArchive } = await import('../test/engine/fixtures/images.ts');
  const { sha256Digest } = await import('../src/oci/digest.ts');
  mkdirSync(work, { recursive: true });
  const small = buildImage({ layers: [{ files: [{ name: 'a', content: 'x'.repeat(100_000) }], gzip: true }] });
  // The bomb keeps the small image's config: its diff_id is never reached, the budget stops it first.
  const withLayer = (bytes: Uint8Array): typeof small => {
    const m = JSON.parse(new TextDecoder().decode(small.manifest)) as { layers: Array<{ digest: string; size: number }> };
    m.layers[0] = { ...m.layers[0]!, digest: sha256Digest(bytes), size: bytes.byteLength };
    const manifest = new TextEncoder().encode(JSON.stringify(m));
    return { ...small, manifest, manifestDigest: sha256Digest(manifest), layers: [{ ...small.layers[0]!, bytes, digest: sha256Digest(bytes) }] };
  };
  const paths = { bomb: join(work, 'bomb.tar'), small: join(work, 'small.tar'), entries: join(work, 'entries.tar') };
  writeFileSync(paths.bomb, ociArchive([{ image: withLayer(gzipBombTar(3, 2 ** 30)), tags: ['docker.io/bench/bomb:1'] }]));
  writeFileSync(paths.entries, ociArchive([{ image: withLayer(gzipManyEntries(1_000_000)), tags: ['docker.io/bench/entries:1'] }]));
  writeFileSync(paths.small, ociArchive([{ image: small, tags: ['docker.io/bench/small:1'] }]));
  return paths;
}

/** In the child: one load into a fresh home; prints {ok, error, rssMb, ms}. */
async function child(archive: string, home: string): Promise<void> {
  const { openEngine } = await import('../src/node.ts');
  const engine = await openEngine({ home, bundled: false });
  const t0 = performance.now();
  let error: string | undefined;
  try {
    await engine.loadArchive({ stream: createReadStream(archive, { highWaterMark: 1 << 20 }), name: 'bomb.tar' });
  } catch (err) {
    error = (err as Error).message;
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ok: error === undefined, error, ms, rssMb: peakRssMb() }) + '\n');
}

/** The refusal, from the limit on. */
function why(error: string | undefined): string {
  return (error ?? '').replace(/^.*\): /, '').replace(/ \(possible.*$/, '');
}

function loadOnce(archive: string): { ok: boolean; error?: string; ms: number; rssMb: number } {
  const home = join(work, 'home');
  rmSync(home, { recursive: true, force: true });
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--load-child', archive, home], { encoding: 'utf8', cwd: root });
  rmSync(home, { recursive: true, force: true });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

export async function run(): Promise<Record<string, Metric>> {
  const paths = await writeArchives();
  const bomb = loadOnce(paths.bomb);
  const entries = loadOnce(paths.entries);
  const small = loadOnce(paths.small);
  if (bomb.ok) throw new Error('the 3 x 1 GiB bomb loaded: the per-image budget did not stop it');
  if (entries.ok) throw new Error('the 1,000,000-entry layer loaded: the per-image entry budget did not stop it');
  if (!small.ok) throw new Error(`the small image did not load: ${small.error}`);
  rmSync(work, { recursive: true, force: true });
  return {
    'load.bomb_peak_rss_mb': {
      value: Math.round(bomb.rssMb), unit: 'MB', baseline: Math.round(small.rssMb),
      note: `3 MB gzip layer of 3 x 1 GiB files, refused in ${(bomb.ms / 1000).toFixed(1)} s (${why(bomb.error)}); baseline: loading a small image`,
    },
    'load.entries_bomb_peak_rss_mb': {
      value: Math.round(entries.rssMb), unit: 'MB', baseline: Math.round(small.rssMb),
      note: `10 MB gzip layer of one directory with 1,000,000 files, refused in ${(entries.ms / 1000).toFixed(1)} s (${why(entries.error)}); baseline: loading a small image`,
    },
  };
}

if (process.argv[2] === '--load-child') await child(process.argv[3]!, process.argv[4]!);
