/**
 * Security cases for loading images. Each bad archive must fail with a SkiffError whose message
 * names the archive, the entry and the rule, and must leave the stores exactly as they were: no
 * new tag, no image record, no blob.
 */
import { gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../src/content/memory.ts';
import { Engine } from '../src/engine/engine.ts';
import { MemoryStateStore } from '../src/engine/state/memory.ts';
import { sha256Digest } from '../src/oci/digest.ts';
import type { LoadLimits } from '../src/engine/load/limits.ts';
import { gzipBombTar, gzipManyEntries } from './archive/bombs.ts';
import { encodePaxRecord } from '../src/archive/tar-format.ts';
import { buildImage, buildImageRaw, concat, dockerLegacyArchive, ociArchive, patchHeader, tar, type BuiltImage, type Spec } from './engine/fixtures/images.ts';

let content: MemoryContentStore;
let state: MemoryStateStore;
let engine: Engine;

async function snapshot(): Promise<unknown> {
  return {
    blobs: (await content.list()).map((b) => b.digest).sort(),
    images: await state.list('images'),
    tags: await state.list('tags'),
    containers: await state.list('containers'),
  };
}

beforeEach(async () => {
  content = new MemoryContentStore();
  state = new MemoryStateStore();
  engine = new Engine({ content, state });
  // Something already in the store, which must survive every failed load untouched.
  const ok = buildImage({ layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/os-release', content: 'ok' }] }] });
  await engine.loadArchive({ data: ociArchive([{ image: ok, tags: ['docker.io/library/victim:latest'] }]), name: 'good.tar' });
});

/** Load `data` as `name`, expect failure with `code` and every phrase in `phrases`, and no change to the store. */
async function rejects(data: Uint8Array, name: string, code: string, phrases: Array<string | RegExp>, extra: Partial<LoadLimits> & { stream?: boolean } = {}): Promise<void> {
  const before = await snapshot();
  let caught: unknown;
  const { stream, ...opts } = extra;
  try {
    if (stream) {
      // Streamed loads stage big blobs in the store while reading: they must be taken out again.
      await engine.loadArchive({ stream: (async function* () { for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536); })(), name, ...opts });
    } else await engine.loadArchive({ data, name, ...opts });
  } catch (err) {
    caught = err;
  }
  expect(caught, 'the load should have failed').toBeDefined();
  const err = caught as { name: string; code: string; message: string };
  expect(err.name).toBe('SkiffError');
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  expect(err.message).toContain(name);
  for (const p of phrases) expect(err.message).toMatch(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
  expect(await snapshot()).toEqual(before);
  // and the good image still resolves
  expect((await engine.resolveImage({ ref: 'victim' })).platform).toBe('linux/386');
}

const layerOf = (files: Spec[]): BuiltImage => buildImage({ layers: [{ files }] });
const blobName = (d: string): string => `blobs/sha256/${d.slice(7)}`;

describe('security: loading bad archives', () => {
  it('truncated archive', async () => {
    const data = ociArchive([{ image: layerOf([{ name: 'a', content: 'x'.repeat(5000) }]), tags: ['t/x:1'] }]);
    await rejects(data.subarray(0, data.length - 3000), 'cut.tar', 'INVALID_ARCHIVE', [/truncat|unexpected end/i]);
  });

  it('empty archive, and a tar that is no image archive', async () => {
    await rejects(new Uint8Array(0), 'empty.tar', 'INVALID_ARCHIVE', ['the archive is empty']);
    await rejects(tar([{ name: 'readme.txt', content: 'hi' }]), 'plain.tar', 'INVALID_ARCHIVE', ['no manifest.json', 'no index.json']);
  });

  it('corrupt archive (garbage, bad header checksum)', async () => {
    await rejects(new Uint8Array(4096).fill(0x41), 'garbage.tar', 'INVALID_ARCHIVE', [/checksum/i]);
  });

  it('impossible header size in the archive', async () => {
    const data = ociArchive([{ image: layerOf([{ name: 'a', content: 'x' }]), tags: ['t/x:1'] }]);
    await rejects(patchHeader(data, 0, [124, 12], '77777777777'), 'huge.tar', 'INVALID_ARCHIVE', ['oci-layout', /truncat|size|unexpected end/i]);
  });

  it('impossible header size inside a layer', async () => {
    const raw = patchHeader(tar([{ name: 'file', content: 'abc' }]), 0, [124, 12], '7777777');
    const img = buildImageRaw([{ raw }]);
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'layer-size.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), /truncat|size|unexpected end/i]);
  });

  it('blob whose content does not match its digest', async () => {
    const img = layerOf([{ name: 'a', content: 'original' }]);
    const evil = buildImage({ layers: [{ files: [{ name: 'a', content: 'tampered' }] }] });
    // Keep the manifest (and the blob name) of `img` but ship `evil`'s layer bytes under it.
    const data = ociArchive([{ image: { ...img, layers: [{ ...img.layers[0]!, bytes: evil.layers[0]!.bytes }] }, tags: ['t/x:1'] }]);
    await rejects(data, 'tampered.tar', 'DIGEST_MISMATCH', [blobName(img.layers[0]!.digest), 'hashes to', evil.layers[0]!.digest]);
  });

  it("layer whose uncompressed digest is not the config's diff_id", async () => {
    const img = buildImage({ layers: [{ files: [{ name: 'a', content: 'x' }], gzip: true }], badDiffId: 0 });
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'diffid.tar', 'DIGEST_MISMATCH', [blobName(img.layers[0]!.digest), "diff_id"]);
  });

  it('streamed: a big layer staged in the store is removed when a later check fails', async () => {
    const { randomBytes } = await import('node:crypto');
    const big = new Uint8Array(randomBytes(3 << 20));
    const img = buildImage({ layers: [{ files: [{ name: 'big', content: big }] }, { files: [{ name: 'x', content: 'x' }] }], badDiffId: 1 });
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'streamed.tar', 'DIGEST_MISMATCH', [blobName(img.layers[1]!.digest), 'diff_id'], { stream: true });
  });

  it('legacy config whose name claims another digest', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const wrongName = sha256Digest('other').slice(7);
    const data = dockerLegacyArchive([{ image: img, tags: ['t/x:1'] }]);
    // Rename <config hex>.json to another hex: patch the header name and manifest.json together.
    const text = new TextDecoder('latin1').decode(data).split(img.configDigest.slice(7)).join(wrongName);
    const patched = new Uint8Array([...text].map((c) => c.charCodeAt(0)));
    // manifest.json's header checksum is unchanged because only its body changed; the config header changed name:
    const off = findHeader(patched, `${wrongName}.json`);
    await rejects(patchHeader(patched, off, [100, 8], '0000644'), 'legacy.tar', 'DIGEST_MISMATCH', [`${wrongName}.json`, 'claims']);
  });

  for (const [label, files, entry, rule] of [
    ['../ escaping the root', [{ name: '../evil', content: 'x' }], '../evil', /escapes the root/],
    ['an absolute path', [{ name: '/etc/evil', content: 'x' }], '/etc/evil', /absolute/],
    ['a write through a symlink pointing outside', [{ name: 'link', type: 'symlink', target: '/etc' }, { name: 'link/passwd', content: 'x' }], 'link/passwd', /symlink/],
    ['a hard link pointing outside', [{ name: 'hl', type: 'hardlink', target: '../../etc/shadow' }], 'hl', /escapes the root/],
    ['a duplicate entry', [{ name: 'a', content: '1' }, { name: 'a', content: '2' }], 'a', /duplicate/],
  ] as Array<[string, Spec[], string, RegExp]>) {
    it(`layer entry: ${label}`, async () => {
      const img = layerOf(files);
      await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'layer.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), `"${entry}"`, rule]);
    });
  }

  it('an archive entry that is a symlink pointing outside the archive', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = tar([
      { name: `${img.configDigest.slice(7)}.json`, content: img.config },
      { name: 'l1/layer.tar', type: 'symlink', target: '../../../etc/passwd' },
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, RepoTags: ['t/x:1'], Layers: ['l1/layer.tar'] }]) },
    ]);
    await rejects(data, 'outside.tar', 'INVALID_ARCHIVE', ['../../../etc/passwd', /escapes the archive root/]);
  });

  it('import of a root filesystem tar applies the same layer rules', async () => {
    const before = await snapshot();
    const data = tar([{ name: 'etc', type: 'symlink', target: '/etc' }, { name: 'etc/passwd', content: 'x' }]);
    await expect(engine.importImage({ data, name: 'rootfs.tar', ref: 'evil:1' })).rejects.toMatchObject({
      code: 'INVALID_ARCHIVE', message: expect.stringMatching(/importing rootfs\.tar: .*"etc\/passwd".*symlink/),
    });
    expect(await snapshot()).toEqual(before);
  });

  it('duplicate entries in the archive itself', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = ociArchive([{ image: img, tags: ['t/x:1'] }], [{ name: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' }]);
    await rejects(data, 'dup.tar', 'INVALID_ARCHIVE', ['"index.json"', /duplicate/]);
  });

  it('gzip bomb', async () => {
    const zeros = tar([{ name: 'zeros', content: new Uint8Array(64 << 20) }]);
    const img = buildImageRaw([{ raw: zeros, gzip: true }]);
    expect(img.layers[0]!.bytes.byteLength).toBeLessThan(200_000);
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'bomb.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), /limit|exceed/i], { maxLayerBytes: 8 << 20 });
  });

  it('manifest naming a missing blob', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = ociArchive([{ image: { ...img, layers: [] }, tags: ['t/x:1'] }]);
    await rejects(data, 'missing.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), 'missing', 'layers[0]']);
  });

  it('unsupported layer media type', async () => {
    const img = buildImage({ layers: [{ files: [{ name: 'a', content: 'x' }] }], layerMediaType: 'application/vnd.oci.image.layer.v1.tar+bzip2' });
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'bzip.tar', 'UNSUPPORTED', [blobName(img.layers[0]!.digest), 'bzip2']);
  });

  it('unsupported config media type (an artifact, not an image)', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const manifest = new TextEncoder().encode(new TextDecoder().decode(img.manifest).replace('application/vnd.oci.image.config.v1+json', 'application/vnd.cncf.helm.config.v1+json'));
    const art = { ...img, manifest, manifestDigest: sha256Digest(manifest) };
    await rejects(ociArchive([{ image: art, tags: ['t/x:1'] }]), 'helm.tar', 'UNSUPPORTED', [blobName(img.configDigest), 'application/vnd.cncf.helm.config.v1+json']);
  });

  it('unsupported manifest media type in the index', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = tar([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: blobName(img.manifestDigest), content: img.manifest },
      { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.example.thing+json', digest: img.manifestDigest, size: img.manifest.byteLength }] }) },
    ]);
    await rejects(data, 'weird.tar', 'UNSUPPORTED', ['index.json manifests[0]', 'application/vnd.example.thing+json']);
  });

  it('a gzip layer that is not valid gzip', async () => {
    const bytes = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]);
    const img = buildImage({ layers: [{ files: [{ name: 'a', content: 'x' }] }], layerMediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    const broken = { ...img, layers: [{ ...img.layers[0]!, bytes, digest: sha256Digest(bytes) }] };
    const manifest = new TextEncoder().encode(new TextDecoder().decode(img.manifest).replace(img.layers[0]!.digest, broken.layers[0]!.digest).replace(`"size":${img.layers[0]!.bytes.byteLength}`, `"size":${bytes.byteLength}`));
    const fixed = { ...broken, manifest, manifestDigest: sha256Digest(manifest) };
    await rejects(ociArchive([{ image: fixed, tags: ['t/x:1'] }]), 'badgz.tar', 'INVALID_ARCHIVE', [blobName(fixed.layers[0]!.digest), /gzip|deflate|header|incorrect|unexpected end/i]);
  });
});

