import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const te = new TextEncoder();
const td = new TextDecoder();

async function setup() {
  const content = new MemoryContentStore();
  const state = new MemoryStateStore();
  const e = new Engine({ content, state });
  await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }] }), tags: ['docker.io/library/v:1'] }]) });
  return { content, state, e };
}

describe('volumes', () => {
  it('hold data across engines, refuse removal while used, and prune like Docker', async () => {
    const { content, state, e } = await setup();
    const v = await e.createVolume({ name: 'data', labels: { app: 'db' } });
    expect(v).toMatchObject({ name: 'data', anonymous: false, data: null, labels: { app: 'db' } });
    expect(await e.createVolume({ name: 'data' })).toEqual(v);
    await expect(e.createVolume({ name: '-bad' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const fs = await e.volumeFs({ name: 'data' });
    fs.write(fs.create(fs.root(), 'db.sqlite', { mode: 0o600, uid: 999, gid: 999 }), 0, te.encode('rows'));
    const saved = await e.persistVolume({ name: 'data' });
    expect(saved.data?.size).toBeGreaterThan(0);

    const e2 = new Engine({ content, state });
    const fs2 = await e2.volumeFs({ name: 'data' });
    const node = fs2.lookup(fs2.root(), 'db.sqlite');
    expect(td.decode(fs2.read(node, 0, 10))).toBe('rows');
    expect(fs2.stat(node)).toMatchObject({ mode: 0o600, uid: 999, gid: 999 });

    const c = await e2.createContainer({ image: 'v:1', volumes: ['data'] });
    await expect(e2.createContainer({ image: 'v:1', volumes: ['missing'] })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no such volume: missing') });
    await expect(e2.removeVolume({ name: 'data' })).rejects.toMatchObject({ code: 'IN_USE', message: expect.stringContaining(c.id) });
    const anon = await e2.createVolume();
    expect(anon.anonymous).toBe(true);
    expect((await e2.diskUsage()).volumes).toMatchObject({ total: 2, active: 1 });

    expect((await e2.pruneVolumes()).deleted).toEqual([anon.name]);
    expect((await e2.pruneVolumes({ all: true })).deleted).toEqual([]);
    await e2.removeContainer({ id: c.id });
    const all = await e2.pruneVolumes({ all: true });
    expect(all.deleted).toEqual(['data']);
    expect(await content.has(saved.data!.digest)).toBe(false);
    await expect(e2.inspectVolume({ name: 'data' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await e2.removeVolume({ name: 'data', force: true });
  });
});
