/**
 * Writable layers and volumes get a quota when the engine opens them (issue 10 Medium 5): the
 * engine's default (DEFAULT_STORAGE_QUOTA, or EngineOptions.storageQuota), a container's
 * `--storage-opt size=` over it; past it writes fail with ENOSPC and statfs tells the limit.
 */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { DEFAULT_STORAGE_QUOTA, Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { Overlay } from '../../src/fs/overlay.ts';
import { bytes } from '../../src/runtime/spec/types.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const MiB = 2 ** 20;

async function setup(storageQuota?: { bytes?: number; inodes?: number }) {
  const content = new MemoryContentStore();
  const state = new MemoryStateStore();
  const e = new Engine({ content, state, ...(storageQuota ? { storageQuota } : {}) });
  await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/big', content: 'x'.repeat(8192) }] }] }), tags: ['docker.io/library/q:1'] }]) });
  return { content, state, e };
}

/** Writes `n` bytes at the end of /name (created if missing); the error, if any. */
function grow(fs: Overlay, name: string, n: number): unknown {
  try {
    let node;
    try {
      node = fs.lookup(fs.root(), name);
    } catch {
      node = fs.create(fs.root(), name, { mode: 0o644, uid: 0, gid: 0 });
    }
    fs.write(node, fs.stat(node).size, new Uint8Array(n).fill(7));
    return undefined;
  } catch (err) {
    return err;
  }
}

const size = (fs: Overlay, name: string) => fs.stat(fs.lookup(fs.root(), name)).size;

describe('storage quotas', () => {
  it('by default a writable layer and a volume hold 1 GiB and a million inodes, and statfs says so', async () => {
    const { e } = await setup();
    const c = await e.createContainer({ image: 'q:1' });
    for (const fs of [await e.containerFs({ id: c.id }), await e.volumeFs({ name: (await e.createVolume({ name: 'v1' })).name })]) {
      expect(fs.statfs()).toMatchObject({ blockSize: 4096, blocks: DEFAULT_STORAGE_QUOTA.bytes! / 4096, files: 1_000_000 });
    }
    expect(DEFAULT_STORAGE_QUOTA).toEqual({ bytes: 2 ** 30, inodes: 1_000_000 });
    await e.shutdown();
  });

  it('the engine default applies to layers and volumes: ENOSPC past it, what fit stays; copy-ups count', async () => {
    const { e } = await setup({ bytes: 64 * 1024, inodes: 50 });
    const c = await e.createContainer({ image: 'q:1' });
    const fs = await e.containerFs({ id: c.id });
    expect(grow(fs, 'a', 48 * 1024)).toBeUndefined();
    expect(grow(fs, 'a', 16 * 1024 + 1)).toMatchObject({ code: 'ENOSPC' });
    expect(size(fs, 'a')).toBe(48 * 1024);
    expect(grow(fs, 'a', 12 * 1024)).toBeUndefined();
    // Copying up /etc/big (8 KiB) would pass the limit with the 60 KiB there: refused before it changes.
    const etc = fs.lookup(fs.root(), 'etc');
    expect(() => fs.write(fs.lookup(etc, 'big'), 0, new Uint8Array([1]))).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(fs.read(fs.lookup(etc, 'big'), 0, 1)).toEqual(new TextEncoder().encode('x'));
    expect(grow(fs, 'a', 4 * 1024)).toBeUndefined();
    expect(fs.statfs()).toMatchObject({ blocks: 16, blocksFree: 0 });
    const vol = await e.volumeFs({ name: (await e.createVolume({ name: 'data' })).name });
    expect(grow(vol, 'd', 64 * 1024)).toBeUndefined();
    expect(grow(vol, 'd', 1)).toMatchObject({ code: 'ENOSPC' });
    expect(size(vol, 'd')).toBe(64 * 1024);
    await e.shutdown();
  });

  it('--storage-opt size= wins over the default (inodes stay the default) and holds when the layer is reopened', async () => {
    const { content, state, e } = await setup();
    const c = await e.createContainer({ image: 'q:1', run: { storageSize: bytes(MiB) } });
    expect(c.spec.limits.storageSize).toBe(MiB);
    const fs = await e.containerFs({ id: c.id });
    expect(fs.statfs()).toMatchObject({ blocks: 256, files: 1_000_000 });
    expect(grow(fs, 'f', MiB)).toBeUndefined();
    expect(grow(fs, 'f', 1)).toMatchObject({ code: 'ENOSPC' });
    await e.persistContainer({ id: c.id });
    await e.shutdown();

    // Another engine over the same stores: the size comes from the stored spec, the usage from the saved layer.
    const e2 = new Engine({ content, state });
    const fs2 = await e2.containerFs({ id: c.id });
    expect(size(fs2, 'f')).toBe(MiB);
    expect(fs2.statfs()).toMatchObject({ blocks: 256, blocksFree: 0 });
    expect(grow(fs2, 'g', 1)).toMatchObject({ code: 'ENOSPC' });
    await e2.shutdown();
  });

  it('a container made without a quota reopens with the default, counting what its layer already holds', async () => {
    const { content, state, e } = await setup({});
    const c = await e.createContainer({ image: 'q:1' });
    const fs = await e.containerFs({ id: c.id });
    expect(fs.statfs().blocks).toBe(2 ** 30 / 4096); // no quota: the overlay's nominal capacity
    expect(grow(fs, 'f', 3 * MiB)).toBeUndefined();
    await e.persistContainer({ id: c.id });
    await e.shutdown();

    const e2 = new Engine({ content, state, storageQuota: { bytes: 2 * MiB } });
    const fs2 = await e2.containerFs({ id: c.id });
    expect(size(fs2, 'f')).toBe(3 * MiB);
    expect(fs2.statfs()).toMatchObject({ blocks: 512, blocksFree: 0 });
    expect(grow(fs2, 'f', 1)).toMatchObject({ code: 'ENOSPC' });
    // Shrinking below the limit makes room again.
    fs2.setattr(fs2.lookup(fs2.root(), 'f'), { size: MiB });
    expect(grow(fs2, 'f', 512 * 1024)).toBeUndefined();
    await e2.shutdown();
  });
});