/** `img` with layer `at` replaced by `bytes`, keeping its config (so its diff_ids). */
function withLayerBytes(img: BuiltImage, at: number, bytes: Uint8Array, mediaType: string): BuiltImage {
  const layers = img.layers.map((l, i) => (i === at ? { ...l, bytes, digest: sha256Digest(bytes), mediaType } : l));
  const m = JSON.parse(new TextDecoder().decode(img.manifest)) as { layers: Array<{ mediaType: string; digest: string; size: number }> };
  m.layers = layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.byteLength }));
  const manifest = new TextEncoder().encode(JSON.stringify(m));
  return { ...img, layers, manifest, manifestDigest: sha256Digest(manifest) };
}

/**
 * `real` with layer `at` swapped for other bytes, keeping its config (so its diff_ids, ChainIDs and
 * Docker image ID): an evil twin of a public image.
 */
function evilTwin(real: BuiltImage, at: number, files: Spec[], gzip = false): BuiltImage {
  const raw = tar(files);
  return withLayerBytes(real, at, gzip ? new Uint8Array(gzipSync(raw)) : raw, `application/vnd.oci.image.layer.v1.tar${gzip ? '+gzip' : ''}`);
}

describe('security: evil twins (two images claiming the same diff_ids)', () => {
  const base: Spec[] = [{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', content: 'the real shell' }];
  const evilBase: Spec[] = [{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', content: 'an evil shell' }];
  const real = buildImage({ layers: [{ files: base, gzip: true }, { files: [{ name: 'app', content: 'real app' }] }] });

  for (const [label, at, files, gzip] of [
    ['the base layer swapped', 0, evilBase, true],
    ['the top layer swapped', 1, [{ name: 'app', content: 'evil app' }], false],
    ['the base layer swapped, stored uncompressed', 0, evilBase, false],
  ] as Array<[string, number, Spec[], boolean]>) {
    it(`OCI archive with a public image and its twin, ${label}: refused, naming the twin's layer`, async () => {
      const evil = evilTwin(real, at, files, gzip);
      const data = ociArchive([{ image: real, tags: ['docker.io/library/public:1'] }, { image: evil, tags: ['docker.io/library/public:evil'] }]);
      await rejects(data, 'twins.tar', 'DIGEST_MISMATCH', [blobName(evil.layers[at]!.digest), `layer ${evil.layers[at]!.digest} uncompresses to`, `diff_id is ${real.layers[at]!.diffId}`]);
    });
  }

  it('docker save archive with a public image and its twin (same config file): refused', async () => {
    const evil = evilTwin(real, 0, evilBase, true);
    const cfg = `${real.configDigest.slice(7)}.json`;
    const layerFiles = (img: BuiltImage, dir: string): Spec[] => img.layers.map((l, i) => ({ name: `${dir}${i}/layer.tar`, content: l.bytes }));
    const data = tar([
      { name: cfg, content: real.config },
      ...layerFiles(real, 'real'),
      ...layerFiles(evil, 'evil'),
      { name: 'manifest.json', content: JSON.stringify([
        { Config: cfg, RepoTags: ['public:1'], Layers: ['real0/layer.tar', 'real1/layer.tar'] },
        { Config: cfg, RepoTags: ['public:evil'], Layers: ['evil0/layer.tar', 'evil1/layer.tar'] },
      ]) },
    ]);
    await rejects(data, 'twins-legacy.tar', 'DIGEST_MISMATCH', ['"evil0/layer.tar"', `layer ${evil.layers[0]!.digest} uncompresses to`, `diff_id is ${real.layers[0]!.diffId}`]);
  });

  it('the twin first, then the public image: refused too', async () => {
    const evil = evilTwin(real, 1, [{ name: 'app', content: 'evil app' }]);
    const data = ociArchive([{ image: evil, tags: ['docker.io/library/public:evil'] }, { image: real, tags: ['docker.io/library/public:1'] }]);
    await rejects(data, 'twins-rev.tar', 'DIGEST_MISMATCH', [blobName(evil.layers[1]!.digest), 'diff_id']);
  });

  it('a true twin (the same tar compressed differently) loads, and each image reads its own, identical, bytes', async () => {
    const plain = buildImage({ layers: [{ files: base }] });
    const gz = evilTwin(plain, 0, base, true);
    expect(gz.layers[0]!.digest).not.toBe(plain.layers[0]!.digest);
    const r = await engine.loadArchive({ data: ociArchive([{ image: plain, tags: ['docker.io/library/p:plain'] }, { image: gz, tags: ['docker.io/library/p:gz'] }]), name: 'ok.tar' });
    expect(r.images.map((i) => i.existed)).toEqual([false, false]);
    for (const tag of ['p:plain', 'p:gz']) expect(await readImageFile(tag, 'bin/sh')).toBe('the real shell');
  });

  it('a long-lived engine that already serves the public image never serves the twin\'s bytes', async () => {
    await engine.loadArchive({ data: ociArchive([{ image: real, tags: ['docker.io/library/public:1'] }]), name: 'public.tar' });
    expect(await readImageFile('public:1', 'bin/sh')).toBe('the real shell');
    const evil = evilTwin(real, 0, evilBase, true);
    const data = ociArchive([{ image: real, tags: ['docker.io/library/public:1'] }, { image: evil, tags: ['docker.io/library/public:evil'] }]);
    await rejects(data, 'twins.tar', 'DIGEST_MISMATCH', [blobName(evil.layers[0]!.digest)]);
    await expect(engine.resolveImage({ ref: 'public:evil' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await readImageFile('public:1', 'bin/sh')).toBe('the real shell');
  });
});

describe('security: bombs and budgets', () => {
  const gz = 'application/vnd.oci.image.layer.v1.tar+gzip';
  const zst = 'application/vnd.oci.image.layer.v1.tar+zstd';
  const one = (): BuiltImage => layerOf([{ name: 'a', content: 'x' }]);
  const MiB = 1 << 20;

  it('the 3 x 1 GiB gzip bomb (3 MB) is refused at the default per-image budget, streaming (no 1 GiB buffer)', async () => {
    const bomb = gzipBombTar(3, 1024 * MiB);
    expect(bomb.byteLength).toBeLessThan(4e6);
    const img = withLayerBytes(one(), 0, bomb, gz);
    const rssBefore = process.resourceUsage().maxRSS;
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'bomb3g.tar', 'INVALID_ARCHIVE',
      [blobName(img.layers[0]!.digest), 'holds more than 1 GiB (1073741824 bytes) uncompressed', 'load options maxLayerBytes and maxImageBytes']);
    // The old reader gathered each 1 GiB entry in memory (2 GiB with its copy).
    expect((process.resourceUsage().maxRSS - rssBefore) / 1024).toBeLessThan(400);
  }, 60_000);

  it('per-layer budget (maxLayerBytes)', async () => {
    const img = withLayerBytes(one(), 0, gzipBombTar(1, 16 * MiB), gz);
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'layer.tar', 'INVALID_ARCHIVE', [`layer ${img.layers[0]!.digest} holds more than 8 MiB`, 'maxLayerBytes'], { maxLayerBytes: 8 * MiB });
  });

  it('per-image budget counts every layer of the image, shared ones too', async () => {
    const big = { files: [{ name: 'big', content: new Uint8Array(3 * MiB) }] };
    const a = buildImage({ layers: [big, { files: [{ name: 'a', content: 'a' }] }] });
    const b = buildImage({ layers: [big, { files: [{ name: 'b', content: new Uint8Array(2 * MiB) }] }] });
    await rejects(ociArchive([{ image: a, tags: ['t/a:1'] }, { image: b, tags: ['t/b:1'] }]), 'image.tar', 'INVALID_ARCHIVE', ['image docker.io/t/b:1 holds more than 4 MiB', 'maxImageBytes'], { maxImageBytes: 4 * MiB });
  });

  it('per-load budget: images each within theirs, together over it', async () => {
    const imgs = [1, 2, 3].map((i) => buildImage({ layers: [{ files: [{ name: `f${i}`, content: new Uint8Array(2 * MiB).fill(i) }] }] }));
    await rejects(ociArchive(imgs.map((image, i) => ({ image, tags: [`t/i:${i}`] }))), 'load.tar', 'INVALID_ARCHIVE', ['load.tar (all its layers together) holds more than 5 MiB', 'maxLoadBytes'], { maxLoadBytes: 5 * MiB });
  });

  it('per-image entries: a directory of 5,000 entries', async () => {
    const img = withLayerBytes(one(), 0, gzipManyEntries(5000), gz);
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'entries.tar', 'INVALID_ARCHIVE', ['image docker.io/t/x:1 holds more than 1000 entries', 'maxImageEntries'], { maxImageEntries: 1000 });
  });

  it('per-load entries, in the archive itself', async () => {
    const img = one();
    const junk: Spec[] = Array.from({ length: 300 }, (_, i) => ({ name: `junk/${i}`, content: '' }));
    for (const stream of [true, false]) {
      await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }], junk), 'many.tar', 'INVALID_ARCHIVE', ['many.tar holds more than 100 entries', 'maxLoadEntries'], { maxLoadEntries: 100, stream });
    }
  });

  it('a zstd layer declaring a 1.9 GiB window (9 bytes) is refused before fzstd allocates it', async () => {
    const bomb = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, (20 << 3) | 7, 1, 0, 0]);
    const img = withLayerBytes(one(), 0, bomb, zst);
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'zwin.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), 'needs a 1920 MiB window, over the limit of 8 MiB', 'maxZstdWindowBytes']);
  });

  it('a zstd-compressed archive declaring a huge window is refused the same way', async () => {
    const bomb = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, (20 << 3) | 7, 1, 0, 0]);
    await rejects(bomb, 'archive.tar.zst', 'INVALID_ARCHIVE', ['archive.tar.zst', 'needs a 1920 MiB window']);
  });

  it('zstd skippable frames around a layer are fine; tiny blocks under a big window are not', async () => {
    const raw = tar([{ name: 'a', content: 'x' }]);
    const { execFileSync } = await import('node:child_process');
    const z = new Uint8Array(execFileSync('zstd', ['-c', '-q'], { input: raw }));
    const skip = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    const ok = withLayerBytes(one(), 0, new Uint8Array([...skip, ...z, ...skip]), zst);
    await engine.loadArchive({ data: ociArchive([{ image: ok, tags: ['t/ok:1'] }]), name: 'skippable.tar' });
    const tiny = Array.from({ length: 20_000 }, () => [8, 0, 0, 0x41]).flat();
    const slow = withLayerBytes(one(), 0, new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 13 << 3, ...tiny, 1, 0, 0]), zst);
    await rejects(ociArchive([{ image: slow, tags: ['t/x:1'] }]), 'tiny.tar', 'INVALID_ARCHIVE', [blobName(slow.layers[0]!.digest), 'zstd blocks too small for their 8 MiB window']);
  });

  it('a gzip-compressed archive that decompresses past maxArchiveBytes', async () => {
    await rejects(gzipBombTar(1, 16 * MiB), 'archive.tar.gz', 'INVALID_ARCHIVE', ['archive.tar.gz (decompressed) holds more than 8 MiB', 'maxArchiveBytes'], { maxArchiveBytes: 8 * MiB });
  });

  it('a hundred 1 MiB files in an archive do not pile up in memory', async () => {
    const { readListing, KEPT_IN_MEMORY_TOTAL } = await import('../src/engine/load/loader.ts');
    const { readTarEvents } = await import('../src/archive/index.ts');
    const mib = new Uint8Array(MiB).fill(7);
    const data = tar(Array.from({ length: 100 }, (_, i) => ({ name: `junk/${i}`, content: mib })));
    const added: string[] = [];
    const listing = await readListing(Engine.contextOf(engine), 'junk.tar', readTarEvents([data]), added as never[]);
    const kept = [...listing.files.values()].reduce((n, f) => n + (f.bytes?.byteLength ?? 0), 0);
    expect(kept).toBeLessThanOrEqual(KEPT_IN_MEMORY_TOTAL);
    expect(listing.files.size).toBe(100);
    for (const d of added) await content.delete(d as never);
    // JSON documents are what the planner reads: a flood of them is refused instead.
    const json = new TextEncoder().encode(`[${'0,'.repeat((MiB - 8) / 2)}0]`);
    const flood = tar(Array.from({ length: 70 }, (_, i) => ({ name: `j/${i}.json`, content: json })));
    await rejects(new Uint8Array(gzipSync(flood)), 'flood.tar.gz', 'INVALID_ARCHIVE', [`more than ${KEPT_IN_MEMORY_TOTAL} bytes of JSON documents`]);
  });

  it('limits must be positive numbers', async () => {
    await expect(engine.loadArchive({ data: ociArchive([{ image: one() }]), maxImageBytes: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('maxImageBytes must be a positive number') });
  });
});

