/**
 * CNCF Wasm artifact images (config application/vnd.wasm.config.v0+json, one application/wasm
 * layer that is the module itself) run through the engine: the module layer appears as
 * /<digest hex>.wasm in the container's lower tree and, with no Entrypoint/Cmd, is the command.
 * The module is the real hello program from the bundled skiff/hello-wasm image.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decompress } from '../../src/archive/compression.ts';
import { readTar } from '../../src/archive/tar-reader.ts';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { WasiRuntime } from '../../src/runtime/wasi/runtime.ts';
import { nodeWasiSpawn } from '../../src/node.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { tar } from './fixtures/images.ts';

const te = new TextEncoder();
const td = new TextDecoder();
const dist = fileURLToPath(new URL('../../vm-images/images/dist/hello-wasm.tar', import.meta.url));

/** The .wasm file inside hello-wasm's (tar) layer. */
async function helloModule(): Promise<Uint8Array> {
  const files = new Map(readTar(new Uint8Array(readFileSync(dist))).map((e) => [e.header.name, e.data]));
  const blob = (d: string) => files.get(`blobs/sha256/${d.slice(7)}`)!;
  const index = JSON.parse(td.decode(files.get('index.json'))) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(td.decode(blob(index.manifests[0]!.digest))) as { layers: { digest: string }[] };
  for (const l of manifest.layers) {
    for (const e of readTar(await decompress(blob(l.digest)))) if (e.header.type === 'file' && e.header.name.endsWith('.wasm')) return new Uint8Array(e.data);
  }
  throw new Error('no .wasm file in hello-wasm.tar');
}

function artifactArchive(module: Uint8Array, tag: string): { data: Uint8Array; layerDigest: string } {
  const layerDigest = sha256Digest(module);
  const config = te.encode(JSON.stringify({ created: '2026-01-01T00:00:00Z', architecture: 'wasm', os: 'wasip1', layerDigests: [layerDigest] }));
  // As the CNCF Wasm OCI artifact spec writes it: no rootfs, the layers named by layerDigests.
  const manifest = te.encode(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.wasm.config.v0+json',
    config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: sha256Digest(config), size: config.byteLength },
    layers: [{ mediaType: 'application/wasm', digest: layerDigest, size: module.byteLength }],
  }));
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Digest(manifest), size: manifest.byteLength, annotations: { 'io.containerd.image.name': tag, 'org.opencontainers.image.ref.name': tag.split(':').at(-1) } }] };
  const blob = (bytes: Uint8Array) => ({ name: `blobs/sha256/${sha256Digest(bytes).slice(7)}`, content: bytes });
  const data = tar([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'blobs/', type: 'directory' }, { name: 'blobs/sha256/', type: 'directory' },
    blob(module), blob(config), blob(manifest), { name: 'index.json', content: JSON.stringify(index) },
  ]);
  return { data, layerDigest };
}

describe('CNCF Wasm artifact images', () => {
  const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) } });
  afterAll(() => e.shutdown());

  it('run --rm: the module layer runs as the command, output and exit code', async () => {
    const module = await helloModule();
    const ref = 'docker.io/example/hello-artifact:1';
    const { data, layerDigest } = artifactArchive(module, ref);
    await e.loadArchive({ data });
    const out: string[] = [];
    const err: string[] = [];
    const r = await e.runContainer({ image: ref, run: { rm: true }, io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => err.push(td.decode(d)) } });
    expect(err.join('')).toBe('');
    expect(r.exit.exitCode).toBe(0);
    expect(out.join('')).toContain('Hello from WebAssembly!');
    expect(out.join('')).toMatch(/argc=1\n/);
    // --rm removed it.
    expect((await e.listContainers({ all: true })).map((c) => c.id)).not.toContain(r.id);

    // Kept: the record names the module file as its command, and that file is the layer's bytes.
    const keptOut: string[] = [];
    const kept = await e.runContainer({ image: ref, cmd: ['one', 'two'], io: { onStdout: (d) => keptOut.push(td.decode(d)), onStderr: () => {} } });
    expect(kept.exit.exitCode).toBe(0);
    const path = `/${layerDigest.slice(7)}.wasm`;
    expect(keptOut.join('')).toContain(`argc=3\nargv[0]=${path}\nargv[1]=one\nargv[2]=two\n`);
    const rec = await e.inspectContainer({ id: kept.id });
    expect(rec).toMatchObject({ runtime: 'wasi', spec: { entrypoint: [path], args: [path, 'one', 'two'] } });
    const fs = await e.containerFs({ id: kept.id });
    const ino = fs.lookup(fs.root(), path.slice(1));
    expect(fs.read(ino, 0, module.byteLength + 1)).toEqual(module);
  });
});
