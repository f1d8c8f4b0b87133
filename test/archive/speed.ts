/**
 * Import-path speed check (not a vitest file): `npx tsx test/archive/speed.ts [layer.tar.gz]`.
 * Ours: stream gunzip -> tar parse, sha256 over the compressed blob (digest) and the tar (diff_id).
 * `--portable` uses what browsers get (DecompressionStream, pure-JS sha256).
 * Baseline: `tar xzf` into a scratch dir + `sha256sum` of the blob, as subprocesses. Medians of 5.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipStream } from '../../src/archive/compression.ts';
import { readTarStream } from '../../src/archive/tar-reader.ts';
import { useNodeNatives } from '../../src/node-natives.ts';
import { createHasher } from '../../src/oci/digest.ts';

// What every Node process skiff runs has (src/node.ts); `--portable` bypasses it per call.
useNodeNatives();

const scratch = mkdtempSync(join(tmpdir(), 'skiff-speed-'));
const portable = process.argv.includes('--portable');
let file = process.argv.slice(2).find((a) => !a.startsWith('--'));
if (!file) {
  file = join(scratch, 'layer.tar.gz');
  execFileSync('tar', ['czf', file, '-C', '/usr/lib', 'python3.11']);
}
const blob = new Uint8Array(readFileSync(file));

async function ours(): Promise<number> {
  const t = performance.now();
  const digest = createHasher({ portable });
  const diffId = createHasher({ portable });
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < blob.length; i += 1 << 20) {
      const c = blob.subarray(i, i + (1 << 20));
      digest.update(c);
      yield c;
    }
  }
  async function* hashTar(s: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const c of s) {
      diffId.update(c);
      yield c;
    }
  }
  let n = 0;
  for await (const e of readTarStream(hashTar(gunzipStream(source(), { portable })))) n += e.data.length;
  digest.digest();
  diffId.digest();
  return performance.now() - t;
}

function baseline(): number {
  const out = join(scratch, 'x');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  const t = performance.now();
  execFileSync('tar', ['xzf', file!, '-C', out]);
  execFileSync('sha256sum', [file!]);
  return performance.now() - t;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const a: number[] = [];
const b: number[] = [];
for (let i = 0; i < 5; i++) {
  a.push(await ours());
  b.push(baseline());
}
const tarBytes = Number(execFileSync('sh', ['-c', `gzip -dc '${file}' | wc -c`]).toString().trim());
const ms = median(a);
const base = median(b);
console.log(JSON.stringify({
  layer: file, portable, compressedBytes: blob.length, tarBytes,
  oursMs: Math.round(ms), baselineMs: Math.round(base),
  oursMBps: Math.round(tarBytes / 1e6 / (ms / 1000)), speedVsBaseline: Number((base / ms).toFixed(2)),
}));
rmSync(scratch, { recursive: true, force: true });
