/**
 * Registry throughput against Debian's docker-registry on loopback, each side by side with skopeo
 * in the same run (median of 5, the two sides alternating which goes first):
 * - pull.mbps: `Engine.pullImage` of a 4-layer ~100 MB image into an empty Node-fs store (every
 *   blob verified as it streams, every layer checked as `load` checks it), in MB/s of blob bytes;
 *   baseline: `skopeo copy docker://... oci:DIR` of the same image into an empty layout.
 * - push.mbps: `Engine.pushImage` of that image to a registry started empty for that one push
 *   (nothing to mount or skip); baseline: `skopeo copy oci:DIR docker://...` the same way. Before,
 *   both pushed to new repositories of one long-lived registry, and skopeo (as root its blob-info
 *   cache ignores $HOME) mounted the blobs its earlier runs had pushed: 2 of 3 runs uploaded nothing.
 * - pull.peak_rss_mb: the pulling child's peak RSS for an image of one 100 MB layer; baseline: the
 *   same for the 4 x 25 MB image (memory must not grow with the layer size).
 * The fixture (4 layers of 25 MB of incompressible data, gzip) is built once in $TMPDIR.
 *
 * Measured 2026-12-05, alternating the pull of before this work (6fb0549), the pull now, and skopeo,
 * load 12 on 2 cores: 41 / 73 / 208 MB/s (now with its layer data, made in the background after: 45);
 * at load 4: ~0.45 s / 0.30 s for skiff / skopeo (0.65-0.7x). CPU per pull: skiff 0.68 s (before
 * 1.13 s), skopeo 0.26 s: skiff decompresses and hashes every layer twice over (blob digest and
 * diff_id, the check `load` makes) where skopeo hashes once and does not decompress. Peak RSS of a
 * one-layer 100 MB pull: before 229-235 MB (the layer read back whole), now 154-156 MB, below the
 * 4 x 25 MB pull's. Push: 1.2-1.9x skopeo once skopeo's pushes upload too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metric } from './run.ts';
import { loadNote, median, peakRssMb, writeOciImage } from './util.ts';

const LAYERS = 4;
const LAYER_BYTES = 25e6;
const work = join(tmpdir(), 'skiff-bench-registry');
const layout = join(work, 'layout-v1');
/** One layer as big as the four together: the pull's memory must not follow it. */
const oneLayout = join(work, 'layout-one-v1');
const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function buildFixture(dir = layout, layerCount = LAYERS, layerBytes = LAYER_BYTES): { bytes: number; largest: number } {
  const meta = join(dir, 'meta.json');
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const layers: Array<{ digest: string; size: number; diffId: string }> = [];
  for (let i = 0; i < layerCount; i++) {
    const tmp = mkdtempSync(join(work, 'layer-'));
    writeFileSync(join(tmp, `data${i}.bin`), randomBytes(layerBytes));
    execFileSync('tar', ['--owner=0', '--group=0', '--mtime=@0', '-C', tmp, '-cf', join(tmp, 'l.tar'), `data${i}.bin`]);
    const diffId = sha(readFileSync(join(tmp, 'l.tar')));
    execFileSync('gzip', ['-1', '-n', join(tmp, 'l.tar')]);
    const gz = readFileSync(join(tmp, 'l.tar.gz'));
    const digest = sha(gz);
    writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), gz);
    layers.push({ digest, size: gz.length, diffId });
    rmSync(tmp, { recursive: true, force: true });
  }
  const { config, manifest } = writeOciImage(dir, layers, { 'org.opencontainers.image.ref.name': 'latest' });
  const m = { bytes: layers.reduce((n, l) => n + l.size, 0) + config.size + manifest.size, largest: Math.max(...layers.map((l) => l.size)) };
  writeFileSync(meta, JSON.stringify(m));
  return m;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}

