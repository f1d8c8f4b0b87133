/**
 * Round trips with real peers: images built by umoci (whose repack writes whiteouts) and converted
 * by skopeo load into skiff; `skiff export` equals `umoci unpack`; skiff's `save` output is read by
 * skopeo with the same digests, in both docker-archive and oci-archive form.
 */
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { Digest } from '../../src/oci/digest.ts';
import { drain } from '../engine/fixtures/images.ts';
import { run } from '../helpers/exec.ts';
import { diskTree, initLayerExtras, tarTree } from './peers.ts';

let dir: string;
let layout: string;
let manifestDigest: Digest;

function sha256(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
function engine(): Engine {
  return new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore() });
}
function ociIndex(): { manifests: Array<{ digest: Digest; annotations?: Record<string, string> }> } {
  return JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-interop-'));
  layout = join(dir, 'layout');
  const b = join(dir, 'bundle');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:base`]);
  // Layer 1: files, a symlink, a hard link, an odd mode, a non-ASCII and a long name.
  run('umoci', ['unpack', '--rootless', '--image', `${layout}:base`, b]);
  const r = join(b, 'rootfs');
  mkdirSync(join(r, 'etc'), { recursive: true });
  mkdirSync(join(r, 'dir/sub'), { recursive: true });
  mkdirSync(join(r, 'bin'), { recursive: true });
  writeFileSync(join(r, 'etc/motd'), 'hello from umoci\n');
  writeFileSync(join(r, 'dir/sub/f'), 'x');
  writeFileSync(join(r, 'bin/tool'), Buffer.alloc(70_000, 7));
  chmodSync(join(r, 'bin/tool'), 0o755);
  writeFileSync(join(r, 'etc/ünïcødé'), 'utf8');
  writeFileSync(join(r, `etc/${'long-name-'.repeat(12)}`), 'long');
  symlinkSync('../etc/motd', join(r, 'bin/link'));
  linkSync(join(r, 'etc/motd'), join(r, 'etc/motd.hard'));
  chmodSync(join(r, 'dir'), 0o750);
  run('umoci', ['repack', '--image', `${layout}:base`, b]);
  rmSync(b, { recursive: true, force: true });
  // Layer 2: deletions (whiteouts, incl. a whole directory) and an addition.
  run('umoci', ['unpack', '--rootless', '--image', `${layout}:base`, b]);
  rmSync(join(r, 'dir/sub'), { recursive: true });
  unlinkSync(join(r, 'etc/motd.hard'));
  writeFileSync(join(r, 'etc/new'), 'new\n');
  run('umoci', ['repack', '--image', `${layout}:base`, b]);
  // linux/386: an image skiff can run (containers are created for a runtime that can start them).
  run('umoci', ['config', '--image', `${layout}:base`, '--config.cmd', 'sh', '--config.env', 'A=1', '--os', 'linux', '--architecture', '386']);
  run('tar', ['-C', layout, '-cf', join(dir, 'umoci.tar'), '.']);
  manifestDigest = ociIndex().manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'base')!.digest;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('interop with umoci and skopeo', () => {
  it('loads an OCI archive umoci wrote, whiteouts included, keeping its manifest digest', async () => {
    const e = engine();
    const res = await e.loadArchive({ data: readFileSync(join(dir, 'umoci.tar')), name: 'umoci.tar' });
    // umoci's ref.name is a bare tag ("base"), which names no repository: the image loads untagged.
    expect(res.images).toMatchObject([{ digest: manifestDigest, tags: [] }]);
    const img = await e.resolveImage({ ref: manifestDigest });
    expect(img.layers.length).toBe(2);
    // the second layer really carries whiteouts
    const { gunzipSync } = await import('node:zlib');
    const { readTar } = await import('../../src/archive/index.ts');
    const top = gunzipSync(readFileSync(join(layout, 'blobs', 'sha256', img.layers[1]!.digest.slice(7))));
    const names = readTar(new Uint8Array(top)).map((x) => x.header.name.replace(/^\.\//, ''));
    expect(names).toEqual(expect.arrayContaining(['dir/.wh.sub', 'etc/.wh.motd.hard']));
    expect((await e.imageConfig({ ref: manifestDigest })).config?.Cmd).toEqual(['sh']);
  });

  it('skiff export of a container equals umoci unpack of the same image', async () => {
    const e = engine();
    await e.loadArchive({ data: readFileSync(join(dir, 'umoci.tar')), name: 'umoci.tar' });
    const c = await e.createContainer({ image: manifestDigest, name: 'cmp' });
    const exported = tarTree(await drain(await e.exportContainer({ id: c.id })));
    const unpacked = join(dir, 'unpacked');
    run('umoci', ['unpack', '--rootless', '--image', `${layout}:base`, unpacked]);
    const reference = diskTree(join(unpacked, 'rootfs'));
    expect(reference.has('dir/sub')).toBe(false);
    expect(reference.has('etc/motd.hard')).toBe(false);
    expect(reference.get('etc/new')?.data).toBe('new\n');
    // The init layer: the mount points of the VM runtime's spec that this bare image lacks.
    expect(initLayerExtras(exported, reference)).toEqual(['dev', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'proc', 'sys']);
    for (const [p, want] of reference) expect({ p, ...exported.get(p) }).toEqual({ p, ...want });
  });

  it('loads what skopeo copy oci: -> docker-archive: writes, with the same config and diff_ids', async () => {
    const out = join(dir, 'skopeo-docker.tar');
    run('skopeo', ['copy', '--quiet', `oci:${layout}:base`, `docker-archive:${out}:example.com/team/app:v1`]);
    const e = engine();
    const res = await e.loadArchive({ data: readFileSync(out), name: 'skopeo-docker.tar' });
    expect(res.images[0]!.tags).toEqual(['example.com/team/app:v1']);
    const img = await e.resolveImage({ ref: 'example.com/team/app:v1' });
    const orig = engine();
    await orig.loadArchive({ data: readFileSync(join(dir, 'umoci.tar')) });
    const o = await orig.resolveImage({ ref: manifestDigest });
    expect(img.id).toBe(o.id);
    expect(img.layers.map((l) => l.diffId)).toEqual(o.layers.map((l) => l.diffId));
  });

  it('loads what skopeo copy writes as an oci-archive:', async () => {
    const out = join(dir, 'skopeo-oci.tar');
    run('skopeo', ['copy', '--quiet', `oci:${layout}:base`, `oci-archive:${out}:localhost:5000/x/y:2`]);
    const e = engine();
    const res = await e.loadArchive({ data: readFileSync(out), name: 'skopeo-oci.tar' });
    expect(res.images[0]!.digest).toBe(manifestDigest);
  });

  it('skopeo reads our docker save output with the same digests, and copies it', async () => {
    const e = engine();
    await e.loadArchive({ data: readFileSync(join(dir, 'umoci.tar')) });
    await e.tag({ source: manifestDigest, target: 'skiff/roundtrip:1' });
    const img = await e.resolveImage({ ref: 'skiff/roundtrip:1' });
    const out = join(dir, 'saved-docker.tar');
    writeFileSync(out, await drain(await e.saveArchive({ refs: ['skiff/roundtrip:1'], format: 'docker' })));
    const inspect = JSON.parse(run('skopeo', ['inspect', `docker-archive:${out}`]));
    expect(inspect.RepoTags ?? []).toEqual([]);
    expect(inspect.Layers).toEqual(img.layers.map((l) => l.diffId));
    const config = run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${out}`]);
    expect(sha256(Buffer.from(config))).toBe(img.id);
    run('skopeo', ['copy', '--quiet', `docker-archive:${out}`, `oci:${join(dir, 'copied')}:x`]);
    // and it loads back into skiff as the same image ID
    const e2 = engine();
    const res = await e2.loadArchive({ data: readFileSync(out), name: 'saved-docker.tar' });
    expect(res.images[0]).toMatchObject({ id: img.id, tags: ['docker.io/skiff/roundtrip:1'] });
  });

  it('skopeo reads our OCI save output with the same manifest digest', async () => {
    const e = engine();
    await e.loadArchive({ data: readFileSync(join(dir, 'umoci.tar')) });
    await e.tag({ source: manifestDigest, target: 'skiff/roundtrip:oci' });
    const out = join(dir, 'saved-oci.tar');
    writeFileSync(out, await drain(await e.saveArchive({ refs: ['skiff/roundtrip:oci'], format: 'oci' })));
    const raw = run('skopeo', ['inspect', '--raw', `oci-archive:${out}`]);
    expect(sha256(Buffer.from(raw))).toBe(manifestDigest);
    run('skopeo', ['copy', '--quiet', `oci-archive:${out}:oci`, `oci:${join(dir, 'copied-oci')}:y`]);
    const copied = JSON.parse(readFileSync(join(dir, 'copied-oci', 'index.json'), 'utf8'));
    expect(copied.manifests[0].digest).toBe(manifestDigest);
  });
});
