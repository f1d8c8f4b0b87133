import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { putBlob } from '../../src/content/store.ts';
import { Engine } from '../../src/engine/engine.ts';
import { LayerCache, treeKeys } from '../../src/engine/layers.ts';
import type { ImageRecord } from '../../src/engine/types.ts';
import type { LayerTree } from '../../src/fs/layer.ts';
import type { ChainID, DiffID } from '../../src/oci/digest.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

async function twoImagesSharingABase() {
  const content = new MemoryContentStore();
  const e = new Engine({ content, state: new MemoryStateStore() });
  const base = { files: [{ name: 'bin/', type: 'directory' as const }, { name: 'bin/sh', content: 'x'.repeat(10_000) }], gzip: true };
  const a = buildImage({ layers: [base, { files: [{ name: 'a', content: 'a' }] }] });
  const b = buildImage({ layers: [base, { files: [{ name: 'b', content: 'b' }] }] });
  await e.loadArchive({ data: ociArchive([{ image: a, tags: ['docker.io/library/a:1'] }, { image: b, tags: ['docker.io/library/b:1'] }]) });
  return { content, ra: await e.resolveImage({ ref: 'a:1' }), rb: await e.resolveImage({ ref: 'b:1' }) };
}

describe('LayerCache', () => {
  it('images sharing a base layer share its tree (the base file inode is one object)', async () => {
    const { content, ra, rb } = await twoImagesSharingABase();
    const cache = new LayerCache(content);
    const ta = (await cache.tree(ra))!;
    const tb = (await cache.tree(rb))!;
    const sh = (t: typeof ta) => t.root.children!.get('bin')!.children!.get('sh');
    expect(sh(ta)).toBeDefined();
    expect(sh(ta)).toBe(sh(tb));
    expect(ta.root.children!.has('a') && !ta.root.children!.has('b')).toBe(true);
    expect(await cache.tree(ra)).toBe(ta);
  });

  it('stays within its byte budget', async () => {
    const { content, ra, rb } = await twoImagesSharingABase();
    const cache = new LayerCache(content, { maxBytes: 15_000 });
    await cache.tree(ra);
    await cache.tree(rb);
    expect(cache.size).toBeLessThanOrEqual(15_000);
    expect((await cache.tree(ra))!.root.children!.has('a')).toBe(true);
  });
});

describe('LayerCache keys trees by the blobs, not by what configs claim', () => {
  // Two records claiming the same diff_ids (so the same ChainIDs) for different bytes: a store
  // written before loads checked every blob, or any other way an unchecked blob got in. The tree
  // built for one must never be served for the other.
  it('an evil twin sharing ChainIDs never gets (or gives) the other image its tree', async () => {
    const content = new MemoryContentStore();
    const real = buildImage({ layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'real' }] }] });
    const evil = buildImage({ layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'evil' }] }] });
    await putBlob(content, real.layers[0]!.bytes);
    await putBlob(content, evil.layers[0]!.bytes);
    const record = (img: typeof real, diffId: string): ImageRecord => ({
      digest: img.manifestDigest, id: img.configDigest, mediaType: 'application/vnd.oci.image.manifest.v1+json', manifestSize: img.manifest.byteLength,
      config: { digest: img.configDigest, size: img.config.byteLength, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: [{ digest: img.layers[0]!.digest, size: img.layers[0]!.bytes.byteLength, mediaType: img.layers[0]!.mediaType, diffId: diffId as DiffID, uncompressedSize: img.layers[0]!.bytes.byteLength }],
      chainId: diffId as ChainID, platform: 'linux/386', size: 0, loadedAt: '2026-01-01T00:00:00Z',
    });
    const motd = (t: LayerTree | null) => new TextDecoder().decode(t!.root.children!.get('etc')!.children!.get('motd')!.content!.bytes());
    for (const order of [['evil', 'real'], ['real', 'evil']] as const) {
      const cache = new LayerCache(content);
      const recs = { real: record(real, real.layers[0]!.diffId), evil: record(evil, real.layers[0]!.diffId) };
      // The evil record's blob does not hash to the diff_id it claims: refused when its layer
      // data is made (verified against the diff_id), never served as the real one's tree.
      for (const who of order) {
        if (who === 'evil') await expect(cache.tree(recs.evil)).rejects.toThrow(/diff_id/);
        else expect(motd(await cache.tree(recs.real))).toBe('real');
      }
    }
  });

  it('the same blob under another media type is another tree', () => {
    const d = buildImage({ layers: [{ files: [{ name: 'a', content: 'a' }] }] }).layers[0]!.digest;
    const [tar] = treeKeys([{ digest: d, mediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
    const [wasm] = treeKeys([{ digest: d, mediaType: 'application/vnd.wasm.content.layer.v1+wasm' }]);
    expect(tar).not.toBe(wasm);
  });
});
