import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { LayerCache } from '../../src/engine/layers.ts';
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
