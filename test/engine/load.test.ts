import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { execFileSync } from 'node:child_process';
import 'fake-indexeddb/auto';
import { IdbContentStore } from '../../src/content/idb.ts';
import { IdbSnapshotStore } from '../../src/engine/snapshots/idb.ts';
import { IdbStateStore } from '../../src/engine/state/idb.ts';
import { buildImage, buildImageRaw, dockerLegacyArchive, dockerOciArchive, drain, ociArchive, ociMultiPlatformArchive, tar } from './fixtures/images.ts';
import { requireTool } from '../helpers/peers.ts';
import { sha256Digest } from '../../src/oci/digest.ts';

function engine(): Engine {
  return new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), now: () => new Date('2026-02-01T00:00:00Z') });
}

const base = { files: [{ name: 'bin/', type: 'directory' as const }, { name: 'bin/sh', content: '#!sh', mode: 0o755 }, { name: 'etc/', type: 'directory' as const }, { name: 'etc/hostname', content: 'box\n' }], gzip: true };
const top = { files: [{ name: 'etc/motd', content: 'hello\n' }, { name: 'etc/.wh.hostname' }] };

describe('loadArchive', () => {
  it('loads an OCI archive with its tag, preserving the manifest digest', async () => {
    const e = engine();
    const img = buildImage({ layers: [base, top] });
    const res = await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/demo:1'] }]), name: 'demo.tar' });
    expect(res.images).toEqual([{ digest: img.manifestDigest, id: img.configDigest, tags: ['docker.io/library/demo:1'], existed: false }]);
    const rec = await e.resolveImage({ ref: 'demo:1' });
    expect(rec.digest).toBe(img.manifestDigest);
    expect(rec.layers.map((l) => l.diffId)).toEqual(img.layers.map((l) => l.diffId));
    expect(rec.platform).toBe('linux/386');
    const list = await e.listImages();
    expect(list).toMatchObject([{ repository: 'demo', tag: '1', id: img.configDigest }]);
    // short ID prefix resolves too
    expect((await e.resolveImage({ ref: img.configDigest.slice(7, 19) })).digest).toBe(img.manifestDigest);
  });

  it('loads a legacy docker save archive whose repeated layer is a symlink entry', async () => {
    const e = engine();
    const a = buildImage({ layers: [base] });
    const b = buildImage({ layers: [base, top], cmd: ['echo'] });
    const res = await e.loadArchive({ data: dockerLegacyArchive([{ image: a, tags: ['a:latest'] }, { image: b, tags: ['b:2'] }]), name: 'two.tar' });
    expect(res.images.map((i) => i.id)).toEqual([a.configDigest, b.configDigest]);
    const rb = await e.resolveImage({ ref: 'b:2' });
    expect(rb.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(rb.layers.map((l) => l.digest)).toEqual(b.layers.map((l) => l.digest));
    expect(rb.layers[0]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
  });

  it('loads from a stream as from bytes', async () => {
    const e = engine();
    const img = buildImage({ layers: [base] });
    const data = ociArchive([{ image: img, tags: ['s:1'] }]);
    const stream = new ReadableStream<Uint8Array>({
      start(c) { for (let i = 0; i < data.length; i += 777) c.enqueue(data.subarray(i, i + 777)); c.close(); },
    });
    const seen: string[] = [];
    await e.loadArchive({ stream, name: 's.tar', onProgress: (p) => seen.push(p.phase) });
    expect((await e.resolveImage({ ref: 's:1' })).digest).toBe(img.manifestDigest);
    expect(seen).toContain('reading');
    expect(seen.at(-1)).toBe('done');
  });

  it('streams layers bigger than a read chunk into the store: the blobs are the archive\'s bytes, byte for byte', async () => {
    const { randomBytes } = await import('node:crypto');
    const big = new Uint8Array(randomBytes(5 << 20));
    const img = buildImage({ layers: [{ files: [{ name: 'big', content: big }] }, { files: [{ name: 'small', content: 's' }], gzip: true }] });
    const data = dockerLegacyArchive([{ image: img, tags: ['big:1'] }]);
    const content = new MemoryContentStore();
    const e = new Engine({ content, state: new MemoryStateStore() });
    await e.loadArchive({ stream: (async function* () { for (let i = 0; i < data.length; i += 100_003) yield data.slice(i, i + 100_003); })(), name: 'big.tar' });
    // and given whole (parsed a slice at a time, bodies kept as views of it)
    const whole = engine();
    await whole.loadArchive({ data, name: 'big.tar' });
    expect((await whole.resolveImage({ ref: 'big:1' })).layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    const rec = await e.resolveImage({ ref: 'big:1' });
    expect(rec.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    for (const l of img.layers) expect(Buffer.from(await content.get(l.digest)).equals(Buffer.from(l.bytes))).toBe(true);
    expect(rec.layers[1]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
  });

  it('a zstd layer over the default window loads when maxZstdWindowBytes allows it, and its containers open', async () => {
    const raw = tar([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'big window\n' }]);
    const z = new Uint8Array(execFileSync('zstd', ['-c', '-q', '--long=24'], { input: raw }));
    const img = buildImage({ layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'big window\n' }] }], layerMediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' });
    const m = JSON.parse(new TextDecoder().decode(img.manifest)) as { layers: Array<{ digest: string; size: number }> };
    const digest = sha256Digest(z);
    m.layers[0] = { ...m.layers[0]!, digest, size: z.byteLength };
    const manifest = new TextEncoder().encode(JSON.stringify(m));
    const zimg = { ...img, manifest, manifestDigest: sha256Digest(manifest), layers: [{ ...img.layers[0]!, bytes: z, digest }] };
    const data = ociArchive([{ image: zimg, tags: ['docker.io/library/z:1'] }]);
    const e = engine();
    await expect(e.loadArchive({ data, name: 'z.tar' })).rejects.toMatchObject({ code: 'INVALID_ARCHIVE', message: expect.stringContaining('needs a 16 MiB window, over the limit of 8 MiB') });
    await e.loadArchive({ data, name: 'z.tar', maxZstdWindowBytes: 16 << 20 });
    const c = await e.createContainer({ image: 'z:1' });
    const fs = await e.containerFs({ id: c.id });
    const motd = fs.lookup(fs.lookup(fs.root(), 'etc'), 'motd');
    expect(new TextDecoder().decode(fs.read(motd, 0, 100))).toBe('big window\n');
  });

  it('a base shared by many images is unpacked once, not once per image', async () => {
    const { readListing } = await import('../../src/engine/load/loader.ts');
    const { planArchive } = await import('../../src/engine/load/plan.ts');
    const { verifyImages } = await import('../../src/engine/load/verify.ts');
    const { readTarEvents } = await import('../../src/archive/index.ts');
    const shared = { files: [{ name: 'bin/', type: 'directory' as const }, { name: 'bin/sh', content: 'x'.repeat(100_000) }], gzip: true };
    const imgs = Array.from({ length: 20 }, (_, i) => buildImage({ layers: [shared, { files: [{ name: `bin/app${i}`, content: `${i}` }] }] }));
    const listing = await readListing(null, 'many.tar', readTarEvents([ociArchive(imgs.map((image, i) => ({ image, tags: [`docker.io/library/m:${i}`] })))]), []);
    const reads = new Map<string, number>();
    const verified = await verifyImages(listing, planArchive(listing), async (f) => {
      reads.set(f.digest, (reads.get(f.digest) ?? 0) + 1);
      return f.bytes!;
    });
    expect(verified.length).toBe(20);
    expect(reads.get(imgs[0]!.layers[0]!.digest)).toBe(1);
    // and a top layer that does not fit its base is still refused: bin/sh is a file, not a directory
    const bad = buildImage({ layers: [shared, { files: [{ name: 'bin/sh/x', content: 'y' }] }] });
    const l2 = await readListing(null, 'bad.tar', readTarEvents([ociArchive([{ image: imgs[0]!, tags: ['docker.io/library/m:0'] }, { image: bad, tags: ['docker.io/library/m:bad'] }])]), []);
    await expect(verifyImages(l2, planArchive(l2), async (f) => f.bytes!)).rejects.toMatchObject({ code: 'INVALID_ARCHIVE', message: expect.stringMatching(/layer 2 of 2 .*"bin\/sh\/x".*parent "sh" is not a directory/) });
  });

  it('loads a gzip-compressed archive (docker save | gzip), from bytes and from a stream', async () => {
    const { gzipSync } = await import('node:zlib');
    const img = buildImage({ layers: [base] });
    const gz = new Uint8Array(gzipSync(dockerLegacyArchive([{ image: img, tags: ['gz:1'] }])));
    const e = engine();
    await e.loadArchive({ data: gz, name: 'x.tar.gz' });
    expect((await e.resolveImage({ ref: 'gz:1' })).id).toBe(img.configDigest);
    const e2 = engine();
    await e2.loadArchive({ stream: (async function* () { yield gz.subarray(0, 10); yield gz.subarray(10); })(), name: 'x.tar.gz' });
    expect((await e2.resolveImage({ ref: 'gz:1' })).id).toBe(img.configDigest);
  });

  it('streamed at random chunk widths, every layout loads to the same image', async () => {
    const a = buildImage({ layers: [base, top] });
    const archives = [
      ociArchive([{ image: a, tags: ['docker.io/library/rc:1'] }]),
      dockerLegacyArchive([{ image: a, tags: ['rc:1'] }]),
      dockerOciArchive([{ image: a, tags: ['rc:1'] }]),
    ];
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n) + 1;
    for (const data of archives) {
      const ids = new Set<string>();
      for (let run = 0; run < 8; run++) {
        const e = engine();
        async function* chunks(): AsyncIterable<Uint8Array> {
          for (let i = 0; i < data.length;) {
            const w = run % 2 ? rand(600) : rand(70_000);
            yield data.slice(i, i + w);
            i += w;
          }
        }
        const res = await e.loadArchive({ stream: chunks(), name: 'rechunked.tar' });
        ids.add(`${res.images[0]!.id} ${(await e.resolveImage({ ref: 'rc:1' })).layers.map((l) => l.diffId).join(',')}`);
      }
      expect(ids.size).toBe(1);
      expect([...ids][0]).toBe(`${a.configDigest} ${a.layers.map((l) => l.diffId).join(',')}`);
    }
  });

  it('tags move with history and roll back', async () => {
    const e = engine();
    const v1 = buildImage({ layers: [base] });
    const v2 = buildImage({ layers: [base, top] });
    await e.loadArchive({ data: ociArchive([{ image: v1, tags: ['docker.io/library/app:latest'] }]) });
    await e.loadArchive({ data: ociArchive([{ image: v2, tags: ['docker.io/library/app:latest'] }]) });
    expect((await e.resolveImage({ ref: 'app' })).digest).toBe(v2.manifestDigest);
    expect((await e.tagHistory({ ref: 'app' })).map((h) => h.digest)).toEqual([v2.manifestDigest, v1.manifestDigest]);
    // the old image is kept by the history, even through a prune
    await e.pruneImages();
    const r = await e.rollbackImage({ ref: 'app' });
    expect(r).toEqual({ ref: 'docker.io/library/app:latest', from: v2.manifestDigest, to: v1.manifestDigest });
    expect((await e.resolveImage({ ref: 'app' })).digest).toBe(v1.manifestDigest);
    await expect(e.rollbackImage({ ref: 'app' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('prune sweeps blobs a crashed load left behind, but not while a load holds a lease', async () => {
    const content = new MemoryContentStore();
    const state = new MemoryStateStore();
    const e = new Engine({ content, state });
    const img = buildImage({ layers: [base] });
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/keep:1'] }]) });
    const { putBlob } = await import('../../src/content/store.ts');
    const orphan = await putBlob(content, new TextEncoder().encode('staged by a load that crashed'));
    const { takeLease } = await import('../../src/engine/leases.ts');
    const release = await takeLease(Engine.contextOf(e));
    await e.pruneImages();
    expect(await content.has(orphan.digest)).toBe(true);
    await release();
    const r = await e.pruneImages();
    expect(await content.has(orphan.digest)).toBe(false);
    expect(r.reclaimed).toBe(orphan.size);
    expect((await content.list()).length).toBe(3);
    expect((await e.resolveImage({ ref: 'keep:1' })).digest).toBe(img.manifestDigest);
  });

  it('rmi untags, then deletes blobs nothing else uses', async () => {
    const content = new MemoryContentStore();
    const e = new Engine({ content, state: new MemoryStateStore() });
    const img = buildImage({ layers: [base, top] });
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/x:1'] }]) });
    await e.tag({ source: 'x:1', target: 'y:2' });
    expect(await e.removeImage({ ref: 'x:1' })).toEqual({ untagged: ['docker.io/library/x:1'], deleted: [] });
    // The image's own blobs stay, and its layers' data (uncompressed copies, indexes) with them.
    for (const d of [img.manifestDigest, img.configDigest, ...img.layers.map((l) => l.digest)]) expect(await content.has(d)).toBe(true);
    expect((await content.list()).length).toBeGreaterThan(4);
    expect(await e.removeImage({ ref: 'y:2' })).toEqual({ untagged: ['docker.io/library/y:2'], deleted: [img.configDigest] });
    expect(await content.list()).toEqual([]);
    await expect(e.resolveImage({ ref: 'y:2' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'No such image: y:2' });
  });

  it('docker save | load of an image we hold keeps its own manifest (no duplicate, no orphan blobs)', async () => {
    const content = new MemoryContentStore();
    const e = new Engine({ content, state: new MemoryStateStore() });
    const img = buildImage({ layers: [base, top] });
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/same:1'] }]) });
    const blobs = (await content.list()).map((b) => b.digest).sort();
    const docker = await drain(await e.saveArchive({ refs: ['same:1'], format: 'docker' }));
    const res = await e.loadArchive({ data: docker, name: 'again.tar' });
    expect(res.images).toEqual([{ digest: img.manifestDigest, id: img.configDigest, tags: ['docker.io/library/same:1'], existed: true }]);
    expect((await e.listImages()).length).toBe(1);
    expect((await content.list()).map((b) => b.digest).sort()).toEqual(blobs);
  });

  it('saves docker and OCI archives that load back with the same digests', async () => {
    const e = engine();
    const img = buildImage({ layers: [base, top] });
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/rt:1'] }]) });
    const oci = await drain(await e.saveArchive({ refs: ['rt:1'], format: 'oci' }));
    const docker = await drain(await e.saveArchive({ refs: ['rt:1'], format: 'docker' }));
    const e2 = engine();
    await e2.loadArchive({ data: oci, name: 'oci.tar' });
    expect((await e2.resolveImage({ ref: 'rt:1' })).digest).toBe(img.manifestDigest);
    const e3 = engine();
    await e3.loadArchive({ data: docker, name: 'docker.tar' });
    const r3 = await e3.resolveImage({ ref: 'rt:1' });
    expect(r3.id).toBe(img.configDigest);
    expect(r3.layers.map((l) => l.diffId)).toEqual(img.layers.map((l) => l.diffId));
  });

  it('loads the docker >= 25 layout (manifest.json over OCI blobs), keeping the archive manifest digest', async () => {
    const e = engine();
    const img = buildImage({ layers: [base, top] });
    const res = await e.loadArchive({ data: dockerOciArchive([{ image: img, tags: ['new:1'] }]), name: 'docker25.tar' });
    expect(res.images).toEqual([{ digest: img.manifestDigest, id: img.configDigest, tags: ['docker.io/library/new:1'], existed: false }]);
  });

  it('picks linux/386 from a nested multi-platform index', async () => {
    const e = engine();
    const amd = buildImage({ layers: [base], architecture: 'amd64' });
    const i386 = buildImage({ layers: [base, top], architecture: '386' });
    const data = ociMultiPlatformArchive([{ image: amd, platform: { os: 'linux', architecture: 'amd64' } }, { image: i386, platform: { os: 'linux', architecture: '386' } }], 'docker.io/library/multi:1');
    await e.loadArchive({ data, name: 'multi.tar' });
    expect((await e.resolveImage({ ref: 'multi:1' })).digest).toBe(i386.manifestDigest);
  });

  it('loads a zstd layer (compressed by the zstd tool)', async () => {
    const e = engine();
    const raw = tar([{ name: 'hello', content: 'zstd works\n' }]);
    const zst = new Uint8Array(execFileSync(requireTool('zstd', 'zstd'), ['-q', '-c'], { input: raw }));
    const plain = buildImageRaw([{ raw }]);
    const { sha256Digest } = await import('../../src/oci/digest.ts');
    const te = new TextEncoder();
    const manifest = te.encode(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: plain.configDigest, size: plain.config.byteLength },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha256Digest(zst), size: zst.byteLength }],
    }));
    const img = { ...plain, manifest, manifestDigest: sha256Digest(manifest), layers: [{ ...plain.layers[0]!, bytes: zst, digest: sha256Digest(zst), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }] };
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/zst:1'] }]), name: 'zstd.tar' });
    const c = await e.createContainer({ image: 'zst:1' });
    const fs = await e.containerFs({ id: c.id });
    expect(new TextDecoder().decode(fs.read(fs.lookup(fs.root(), 'hello'), 0, 100))).toBe('zstd works\n');
  });

  it('runs over the IndexedDB backends (the browser configuration)', async () => {
    const e = new Engine({ content: new IdbContentStore({ dbName: 'engine-idb-blobs' }), state: new IdbStateStore({ dbName: 'engine-idb-state' }), snapshots: new IdbSnapshotStore({ dbName: 'engine-idb-snapshots' }) });
    const img = buildImage({ layers: [base, top] });
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/web:1'] }]), name: 'web.tar' });
    const c = await e.createContainer({ image: 'web:1', name: 'tab' });
    const fs = await e.containerFs({ id: c.id });
    fs.mkdir(fs.root(), 'new', { mode: 0o755, uid: 0, gid: 0 });
    await e.persistContainer({ id: c.id });
    const again = new Engine({ content: new IdbContentStore({ dbName: 'engine-idb-blobs' }), state: new IdbStateStore({ dbName: 'engine-idb-state' }), snapshots: new IdbSnapshotStore({ dbName: 'engine-idb-snapshots' }) });
    expect(await again.containerChanges({ id: 'tab' })).toEqual([{ kind: 'A', path: '/new' }]);
    expect((await again.listImages()).map((i) => `${i.repository}:${i.tag}`)).toEqual(['web:1']);
  });
});