describe('security: documents nested too deep (they would crash inspect later)', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);

  it('a config with a value nested 100,000 deep', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const cfg = JSON.parse(new TextDecoder().decode(img.config)) as Record<string, unknown>;
    const config = new TextEncoder().encode(JSON.stringify({ ...cfg, deep: 0 }).replace('"deep":0', `"deep":${deep}`));
    const m = JSON.parse(new TextDecoder().decode(img.manifest)) as { config: { digest: string; size: number } };
    m.config = { ...m.config, digest: sha256Digest(config), size: config.byteLength };
    const manifest = new TextEncoder().encode(JSON.stringify(m));
    const nested = { ...img, config, configDigest: sha256Digest(config), manifest, manifestDigest: sha256Digest(manifest) };
    await rejects(ociArchive([{ image: nested, tags: ['t/x:1'] }]), 'deep-config.tar', 'INVALID_ARCHIVE', [blobName(nested.configDigest), 'nested more than 64 levels deep']);
  });

  it('an index.json nested 100,000 deep', async () => {
    const data = tar([{ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', content: `{"schemaVersion":2,"manifests":[],"x":${deep}}` }]);
    await rejects(data, 'deep-index.tar', 'INVALID_ARCHIVE', ['"index.json"', 'nested more than 64 levels deep']);
  });

  it('a docker manifest.json nested 100,000 deep', async () => {
    await rejects(tar([{ name: 'manifest.json', content: deep }]), 'deep-manifest.tar', 'INVALID_ARCHIVE', ['"manifest.json"', 'nested more than 64 levels deep']);
  });
});

describe('security: more hostile layers', () => {
  for (const [label, files, entry, rule] of [
    ['.. after a directory, climbing two levels', [{ name: 'a/', type: 'directory' }, { name: 'a/../../x', content: 'x' }], 'a/../../x', /escapes the root/],
    ['./.. at the start', [{ name: './../x', content: 'x' }], './../x', /escapes the root/],
    ['.. three deep', [{ name: 'a/b/../../../etc/x', content: 'x' }], 'a/b/../../../etc/x', /escapes the root/],
    ['a hard link to an absolute host path', [{ name: 'hl', type: 'hardlink', target: '/etc/passwd' }], 'hl', /hardlink target "\/etc\/passwd": absolute paths are not allowed/],
    ['a hard link to a file in no layer', [{ name: 'hl', type: 'hardlink', target: 'etc/shadow' }], 'hl', /hardlink target "etc\/shadow" does not exist/],
    ['a hard link through a symlink', [{ name: 'd/', type: 'directory' }, { name: 'd/f', content: 'x' }, { name: 's', type: 'symlink', target: 'd' }, { name: 'hl', type: 'hardlink', target: 's/f' }], 'hl', /goes through a symlink/],
    ['a hard link to a directory', [{ name: 'd/', type: 'directory' }, { name: 'hl', type: 'hardlink', target: 'd' }], 'hl', /is a directory/],
    ['a hard link to itself', [{ name: 'hl', type: 'hardlink', target: 'hl' }], 'hl', /hardlink to itself|does not exist/],
    ['a write through a symlink climbing out', [{ name: 'up', type: 'symlink', target: '../..' }, { name: 'up/x', content: 'x' }], 'up/x', /symlink/],
    ['a whiteout naming ..', [{ name: 'a/', type: 'directory' }, { name: 'a/.wh...', content: '' }], 'a/.wh...', /whiteout names no file/],
    ['a file under a file', [{ name: 'a', content: 'x' }, { name: 'a/b', content: 'y' }], 'a/b', /parent "a" is not a directory/],
    ['a name over 255 bytes', [{ name: 'n'.repeat(300), content: 'x' }], 'n'.repeat(300), /longer than 255 bytes/],
  ] as Array<[string, Spec[], string, RegExp]>) {
    it(`layer entry: ${label}`, async () => {
      const img = layerOf(files);
      await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'layer.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), entry.length > 100 ? 'n'.repeat(100) : `"${entry}"`, rule]);
    });
  }

  it('a pax size record that overflows', async () => {
    const raw = paxTar(encodePaxRecord('size', '99999999999999999999'));
    const img = withLayerBytes(layerOf([{ name: 'a', content: 'x' }]), 0, raw, 'application/vnd.oci.image.layer.v1.tar');
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'pax.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), 'pax record size="99999999999999999999" is not a valid non-negative integer']);
  });

  it('a pax header over 1 MiB inside a layer', async () => {
    const raw = paxTar(new Uint8Array((1 << 20) + 100).fill(0x61));
    const img = withLayerBytes(layerOf([{ name: 'a', content: 'x' }]), 0, raw, 'application/vnd.oci.image.layer.v1.tar');
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'paxbig.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), 'pax header of 1048676 bytes exceeds the 1048576-byte limit']);
  });

  it('a GNU sparse entry inside a layer', async () => {
    const raw = patchHeader(tar([{ name: 'sparse', content: 'x' }]), 0, [156, 1], 'S');
    const img = withLayerBytes(layerOf([{ name: 'a', content: 'x' }]), 0, raw, 'application/vnd.oci.image.layer.v1.tar');
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'sparse.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), 'GNU sparse']);
  });

  it('a truncated gzip layer', async () => {
    const full = new Uint8Array(gzipSync(tar([{ name: 'a', content: 'x'.repeat(50_000) }])));
    const img = withLayerBytes(layerOf([{ name: 'a', content: 'x' }]), 0, full.subarray(0, full.length - 20), 'application/vnd.oci.image.layer.v1.tar+gzip');
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'cutgz.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), /corrupt or truncated gzip|unexpected end/i]);
  });

  it('a truncated zstd layer', async () => {
    const { execFileSync } = await import('node:child_process');
    const full = new Uint8Array(execFileSync('zstd', ['-c', '-q'], { input: tar([{ name: 'a', content: 'x'.repeat(50_000) }]) }));
    const img = withLayerBytes(layerOf([{ name: 'a', content: 'x' }]), 0, full.subarray(0, full.length - 5), 'application/vnd.oci.image.layer.v1.tar+zstd');
    await rejects(ociArchive([{ image: img, tags: ['t/x:1'] }]), 'cutzst.tar', 'INVALID_ARCHIVE', [blobName(img.layers[0]!.digest), 'corrupt or truncated zstd data']);
  });
});

describe('security: more hostile archives', () => {
  for (const [label, flag, kind] of [['a character device', '3', 'chardev'], ['a block device', '4', 'blockdev'], ['a fifo', '6', 'fifo']] as const) {
    it(`${label} in the archive itself`, async () => {
      const dev = patchHeader(tar([{ name: 'dev/null', content: '' }]), 0, [156, 1], flag).subarray(0, 512);
      const data = concat([dev, ociArchive([{ image: layerOf([{ name: 'a', content: 'x' }]) }])]);
      await rejects(data, 'dev.tar', 'INVALID_ARCHIVE', ['"dev/null"', `unexpected ${kind} entry in an image archive`]);
    });
  }

  it('a 2 MiB pax path in the archive itself', async () => {
    const data = tar([{ name: `${'d/'.repeat(1 << 20)}x`, content: 'x' }]);
    await rejects(data, 'longpath.tar', 'INVALID_ARCHIVE', [/pax header of \d+ bytes exceeds the 1048576-byte limit/]);
  });

  it('a config blob whose bytes differ from its digest', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const evil = { ...img, config: new TextEncoder().encode(new TextDecoder().decode(img.config).replace('"sh"', '"rm"')) };
    await rejects(ociArchive([{ image: evil, tags: ['t/x:1'] }]), 'cfg.tar', 'DIGEST_MISMATCH', [blobName(img.configDigest), 'hashes to', sha256Digest(evil.config)]);
  });

  it('a manifest whose size differs from the index descriptor', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = tar([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: blobName(img.manifestDigest), content: img.manifest },
      { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: img.manifest.byteLength + 1 }] }) },
    ]);
    await rejects(data, 'msize.tar', 'DIGEST_MISMATCH', [blobName(img.manifestDigest), `${img.manifest.byteLength} bytes, but index.json manifests[0] says ${img.manifest.byteLength + 1}`]);
  });

  it('an index naming a config blob as its manifest', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = tar([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: blobName(img.configDigest), content: img.config },
      { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.configDigest, size: img.config.byteLength }] }) },
    ]);
    await rejects(data, 'confused.tar', 'INVALID_ARCHIVE', [`manifest ${img.configDigest}`, /field "(config|layers|schemaVersion)"/]);
  });

  it('docker manifest.json naming a layer outside the archive', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = tar([
      { name: `${img.configDigest.slice(7)}.json`, content: img.config },
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, RepoTags: ['t/x:1'], Layers: ['../../etc/passwd'] }]) },
    ]);
    await rejects(data, 'outside2.tar', 'INVALID_ARCHIVE', ['"../../etc/passwd"', 'escapes the archive root']);
  });

  it('archive links that loop', async () => {
    const img = layerOf([{ name: 'a', content: 'x' }]);
    const data = tar([
      { name: `${img.configDigest.slice(7)}.json`, content: img.config },
      { name: 'l1', type: 'symlink', target: 'l2' },
      { name: 'l2', type: 'symlink', target: 'l1' },
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, RepoTags: ['t/x:1'], Layers: ['l1'] }]) },
    ]);
    await rejects(data, 'loop.tar', 'INVALID_ARCHIVE', ['"l1"', 'too many levels of links']);
  });

  it('an unsupported oci-layout version', async () => {
    const data = ociArchive([{ image: layerOf([{ name: 'a', content: 'x' }]) }]);
    // Same length, so only the body changes and the header stays valid.
    const patched = new Uint8Array([...new TextDecoder('latin1').decode(data).replace('"imageLayoutVersion":"1.0.0"', '"imageLayoutVersion":"9.0.0"')].map((c) => c.charCodeAt(0)));
    await rejects(patched, 'layout.tar', 'UNSUPPORTED', ['"oci-layout"', 'imageLayoutVersion "9.0.0" is not supported']);
  });
});

