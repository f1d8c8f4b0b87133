/**
 * The bundled wasm images (vm-images/images/dist/*.tar, OCI archives built from Debian sources) run
 * on this backend end to end, without the engine: layers unpacked into an overlay, backend chosen
 * by isWasiImage, the container started through WasiRuntime with the image config.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decompress } from '../../../src/archive/compression.ts';
import { readTar } from '../../../src/archive/tar-reader.ts';
import { applyLayer, type LayerTree } from '../../../src/fs/layer.ts';
import { Overlay } from '../../../src/fs/overlay.ts';
import type { FileSystem } from '../../../src/fs/types.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { detectWasiImage, WasiRuntime } from '../../../src/runtime/wasi/index.ts';
import { nodeWasiSpawn } from '../../../src/node.ts';
import type { ImageManifest } from '../../../src/oci/manifest.ts';

const dist = fileURLToPath(new URL('../../../vm-images/images/dist/', import.meta.url));
const dec = new TextDecoder();

interface Loaded {
  lower: LayerTree;
  config: { os: string; architecture: string; config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[] } };
  manifest: ImageManifest;
}

async function loadArchive(name: string): Promise<Loaded> {
  const files = new Map(readTar(new Uint8Array(readFileSync(`${dist}${name}.tar`))).map((e) => [e.header.name, e.data]));
  const blob = (digest: string) => files.get(`blobs/sha256/${digest.slice('sha256:'.length)}`)!;
  const index = JSON.parse(dec.decode(files.get('index.json'))) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(dec.decode(blob(index.manifests[0]!.digest))) as ImageManifest;
  const config = JSON.parse(dec.decode(blob(manifest.config.digest))) as Loaded['config'];
  let lower: LayerTree | null = null;
  for (const l of manifest.layers) lower = applyLayer(lower, readTar(await decompress(blob(l.digest))));
  return { lower: lower!, config, manifest };
}

async function run(img: Loaded, cmd: string[], volumes: { destination: string; fs: FileSystem }[] = [], stdin?: string) {
  const rt = new WasiRuntime({ spawn: nodeWasiSpawn() });
  const out: string[] = [];
  const err: string[] = [];
  const proc = await rt.start({
    id: 'f'.repeat(64), rootfs: new Overlay({ lower: img.lower }),
    spec: resolveContainerSpec({ id: 'f'.repeat(64), image: img.config.config ?? {}, run: { ...(cmd.length ? { cmd } : {}), interactive: stdin !== undefined } }),
    volumes: volumes.map((v) => ({ source: 'vol', readOnly: false, ...v })),
    io: { onStdout: (d) => out.push(dec.decode(d)), onStderr: (d) => err.push(dec.decode(d)) },
  });
  if (stdin !== undefined) {
    proc.writeStdin(new TextEncoder().encode(stdin));
    proc.closeStdin();
  }
  const status = await proc.wait();
  return { ...status, stdout: out.join(''), stderr: err.join('') };
}

describe('bundled wasm images', () => {
  it('skiff/hello-wasm', async () => {
    const img = await loadArchive('hello-wasm');
    expect(detectWasiImage(img.config, img.manifest)?.kind).toBe('platform');
    const r = await run(img, []);
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    expect(r.stdout).toContain('Hello from WebAssembly!');
  });

  it('skiff/lua-wasm: files, rename, clock', async () => {
    const img = await loadArchive('lua-wasm');
    expect(detectWasiImage(img.config, img.manifest)).not.toBeNull();
    const script = 'local f = assert(io.open("/t.txt", "w")); f:write("hi"); f:close(); assert(os.rename("/t.txt", "/u.txt")); print(io.open("/u.txt"):read("a"), io.open("/t.txt") == nil, os.time() > 1.7e9)';
    const r = await run(img, ['-e', script]);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hi\ttrue\ttrue\n' });
    const bad = await run(img, ['-e', 'error("boom")']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('boom');
  });

  it('skiff/sqlite-wasm: a database on a volume outlives the container', async () => {
    const img = await loadArchive('sqlite-wasm');
    const vol = new Overlay({ lower: null });
    const a = await run(img, ['/data/app.db'], [{ destination: '/data', fs: vol }], 'create table t(x text); insert into t values (\'one\'), (\'two\');\n');
    expect(a).toMatchObject({ exitCode: 0, stderr: '' });
    const b = await run(img, ['/data/app.db', 'select group_concat(x, \'+\') from t;'], [{ destination: '/data', fs: vol }]);
    expect(b).toMatchObject({ exitCode: 0, stdout: 'one+two\n' });
    expect(vol.readdir(vol.root()).map((e) => e.name)).toContain('app.db');
  });
});
