/**
 * Import throughput of a large multi-layer image:
 * - import.mbps: `Engine.loadArchive` streaming an OCI archive from disk into a Node-fs store
 *   (every blob and diff_id verified, every layer's structure checked, blobs written), in MB/s of
 *   uncompressed layer bytes; run in a child process, median of 3.
 * - import.native_mbps: `sha256sum` + `tar xzf` of the same layer blobs, same run, median of 3.
 * - import.peak_rss_mb: the import child's peak RSS (its baseline: the archive's size in MB).
 * The fixture (~240 MB uncompressed, 4 gzip layers of files copied from /usr/lib) is built once
 * and cached in $TMPDIR/skiff-bench-import.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Metric } from './run.ts';
import { median, peakRssMb, writeOciImage } from './util.ts';

const FIXTURE_VERSION = 'v1';
const LAYERS = 4;
const LAYER_BYTES = 60e6;
const work = join(tmpdir(), 'skiff-bench-import');
const fixtureDir = join(work, FIXTURE_VERSION);
const archivePath = join(fixtureDir, 'image.tar');
const self = fileURLToPath(import.meta.url);

function listFiles(root: string, out: string[], limit: number, acc = { bytes: 0 }): void {
  let names: string[];
  try { names = readdirSync(root).sort(); } catch { return; }
  for (const n of names) {
    if (acc.bytes >= limit) return;
    const p = join(root, n);
    let st;
    try { st = statSync(p, { throwIfNoEntry: false }); } catch { continue; }
    if (!st) continue;
    if (st.isDirectory()) listFiles(p, out, limit, acc);
    else if (st.isFile() && st.size < 30e6) { out.push(p); acc.bytes += st.size; }
  }
}

async function buildFixture(): Promise<{ uncompressed: number; blobs: string[] }> {
  const meta = join(fixtureDir, 'meta.json');
  if (existsSync(meta) && existsSync(archivePath)) return JSON.parse(readFileSync(meta, 'utf8'));
  const { TarWriter } = await import('../src/archive/index.ts');
  rmSync(fixtureDir, { recursive: true, force: true });
  const layout = join(fixtureDir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const files: string[] = [];
  listFiles('/usr/lib', files, LAYERS * LAYER_BYTES);
  const layers: Array<{ digest: string; diffId: string; size: number }> = [];
  let uncompressed = 0;
  const per = Math.ceil(files.length / LAYERS);
  for (let l = 0; l < LAYERS; l++) {
    const chunk = files.slice(l * per, (l + 1) * per);
    const tmp = join(fixtureDir, `layer${l}.tar.gz`);
    const diff = createHash('sha256');
    let size = 0;
    async function* tarChunks(): AsyncGenerator<Uint8Array> {
      const w = new TarWriter();
      const dirs = new Set<string>();
      for (const f of chunk) {
        const rel = `layer${l}${f}`;
        const parts = rel.split('/');
        for (let i = 1; i < parts.length; i++) {
          const d = parts.slice(0, i).join('/') + '/';
          if (dirs.has(d)) continue;
          dirs.add(d);
          for (const b of w.add({ header: { name: d, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1767225600, linkname: '', devmajor: 0, devminor: 0 }, data: new Uint8Array() })) yield b;
        }
        const data = new Uint8Array(readFileSync(f));
        for (const b of w.add({ header: { name: rel, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 1767225600, linkname: '', devmajor: 0, devminor: 0 }, data })) yield b;
      }
      yield w.finish();
    }
    async function* hashed(): AsyncGenerator<Uint8Array> {
      for await (const c of tarChunks()) { diff.update(c); size += c.byteLength; yield c; }
    }
    await pipeline(Readable.from(hashed()), createGzip({ level: 6 }), createWriteStream(tmp));
    const gz = readFileSync(tmp);
    const digest = `sha256:${createHash('sha256').update(gz).digest('hex')}`;
    writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), gz);
    rmSync(tmp);
    layers.push({ digest, diffId: `sha256:${diff.digest('hex')}`, size: gz.length });
    uncompressed += size;
  }
  writeOciImage(layout, layers, { 'io.containerd.image.name': 'docker.io/bench/big:latest' });
  execFileSync('tar', ['-C', layout, '-cf', archivePath, '.']);
  const blobs = layers.map((l) => join(layout, 'blobs', 'sha256', l.digest.slice(7)));
  const m = { uncompressed, blobs };
  writeFileSync(meta, JSON.stringify(m));
  return m;
}

/** In the child: one import into a fresh home; prints {ms, rssMb}. */
async function child(archive: string, home: string): Promise<void> {
  const { openEngine } = await import('../src/node.ts');
  const engine = await openEngine({ home, bundled: false });
  const t0 = performance.now();
  await engine.loadArchive({ stream: createReadStream(archive, { highWaterMark: 1 << 20 }), name: 'image.tar' });
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, rssMb: peakRssMb() }) + '\n');
}

function importOnce(): { ms: number; rssMb: number } {
  const home = join(work, 'home');
  rmSync(home, { recursive: true, force: true });
  const outText = execFileSync(process.execPath, ['--import', 'tsx', self, '--import-child', archivePath, home], { encoding: 'utf8', cwd: join(fileURLToPath(new URL('..', import.meta.url))) });
  rmSync(home, { recursive: true, force: true });
  return JSON.parse(outText.trim().split('\n').at(-1)!);
}

function nativeOnce(blobs: string[]): number {
  const dest = join(work, 'native');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const t0 = performance.now();
  execFileSync('bash', ['-c', 'set -e; d=$1; shift; for f in "$@"; do sha256sum "$f" >/dev/null; tar xzf "$f" -C "$d"; done; sync', 'native', dest, ...blobs]);
  const ms = performance.now() - t0;
  rmSync(dest, { recursive: true, force: true });
  return ms;
}

export async function run(): Promise<Record<string, Metric>> {
  const { uncompressed, blobs } = await buildFixture();
  const mb = uncompressed / 1e6;
  const ours: Array<{ ms: number; rssMb: number }> = [];
  const native: number[] = [];
  for (let i = 0; i < 3; i++) {
    ours.push(importOnce());
    native.push(nativeOnce(blobs));
  }
  const oursMs = median(ours.map((o) => o.ms));
  const nativeMs = median(native);
  const archiveMb = statSync(archivePath).size / 1e6;
  const note = `${LAYERS} gzip layers, ${mb.toFixed(0)} MB uncompressed, ${archiveMb.toFixed(0)} MB archive`;
  return {
    'import.mbps': { value: Number((mb / (oursMs / 1000)).toFixed(1)), unit: 'MB/s', baseline: Number((mb / (nativeMs / 1000)).toFixed(1)), note },
    'import.native_mbps': { value: Number((mb / (nativeMs / 1000)).toFixed(1)), unit: 'MB/s', note: 'sha256sum + tar xzf of the same layer blobs' },
    'import.peak_rss_mb': { value: Math.round(Math.max(...ours.map((o) => o.rssMb))), unit: 'MB', baseline: Math.round(archiveMb), note: 'baseline: the archive size' },
  };
}

if (process.argv.includes('--import-child')) {
  const i = process.argv.indexOf('--import-child');
  await child(process.argv[i + 1]!, process.argv[i + 2]!);
}