async function startRegistry(): Promise<{ host: string; stop(): void }> {
  const dir = mkdtempSync(join(work, 'reg-'));
  const port = await freePort();
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${dir}/data}}\nhttp: {addr: 127.0.0.1:${port}}\n`);
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `127.0.0.1:${port}`, stop: () => { proc.kill(); rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * skopeo with an empty $HOME. As root its blob-info cache is /var/lib/containers/cache whatever
 * $HOME says, and it mounts blobs it saw in another repository of the same registry: so every
 * push below goes to a registry started for it (fresh storage, new port: nothing to mount or skip).
 */
function timed(cmd: string, args: string[]): number {
  const home = mkdtempSync(join(work, 'skopeo-home-'));
  const t0 = performance.now();
  execFileSync(cmd, args, { stdio: 'ignore', env: { ...process.env, HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache') } });
  rmSync(home, { recursive: true, force: true });
  return performance.now() - t0;
}

/** In the child: pull or push once; prints {ms, rssMb}. */
async function child(op: string, ref: string, home: string, target?: string): Promise<void> {
  const { openEngine } = await import('../src/node.ts');
  const engine = await openEngine({ home, bundled: false });
  if (op === 'push') await engine.tag({ source: ref, target: target! });
  const t0 = performance.now();
  if (op === 'pull') await engine.pullImage({ ref });
  else await engine.pushImage({ ref: target! });
  const ms = performance.now() - t0;
  // A pull's layer data (issue 15's uncompressed copies) is made in the background; the CLI
  // waits for it before it exits, as shutdown does here.
  await engine.shutdown();
  const allMs = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, allMs, rssMb: peakRssMb() }) + '\n');
}

function inChild(args: string[]): { ms: number; allMs: number; rssMb: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--registry-child', ...args], { encoding: 'utf8', cwd: root });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/** A registry with nothing in it for one push. */
async function freshPush(push: (host: string) => number): Promise<number> {
  const dst = await startRegistry();
  try {
    return push(dst.host);
  } finally {
    dst.stop();
  }
}

const RUNS = 5;

export async function run(): Promise<Record<string, Metric>> {
  mkdirSync(work, { recursive: true });
  const { bytes, largest } = buildFixture();
  const src = await startRegistry();
  try {
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${src.host}/bench/big:latest`]);
    const one = buildFixture(oneLayout, 1, LAYERS * LAYER_BYTES);
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${oneLayout}:latest`, `docker://${src.host}/bench/one:latest`]);
    const onePulls: number[] = [];
    const pulls: Array<{ ms: number; allMs: number; rssMb: number }> = [];
    const skopeoPulls: number[] = [];
    const pushes: number[] = [];
    const skopeoPushes: number[] = [];
    const home = join(work, 'home');
    const out = join(work, 'skopeo-out');
    // Alternated: skiff first in even runs, skopeo first in odd ones. Each pull starts from an
    // empty store / directory, each push goes to a registry of its own.
    for (let i = 0; i < RUNS; i++) {
      const skiffPull = (): void => {
        rmSync(home, { recursive: true, force: true });
        pulls.push(inChild(['pull', `${src.host}/bench/big:latest`, home]));
      };
      const skopeoPull = (): void => {
        rmSync(out, { recursive: true, force: true });
        skopeoPulls.push(timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${src.host}/bench/big:latest`, `oci:${out}:latest`]));
        rmSync(out, { recursive: true, force: true });
      };
      const skiffPush = async (): Promise<void> => {
        pushes.push(await freshPush((host) => inChild(['push', `${src.host}/bench/big:latest`, home, `${host}/bench/skiff:latest`]).ms));
      };
      const skopeoPush = async (): Promise<void> => {
        skopeoPushes.push(await freshPush((host) => timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${host}/bench/skopeo:latest`])));
      };
      // The push reads the store the pull just filled.
      if (i % 2 === 0) { skiffPull(); skopeoPull(); await skiffPush(); await skopeoPush(); }
      else { skopeoPull(); skiffPull(); await skopeoPush(); await skiffPush(); }
      if (i < 3) {
        rmSync(home, { recursive: true, force: true });
        onePulls.push(inChild(['pull', `${src.host}/bench/one:latest`, home]).rssMb);
      }
    }
    rmSync(home, { recursive: true, force: true });
    const mb = bytes / 1e6;
    const rate = (ms: number): number => Number((mb / (ms / 1000)).toFixed(1));
    const list = (xs: number[]): string => xs.map((x) => rate(x)).join(', ');
    const note = `${LAYERS} gzip layers, ${mb.toFixed(0)} MB of blobs, loopback docker-registry, median of ${RUNS} alternated runs`;
    return {
      'pull.mbps': { value: rate(median(pulls.map((p) => p.ms))), unit: 'MB/s', baseline: rate(median(skopeoPulls)), note: `${note}, each into an empty store: skiff ${list(pulls.map((p) => p.ms))} (until the image is stored, every layer verified; with its layer data, made in the background after: ${list(pulls.map((p) => p.allMs))}, median ${rate(median(pulls.map((p) => p.allMs)))}); baseline skopeo copy to an empty OCI layout ${list(skopeoPulls)}; ${loadNote()}` },
      'push.mbps': { value: rate(median(pushes)), unit: 'MB/s', baseline: rate(median(skopeoPushes)), note: `${note}, each to a registry started empty for it (nothing to skip or mount): skiff ${list(pushes)}; baseline skopeo copy from an OCI layout ${list(skopeoPushes)}; ${loadNote()}` },
      'pull.peak_rss_mb': {
        value: Math.round(median(onePulls)), unit: 'MB', baseline: Math.round(median(pulls.map((p) => p.rssMb))),
        note: `peak RSS of the pulling process (engine, Node and tsx included) for one ${Math.round(one.largest / 1e6)} MB layer (${onePulls.map(Math.round).join(', ')}), median of 3; baseline: the same for the ${LAYERS} layers of ${Math.round(largest / 1e6)} MB (${pulls.map((p) => Math.round(p.rssMb)).join(', ')}): memory does not follow the layer size`,
      },
    };
  } finally {
    src.stop();
  }
}

if (process.argv.includes('--registry-child')) {
  const i = process.argv.indexOf('--registry-child');
  await child(process.argv[i + 1]!, process.argv[i + 2]!, process.argv[i + 3]!, process.argv[i + 4]);
}
