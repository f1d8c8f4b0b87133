/**
 * A layer's data (engine/layer-index.ts) is made by one writer: load's background prepare and a
 * container's first read asking at once share one build instead of ingesting the same copy twice.
 */
import { describe, expect, it } from 'vitest';
import { writeTar, tarEntry } from '../../src/archive/tar-writer.ts';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { putBlob } from '../../src/content/store.ts';
import { ensureLayerData } from '../../src/engine/layer-index.ts';
import { sha256Digest, type DiffID } from '../../src/oci/digest.ts';

describe('layer data', () => {
  it('concurrent asks for one layer build it once and get the same record', async () => {
    const tar = writeTar([tarEntry({ name: 'etc/', type: 'directory', mode: 0o755 }), tarEntry({ name: 'etc/motd', mode: 0o644 }, 'hello\n')]);
    const counted = async () => {
      const content = new MemoryContentStore();
      const blob = await putBlob(content, tar);
      const counter = { ingests: 0 };
      const ingest = content.ingest.bind(content);
      content.ingest = (...a: Parameters<MemoryContentStore['ingest']>) => { counter.ingests++; return ingest(...a); };
      const layer = { digest: blob.digest, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId: sha256Digest(tar) as string as DiffID, uncompressedSize: tar.length };
      return { content, layer, counter };
    };
    // What one build writes, asked alone.
    const alone = await counted();
    const first = await ensureLayerData({ content: alone.content }, alone.layer);
    expect(alone.counter.ingests).toBeGreaterThan(0);
    // Three asks at once write no more than that.
    const s = await counted();
    const all = await Promise.all([0, 1, 2].map(() => ensureLayerData({ content: s.content }, s.layer)));
    for (const r of all) expect(r).toEqual(first);
    expect(s.counter.ingests).toBe(alone.counter.ingests);
    // Made: a later ask reads the record and builds nothing.
    expect(await ensureLayerData({ content: s.content }, s.layer)).toEqual(first);
    expect(s.counter.ingests).toBe(alone.counter.ingests);
  });
});
