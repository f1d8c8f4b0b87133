/**
 * Pushes to the real distribution registry, read back by skopeo with the same digests: a bundled
 * image pushed, removed locally, pulled back by tag and by digest and run; chunked uploads; blobs
 * the registry has skipped (HEAD) or mounted from another repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { nodeWasiSpawn } from '../../src/node.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { pullImage } from '../../src/registry/pull.ts';
import { pushImage } from '../../src/registry/push.ts';
import { WasiRuntime } from '../../src/runtime/wasi/runtime.ts';
import { DIST } from './fixtures.ts';
import { skopeoCopy, skopeoInspect, startProxy, startRegistry, type Proxy, type Running } from './servers.ts';

const td = new TextDecoder();
let reg: Running;
let proxy: Proxy;

function engine(): Engine {
  return new Engine({
    content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(DIST),
    runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) },
  });
}
const client = (): RegistryClient => new RegistryClient({ retry: { baseMs: 1, maxMs: 5 } });

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg);
}, 30_000);
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
});

describe('push to docker-registry', () => {
  it('pushes a bundled image; skopeo reads the same digest; removed, pulled back by tag and digest, it runs', async () => {
    const e = engine();
    const img = await e.resolveImage({ ref: 'skiff/hello-wasm' });
    const target = `${reg.host}/mine/hello:1`;
    await e.tag({ source: 'skiff/hello-wasm', target });
    const statuses: string[] = [];
    const r = await pushImage({ ctx: Engine.contextOf(e), client: client(), ref: target, onProgress: (p) => statuses.push(`${p.id ?? ''} ${p.status}`.trim()) });
    expect(r).toMatchObject({ tag: '1', digest: img.digest, size: img.manifestSize });
    expect(r.blobs.map((b) => b.how).sort()).toEqual(['uploaded', 'uploaded']);
    expect(statuses[0]).toBe(`The push refers to repository [${reg.host}/mine/hello]`);
    expect(statuses.at(-1)).toBe(`1: digest: ${img.digest} size: ${img.manifestSize}`);
    // A line per layer, as Docker prints them; the config blob goes up without one.
    expect(statuses.filter((s) => s.endsWith(' Pushed'))).toEqual(img.layers.map((l) => `${l.digest.slice(7, 19)} Pushed`));
    const inspected = JSON.parse(skopeoInspect(target)) as { Digest: string; Architecture: string; Os: string };
    expect(inspected).toMatchObject({ Digest: img.digest, Architecture: 'wasm', Os: 'wasi' });
    // The manifest's bytes are ours exactly.
    expect(skopeoInspect(target, true)).toBe(td.decode(await Engine.contextOf(e).content.get(img.digest)));

    // Pushing again: every blob is there already.
    const again = await pushImage({ ctx: Engine.contextOf(e), client: client(), ref: target });
    expect(again.blobs.map((b) => b.how)).toEqual(['exists', 'exists']);

    await e.removeImage({ ref: target });
    await e.removeImage({ ref: 'skiff/hello-wasm' });
    expect(await Engine.contextOf(e).content.list()).toEqual([]);
    const byTag = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: target });
    expect(byTag.image.digest).toBe(img.digest);
    const byDigest = await pullImage({ ctx: Engine.contextOf(engine()), client: client(), ref: `${reg.host}/mine/hello@${img.digest}` });
    expect(byDigest.image.digest).toBe(img.digest);
    const out: string[] = [];
    const run = await e.runContainer({ image: target, run: { rm: true }, io: { onStdout: (d) => out.push(td.decode(d)), onStderr: () => {} } });
    expect(run.exit.exitCode).toBe(0);
    expect(out.join('')).toContain('Hello from WebAssembly!');
    await e.shutdown();
  });

  it('uploads in chunks; skopeo copies what was pushed back out with the same digests', async () => {
    const e = engine();
    const img = await e.resolveImage({ ref: 'skiff/busybox' });
    const target = `${proxy.host}/mine/busybox:chunked`;
    await e.tag({ source: 'skiff/busybox', target });
    proxy.log.length = 0;
    const r = await pushImage({ ctx: Engine.contextOf(e), client: client(), ref: target, monolithicMax: 64 << 10, chunkSize: 256 << 10 });
    expect(r.digest).toBe(img.digest);
    const layer = img.layers[0]!;
    // 1067304 bytes in 256 KiB chunks: 5 PATCHes, then the closing PUT.
    expect(proxy.log.filter((l) => l.startsWith('PATCH '))).toHaveLength(Math.ceil(layer.size / (256 << 10)));
    expect(proxy.log.some((l) => l.startsWith('PUT ') && l.includes(`digest=${encodeURIComponent(layer.digest)}`))).toBe(true);
    expect(JSON.parse(skopeoInspect(`${reg.host}/mine/busybox:chunked`)).Digest).toBe(img.digest);
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/skiff-push-`);
    skopeoCopy(`docker://${reg.host}/mine/busybox:chunked`, `oci:${dir}:x`, ['--src-tls-verify=false']);
    const { readFileSync } = await import('node:fs');
    const index = JSON.parse(readFileSync(`${dir}/index.json`, 'utf8')) as { manifests: Array<{ digest: string }> };
    expect(index.manifests[0]!.digest).toBe(img.digest);
    expect(readFileSync(`${dir}/blobs/sha256/${layer.digest.slice(7)}`).length).toBe(layer.size);
  });

  it('streams a big blob in one PUT when fetch can send a stream (Node)', async () => {
    const e = engine();
    const img = await e.resolveImage({ ref: 'skiff/busybox' });
    const target = `${proxy.host}/mine/streamed:1`;
    await e.tag({ source: 'skiff/busybox', target });
    proxy.log.length = 0;
    const r = await pushImage({ ctx: Engine.contextOf(e), client: new RegistryClient({ streamBodies: true }), ref: target, monolithicMax: 64 << 10 });
    expect(r.digest).toBe(img.digest);
    expect(proxy.log.filter((l) => l.startsWith('PATCH '))).toEqual([]);
    expect(proxy.log.filter((l) => l.startsWith('PUT ') && l.includes('/blobs/uploads/'))).toHaveLength(2);
    const back = await pullImage({ ctx: Engine.contextOf(engine()), client: client(), ref: `${reg.host}/mine/streamed:1` });
    expect(back.image.layers).toEqual(img.layers);
  });

  it('mounts blobs the registry holds in the repository the image was pulled from', async () => {
    const src = engine();
    await src.resolveImage({ ref: 'skiff/busybox' });
    await src.tag({ source: 'skiff/busybox', target: `${reg.host}/team/base:1` });
    await pushImage({ ctx: Engine.contextOf(src), client: client(), ref: `${reg.host}/team/base:1` });
    const e = engine();
    const pulled = await pullImage({ ctx: Engine.contextOf(e), client: client(), ref: `${reg.host}/team/base:1` });
    await e.tag({ source: `${reg.host}/team/base:1`, target: `${proxy.host}/team/copy:1` });
    proxy.log.length = 0;
    // Through the proxy: same registry, but it is another domain, so say where to mount from.
    const r = await pushImage({ ctx: Engine.contextOf(e), client: client(), ref: `${proxy.host}/team/copy:1`, mountFrom: ['team/base'] });
    expect(r.digest).toBe(pulled.image.digest);
    expect(r.blobs.map((b) => b.how).sort()).toEqual(['mounted', 'mounted']);
    expect(proxy.log.filter((l) => l.startsWith('POST ') && l.includes('mount=') && l.includes('from=team%2Fbase'))).toHaveLength(2);
    expect(proxy.log.some((l) => l.startsWith('PATCH ') || (l.startsWith('PUT ') && l.includes('/blobs/')))).toBe(false);
    expect(JSON.parse(skopeoInspect(`${reg.host}/team/copy:1`)).Digest).toBe(pulled.image.digest);
  });
});
