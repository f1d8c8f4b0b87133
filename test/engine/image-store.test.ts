/** The image store: the local store first, then each image source in order; one "No such image" with every source's hint. */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { BundledImages, ImageSource } from '../../src/engine/image-store.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const archive = (tag: string, cmd: string) => ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'f', content: cmd }] }], cmd: [cmd] }), tags: [tag] }]);

describe('image store', () => {
  it('asks the local store, then the bundled images, then further sources, and loads what they bring', async () => {
    const asked: string[] = [];
    const bundled: BundledImages = {
      async find(ref) {
        asked.push(`bundled ${ref}`);
        return ref === 'docker.io/skiff/box:latest' ? { name: 'box.tar', data: archive('docker.io/skiff/box:latest', 'from-bundle') } : undefined;
      },
      names: async () => ['skiff/box'],
    };
    const registry: ImageSource = {
      name: 'registry',
      async image(ref, ctx) {
        asked.push(`registry ${ref}`);
        if (ref !== 'far/away:1') return undefined;
        const e = new Engine(ctx);
        await e.loadArchive({ data: archive('docker.io/far/away:1', 'from-registry') });
        return e.findImage({ ref });
      },
      hint: async () => 'the registry is a test double',
    };
    const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled, sources: [registry] });
    expect(await e.findImage({ ref: 'skiff/box' })).toBeUndefined();
    const box = await e.resolveImage({ ref: 'skiff/box' });
    expect(box.source).toBe('bundled:box.tar');
    expect((await e.imageConfig({ ref: 'skiff/box' })).config?.Cmd).toEqual(['from-bundle']);
    // Now local: no source is asked again.
    asked.length = 0;
    expect((await e.resolveImage({ ref: 'skiff/box' })).digest).toBe(box.digest);
    // An ID prefix is not a name a bundle or registry could have.
    expect((await e.resolveImage({ ref: box.id.slice(7, 19) })).digest).toBe(box.digest);
    expect(asked).toEqual([]);
    expect((await e.imageConfig({ ref: 'far/away:1' })).config?.Cmd).toEqual(['from-registry']);
    expect(asked).toEqual(['bundled docker.io/far/away:1', 'registry far/away:1']);
    await expect(e.resolveImage({ ref: 'nowhere:1' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'No such image: nowhere:1 (not pulled: pull it first; bundled images: skiff/box; the registry is a test double)',
    });
    // A container of a source's image is created as of any other.
    const c = await e.createContainer({ image: 'far/away:1' });
    expect(c.spec.args).toEqual(['from-registry']);
  });

  it('a source that has the image but cannot deliver fails the lookup with its error', async () => {
    const broken: ImageSource = { name: 'broken', image: async () => { throw new Error('connection reset'); } };
    const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), sources: [broken] });
    await expect(e.resolveImage({ ref: 'x:1' })).rejects.toThrow('connection reset');
    await expect(e.resolveImage({ ref: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
