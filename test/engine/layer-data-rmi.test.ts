/**
 * The layer data made after a load (engine.ts prepareLayers) races an `rmi` or `image prune` of
 * the image: the build that was streaming when the image went must leave no `layerdata-` record and
 * no copy or index behind (before, only `system prune` reclaimed them), and is stopped rather than
 * finished; with another image still listing the layer it is kept. The layer blob is read from
 * a snapshot taken when its stream opens, as an open file keeps reading after an unlink.
 */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { putBlob } from '../../src/content/store.ts';
import { ensureLayerData, LayerDataDiscarded, layerDataRecords } from '../../src/engine/layer-index.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { ImageRecord } from '../../src/engine/types.ts';
import { sha256Digest, type DiffID } from '../../src/oci/digest.ts';
import { buildImage, ociArchive, tar } from './fixtures/images.ts';

const REF = 'docker.io/library/app:1';

/** A content store whose layer streams, once an image is stored, wait for `release()` after opening. */
function gatedStore(state: MemoryStateStore) {
  const content = new MemoryContentStore();
  const inner = content.stream.bind(content);
  let opened!: () => void;
  const streaming = new Promise<void>((r) => (opened = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  /** Ingestions begun after the gate opened: a stopped build begins none (no index). */
  const after = { ingests: 0, open: false };
  const ingest = content.ingest.bind(content);
  content.ingest = (...a: Parameters<MemoryContentStore['ingest']>) => { if (after.open) after.ingests++; return ingest(...a); };
  content.stream = (digest, opts) => (async function* () {
    if ((await state.list<ImageRecord>('images')).length === 0) return yield* inner(digest, opts);
    const bytes = await content.get(digest);
    opened();
    await gate;
    yield bytes;
  })();
  return { content, streaming, release: () => { after.open = true; release(); }, after };
}

const image = () => buildImage({ layers: [{ gzip: true, files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'hello\n'.repeat(500) }] }] });

async function raced(remove: (e: Engine) => Promise<unknown>) {
  const state = new MemoryStateStore();
  const g = gatedStore(state);
  const e = new Engine({ content: g.content, state });
  const loading = e.loadArchive({ data: ociArchive([{ image: image(), tags: [REF] }]) });
  await g.streaming;
  await remove(e);
  g.release();
  await loading;
  return { e, state, content: g.content, after: g.after };
}

describe('layer data built while its image is removed', () => {
  it('rmi during the build: no record, no copy, no index, nothing reclaimable', async () => {
    const { e, state, content, after } = await raced((e) => e.removeImage({ ref: REF }));
    // The rmi stopped the build: it wrote no index.
    expect(after.ingests).toBe(0);
    expect(await layerDataRecords(state)).toEqual([]);
    expect(await content.list()).toEqual([]);
    const df = await e.diskUsage();
    expect(df.layerData).toEqual({ total: 0, active: 0, size: 0, reclaimable: 0 });
    expect(await state.keys('meta')).toEqual([]);
  });

  it('image prune -a during the build: the same', async () => {
    const { e, state, content, after } = await raced((e) => e.pruneImages({ all: true }));
    expect(after.ingests).toBe(0);
    expect(await layerDataRecords(state)).toEqual([]);
    expect(await content.list()).toEqual([]);
    expect((await e.diskUsage()).layerData.reclaimable).toBe(0);
  });

  it('another image listing the layer keeps the data made', async () => {
    const { e, state, content, after } = await raced(async (e) => {
      await e.tag({ source: REF, target: 'docker.io/library/other:1' });
      await e.removeImage({ ref: REF });
    });
    expect(after.ingests).toBe(1);
    const [rec] = await layerDataRecords(state);
    expect(rec).toBeDefined();
    expect(await content.has(rec!.copy)).toBe(true);
    expect(await content.has(rec!.index)).toBe(true);
    expect((await e.listImages()).map((i) => i.repository)).toEqual(['other']);
  });

  it('without a removal the load records the layer data, and rmi then frees it', async () => {
    const state = new MemoryStateStore();
    const content = new MemoryContentStore();
    const e = new Engine({ content, state });
    const img = image();
    await e.loadArchive({ data: ociArchive([{ image: img, tags: [REF] }]) });
    const [rec] = await layerDataRecords(state);
    expect(rec?.layer).toBe(img.layers[0]!.digest);
    expect(await content.has(rec!.copy)).toBe(true);
    expect((await e.diskUsage()).layerData.total).toBe(1);
    // The lease taken for the build is gone.
    expect((await state.keys('meta')).filter((k) => k.startsWith('lease-'))).toEqual([]);
    await e.removeImage({ ref: REF });
    expect(await layerDataRecords(state)).toEqual([]);
    expect(await content.list()).toEqual([]);
  });

  it('a container read joining a build its guard discards makes the data itself', async () => {
    const state = new MemoryStateStore();
    const content = new MemoryContentStore();
    const raw = tar([{ name: 'motd', content: 'hi\n' }]);
    const blob = await putBlob(content, raw);
    const layer = { digest: blob.digest, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId: sha256Digest(raw) as string as DiffID, uncompressedSize: raw.length };
    const s = { content, state };
    // Both asked in one tick: the second joins the first's build.
    const guarded = ensureLayerData(s, layer, { guard: async () => false });
    const plain = ensureLayerData(s, layer);
    await expect(guarded).rejects.toBeInstanceOf(LayerDataDiscarded);
    const rec = await plain;
    expect(rec.layer).toBe(blob.digest);
    expect(await layerDataRecords(state)).toEqual([rec]);
  });
});