/** A layer tar whose one entry is preceded by a pax header holding `records`. */
function paxTar(records: Uint8Array): Uint8Array {
  const body = tar([{ name: 'victim', content: 'ok' }]);
  let hdr = patchHeader(body.subarray(0, 512), 0, [0, 100], 'PaxHeaders/victim');
  hdr = patchHeader(hdr, 0, [156, 1], 'x');
  hdr = patchHeader(hdr, 0, [124, 12], records.length.toString(8).padStart(11, '0'));
  const pad = (512 - (records.length % 512)) % 512;
  const out = new Uint8Array(512 + records.length + pad + body.length);
  out.set(hdr.subarray(0, 512));
  out.set(records, 512);
  out.set(body, 512 + records.length + pad);
  return out;
}

/** A file of a new container of `ref`, read through the engine's (long-lived) layer cache. */
async function readImageFile(ref: string, path: string): Promise<string> {
  const c = await engine.createContainer({ image: ref });
  const fs = await engine.containerFs({ id: c.id });
  let node = fs.root();
  for (const part of path.split('/')) node = fs.lookup(node, part);
  const text = new TextDecoder().decode(fs.read(node, 0, 1 << 20));
  await engine.removeContainer({ id: c.id, force: true });
  return text;
}

function findHeader(bytes: Uint8Array, name: string): number {
  const want = new TextEncoder().encode(name);
  for (let off = 0; off + 512 <= bytes.length; off += 512) {
    if (want.every((b, i) => bytes[off + i] === b) && bytes[off + want.length] === 0) return off;
  }
  throw new Error(`no header ${name}`);
}

// keep gzipSync referenced for fixture tweaks
void gzipSync;
