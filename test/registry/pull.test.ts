/**
 * Pulls from the real distribution registry (Debian's docker-registry on loopback), seeded by
 * skopeo from archives skiff never wrote: by tag and digest, through a multi-platform index,
 * refusals that name what an image offers, and a proxy that corrupts, cuts and fails requests.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { NodeFsContentStore } from '../../src/content/node-fs.ts';
import { NodeFsStateStore } from '../../src/engine/state/node-fs.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { nodeWasiSpawn } from '../../src/node.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { pullImage, type PullEvent } from '../../src/registry/pull.ts';
import { StreamingScan } from '../../src/registry/layer-scan.ts';
import { WasiRuntime } from '../../src/runtime/wasi/runtime.ts';
import { SkiffError } from '../../src/errors.ts';
import { buildLayouts, DIST, type Layouts } from './fixtures.ts';
import { skopeoCopy, startProxy, startRegistry, type Proxy, type Running } from './servers.ts';

const HELLO_DIGEST = 'sha256:74b06934ada51674219d2c2a4857ce7da179894a02437c8919610749b708bb64';
const td = new TextDecoder();
let reg: Running;
let proxy: Proxy;
let layouts: Layouts;

function engine(): Engine {
  return new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) } });
}
const client = (): RegistryClient => new RegistryClient({ retry: { baseMs: 1, maxMs: 5 } });
async function snapshot(e: Engine): Promise<{ blobs: string[]; images: number; tags: number }> {
  return {
    blobs: (await Engine.contextOf(e).content.list()).map((b) => b.digest).sort(),
    images: (await Engine.contextOf(e).state.list('images')).length,
    tags: (await Engine.contextOf(e).state.list('tags')).length,
  };
}

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg);
  layouts = buildLayouts();
  skopeoCopy(`oci-archive:${DIST}/hello-wasm.tar`, `docker://${reg.host}/seed/hello-wasm:latest`);
  skopeoCopy(`oci:${layouts.multi}:latest`, `docker://${reg.host}/seed/multi:latest`, ['--all']);
  skopeoCopy(`oci:${layouts.amd64Only}:latest`, `docker://${reg.host}/seed/amd64:latest`);
  skopeoCopy(`oci:${layouts.layered}:latest`, `docker://${reg.host}/seed/layered:latest`);
}, 60_000);
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
});

describe('pull from docker-registry', () => {
  it('pulls by tag, records the image as load does, and runs it', async () => {
    const e = engine();
    const events: PullEvent[] = [];
    const r = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/hello-wasm`, onProgress: (p) => events.push(p) });
    expect(r).toMatchObject({ ref: `${reg.host}/seed/hello-wasm:latest`, digest: HELLO_DIGEST, platform: 'wasi/wasm', existed: false });
    expect(r.image.source).toBe(`registry:${reg.host}/seed/hello-wasm:latest`);
    const [row] = await e.listImages();
    expect(row).toMatchObject({ repository: `${reg.host}/seed/hello-wasm`, tag: 'latest', digest: HELLO_DIGEST });
    // The image record is the one `skiff load` makes of the same archive.
    const loaded = engine();
    await loaded.loadArchive({ data: new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(`${DIST}/hello-wasm.tar`))) });
    const [ref] = await Engine.contextOf(loaded).state.list<{ digest: string }>('images');
    const { loadedAt: _a, source: _s, ...mine } = r.image;
    const { loadedAt: _b, source: _t, ...theirs } = ref as typeof r.image;
    expect(mine).toEqual(theirs);
    expect(events.map((p) => p.status)).toEqual(expect.arrayContaining(['latest: Pulling from seed/hello-wasm', 'Pulling fs layer', 'Download complete', 'Pull complete', `Digest: ${HELLO_DIGEST}`]));
    const out: string[] = [];
    const run = await e.runContainer({ image: `${reg.host}/seed/hello-wasm`, run: { rm: true }, io: { onStdout: (d) => out.push(td.decode(d)), onStderr: () => {} } });
    expect(run.exit.exitCode).toBe(0);
    expect(out.join('')).toContain('GREETING=hello from skiff');
    await e.shutdown();
  });

  it('pulls by digest (no tag is set), and a second pull fetches no blob', async () => {
    const e = engine();
    const r = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/hello-wasm@${HELLO_DIGEST}` });
    expect(r.image.digest).toBe(HELLO_DIGEST);
    expect(await Engine.contextOf(e).state.list('tags')).toEqual([]);
    expect((await e.resolveImage({ ref: `${reg.host}/seed/hello-wasm@${HELLO_DIGEST}` })).digest).toBe(HELLO_DIGEST);
    proxy.log.length = 0;
    const events: PullEvent[] = [];
    const again = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/hello-wasm@${HELLO_DIGEST}`, onProgress: (p) => events.push(p) });
    expect(again.existed).toBe(true);
    expect(proxy.log.filter((l) => l.includes('/blobs/'))).toEqual([]);
    expect(events.at(-1)!.status).toMatch(/^Status: Image is up to date/);
  });

  it('a digest that does not match the manifest it names is refused', async () => {
    const e = engine();
    const wrong = `sha256:${'0'.repeat(64)}`;
    await expect(pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/hello-wasm@${wrong}` })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/nothing-here:1` })).rejects.toThrow(/pulling .*seed\/nothing-here:1: manifest for .* not found/);
  });

  it('a multi-platform index pulls its linux/386 variant; --platform picks another', async () => {
    const e = engine();
    const r = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/multi:latest` });
    expect(r.digest).toBe(layouts.multiIndexDigest);
    expect(r.image.digest).toBe(layouts.busyboxManifest);
    expect(r.platform).toBe('linux/386');
    const amd = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/multi:latest`, platform: 'linux/amd64' });
    expect(amd.image.digest).toBe(layouts.amd64Manifest);
    expect(amd.platform).toBe('linux/amd64');
    await expect(pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/multi:latest`, platform: 'linux/arm64' }))
      .rejects.toThrow(/no manifest for platform linux\/arm64; it offers linux\/amd64, linux\/386/);
  });

  it('an amd64-only image is refused naming its platform, and nothing is stored', async () => {
    const e = engine();
    const err = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/amd64` }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(SkiffError);
    expect(err).toMatchObject({ code: 'UNSUPPORTED' });
    expect((err as Error).message).toBe(`pulling ${reg.host}/seed/amd64:latest: ${reg.host}/seed/amd64:latest offers linux/amd64; skiff runs linux/386 and wasi/wasm (choose one with --platform)`);
    expect(await snapshot(e)).toEqual({ blobs: [], images: 0, tags: 0 });
  });

  it('a blob corrupted in transit is refused and the store is unchanged', async () => {
    const e = engine();
    await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/hello-wasm` });
    const before = await snapshot(e);
    expect(before).toMatchObject({ images: 1, tags: 1 });
    // busybox's layer through the proxy, with one byte flipped.
    const busyLayer = 'sha256:b09c2ac72e36dffe187ff5ac45b8978d32758f42741729c3a6d778b8e8f64fa4';
    proxy.corrupt.add(busyLayer);
    const err = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/multi` }).catch((x: unknown) => x);
    expect(proxy.corrupt.size).toBe(0); // the proxy did flip it
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect((err as Error).message).toContain(`blob ${busyLayer}`);
    expect((err as Error).message).toContain('content digest mismatch');
    // Neither the layer nor the config fetched before it stayed.
    expect(await snapshot(e)).toEqual(before);
    // The same pull without tampering works.
    expect((await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/multi` })).image.digest).toBe(layouts.busyboxManifest);
  });

  it('several layers: a corrupt last layer fails the pull after the first ones were checked, leaving nothing', async () => {
    const e = engine();
    const [l0, l1, l2] = layouts.layeredLayers as [string, string, string];
    proxy.corrupt.add(l2);
    proxy.cut.set(l1, 100);
    proxy.log.length = 0;
    const err = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/layered`, concurrency: 1 }).then(() => new Error('pulled'), (x: unknown) => x as Error);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(err.message).toContain(`blob ${l2}`);
    expect(await snapshot(e)).toEqual({ blobs: [], images: 0, tags: 0 });
    // The cut layer resumed with a Range request before the corrupt one came.
    expect(proxy.log.filter((l) => l.includes(l1)).at(-1)).toMatch(/bytes=100-$/);
    const ok = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/layered` });
    expect(ok.image.layers.map((l) => l.digest)).toEqual([l0, l1, l2]);
    expect((await snapshot(e)).blobs).toHaveLength(5);
  });

  it('a failed pull leaves no layer scan waiting for bytes (each holds a decoder)', async () => {
    const e = engine();
    const [l0] = layouts.layeredLayers as [string, string, string];
    const settled = new Set<StreamingScan>();
    const spies = [vi.spyOn(StreamingScan.prototype, 'end'), vi.spyOn(StreamingScan.prototype, 'abandon')];
    for (const s of spies) s.mockImplementation(function (this: StreamingScan) { settled.add(this); });
    try {
      proxy.corrupt.add(l0);
      // One at a time: the first layer fails, the other two are never started.
      const err = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/layered`, concurrency: 1 }).then(() => new Error('pulled'), (x: unknown) => x as Error);
      expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(settled.size).toBe(3);
    } finally {
      for (const s of spies) s.mockRestore();
    }
    // Spied out, the real abandon never ran: a pull now is unaffected.
    expect((await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/layered` })).image.layers).toHaveLength(3);
  });

  it('layers bigger than the load limits allow are refused before a byte of them is fetched', async () => {
    const e = engine();
    proxy.log.length = 0;
    const err = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/layered`, limits: { maxLayerBytes: 100 } }).then(() => new Error('pulled'), (x: unknown) => x as Error);
    expect(err.message).toMatch(/layer sha256:[0-9a-f]{64} holds more than 100 bytes uncompressed, the limit set by the load option maxLayerBytes/);
    expect(proxy.log.filter((l) => l.includes('/blobs/'))).toEqual([]);
    expect(await snapshot(e)).toEqual({ blobs: [], images: 0, tags: 0 });
  });

  it('a connection cut mid-layer resumes with a Range request', async () => {
    const e = engine();
    const busyLayer = 'sha256:b09c2ac72e36dffe187ff5ac45b8978d32758f42741729c3a6d778b8e8f64fa4';
    proxy.log.length = 0;
    proxy.cut.set(busyLayer, 300_000);
    const r = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/multi` });
    expect(r.image.digest).toBe(layouts.busyboxManifest);
    const gets = proxy.log.filter((l) => l.includes(busyLayer));
    expect(gets).toHaveLength(2);
    expect(gets[1]).toMatch(/ bytes=\d+-$/);
    expect(Number(/bytes=(\d+)-/.exec(gets[1]!)![1])).toBeGreaterThan(0);
  });

  it('a registry that ignores the Range of a resumed layer sends it whole: the pull starts the layer over and checks it', async () => {
    const e = engine();
    const [, l1] = layouts.layeredLayers as [string, string, string];
    proxy.log.length = 0;
    proxy.cut.set(l1, 100);
    proxy.ignoreRange.add(l1);
    const r = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/layered` });
    expect(proxy.ignoreRange.size).toBe(0);
    expect(proxy.log.filter((l) => l.includes(l1))).toEqual([expect.stringMatching(/^GET \S+$/), expect.stringMatching(/ bytes=100-$/)]);
    // The layer's scan saw its first 100 bytes twice and was dropped; the layer was checked from the store.
    expect(r.image.layers.map((l) => l.uncompressedSize)).toEqual([163840, 327680, 491520]);
    expect((await snapshot(e)).blobs).toHaveLength(5);
  });

  it('a layer that unpacks to more than the limits is refused while it streams, naming the limit it broke, leaving nothing', async () => {
    const e = engine();
    // Layers unpack to 160, 320 and 480 KiB: the second goes over a 200 kB layer limit...
    let err = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/layered`, limits: { maxLayerBytes: 200_000 } }).then(() => new Error('pulled'), (x: unknown) => x as Error);
    expect(err).toMatchObject({ code: 'INVALID_ARCHIVE' });
    expect(err.message).toContain(`layer 2 of 3`);
    expect(err.message).toMatch(/layer sha256:[0-9a-f]{64} holds more than [\d.]+ KiB \(200000 bytes\) uncompressed, the limit set by the load option maxLayerBytes /);
    expect(await snapshot(e)).toEqual({ blobs: [], images: 0, tags: 0 });
    // ... and, with no layer limit, the first two together go over a 400 kB image limit.
    err = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/layered`, limits: { maxImageBytes: 400_000 } }).then(() => new Error('pulled'), (x: unknown) => x as Error);
    expect(err.message).toMatch(/holds more than [\d.]+ KiB \(400000 bytes\) uncompressed, the limit set by the load option maxImageBytes /);
    expect(await snapshot(e)).toEqual({ blobs: [], images: 0, tags: 0 });
  });

  it('503 answers are retried', async () => {
    const e = engine();
    proxy.fail503 = 3;
    const r = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/seed/hello-wasm` });
    expect(r.digest).toBe(HELLO_DIGEST);
    expect(proxy.fail503).toBe(0);
  });

  it('two pulls of the same image at once store each blob once', async () => {
    // On disk, as the CLI stores: two processes' worth of pulls into one store and state.
    const root = mkdtempSync(join(tmpdir(), 'skiff-pull-twice-'));
    try {
      const e = new Engine({ content: new NodeFsContentStore({ root: join(root, 'content') }), state: new NodeFsStateStore({ root: join(root, 'state') }) });
      const [a, b] = await Promise.all([
        pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/layered` }),
        pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/seed/layered` }),
      ]);
      expect(a.image.digest).toBe(b.image.digest);
      expect([a.existed, b.existed]).toEqual([false, false]); // both ran whole: neither found the other's image
      const s = await snapshot(e);
      expect(s.images).toBe(1);
      expect(s.tags).toBe(1);
      // manifest, config, 3 layers: each once, and no ingestion left behind.
      expect(readdirSync(join(root, 'content/blobs/sha256')).sort()).toEqual(s.blobs.map((d) => d.slice(7)));
      expect(s.blobs).toHaveLength(5);
      expect(readdirSync(join(root, 'content/ingest'))).toEqual([]);
      expect(s.blobs).toEqual([a.image.digest, a.image.config.digest, ...layouts.layeredLayers].sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the registry as an image source', () => {
  it('pulls a name it has, leaves IDs and unknown names to the chain, throws refusals', async () => {
    const { registryImages } = await import('../../src/registry/source.ts');
    const e = engine();
    const src = registryImages({ client: client() });
    const rec = await src.image(`${reg.host}/seed/hello-wasm:latest`, Engine.contextOf(e));
    expect(rec?.digest).toBe(HELLO_DIGEST);
    expect(await src.image(rec!.id.slice(7, 19), Engine.contextOf(e))).toBeUndefined();
    expect(await src.image(`${reg.host}/seed/absent:1`, Engine.contextOf(e))).toBeUndefined();
    await expect(src.image(`${reg.host}/seed/amd64`, Engine.contextOf(e))).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('in an engine\'s chain, after the local store and the bundled images: create and run pull what they lack', async () => {
    const { registryImages } = await import('../../src/registry/source.ts');
    const e = new Engine({
      content: new MemoryContentStore(), state: new MemoryStateStore(),
      sources: [registryImages({ client: client() })],
      runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) },
    });
    const out: string[] = [];
    const r = await e.runContainer({ image: `${reg.host}/seed/hello-wasm`, run: { rm: true }, io: { onStdout: (d) => out.push(td.decode(d)), onStderr: () => {} } });
    expect(r.exit.exitCode).toBe(0);
    expect(out.join('')).toContain('GREETING=hello from skiff');
    expect((await e.listImages()).map((i) => i.ref)).toEqual([`${reg.host}/seed/hello-wasm:latest`]);
    await expect(e.createContainer({ image: `${reg.host}/seed/absent:1` })).rejects.toThrow(`No such image: ${reg.host}/seed/absent:1`);
    await e.shutdown();
  });
});
