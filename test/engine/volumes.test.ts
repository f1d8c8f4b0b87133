import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';
import { putBlob } from '../../src/content/store.ts';
import { writeTarChunks } from '../../src/engine/tar-io.ts';
import { concatBytes } from '../../src/util/bytes.ts';
import type { VolumeRecord } from '../../src/engine/types.ts';

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
    expect(await Engine.contextOf(e2).snapshots.list()).toEqual([]);
    await expect(e2.inspectVolume({ name: 'data' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await e2.removeVolume({ name: 'data', force: true });
  });

  it('a volume saved by an older skiff as one tar blob opens, moves to the snapshot store, and its blob goes', async () => {
    const { content, state, e } = await setup();
    await e.createVolume({ name: 'old' });
    const tar = writeTarChunks([
      { header: { name: 'a/', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1, linkname: '', devmajor: 0, devminor: 0 }, data: new Uint8Array() },
      { header: { name: 'a/f', type: 'file', mode: 0o600, uid: 7, gid: 7, size: 3, mtime: 1, linkname: '', devmajor: 0, devminor: 0 }, data: te.encode('old') },
    ]);
    const blob = await putBlob(content, concatBytes([...tar]));
    await state.transaction(async (tx) => tx.put('volumes', 'old', { ...(await tx.get<VolumeRecord>('volumes', 'old'))!, data: { digest: blob.digest, size: blob.size } }));
    const fs = await e.volumeFs({ name: 'old' });
    const f = fs.lookup(fs.lookup(fs.root(), 'a'), 'f');
    expect(td.decode(fs.read(f, 0, 10))).toBe('old');
    fs.write(f, 3, te.encode('+new'));
    const rec = await e.persistVolume({ name: 'old' });
    expect(rec.data!.digest).toBeUndefined();
    expect(await content.has(blob.digest)).toBe(false);
    const got = await Engine.contextOf(e).snapshots.read('volume/old');
    expect(got.size).toBeGreaterThan(3);
  });

  it('a volume has one writing process: a second one gets a clear CONFLICT, not a private copy', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = await mkdtemp(join(tmpdir(), 'skiff-vol-'));
    try {
      const script = `
        import { openEngine } from './src/node.ts';
        const e = await openEngine({ home: ${JSON.stringify(home)}, bundled: false });
        await e.createVolume({ name: 'shared' });
        const fs = await e.volumeFs({ name: 'shared' });
        fs.write(fs.create(fs.root(), 'from-a', { mode: 0o644, uid: 0, gid: 0 }), 0, new TextEncoder().encode('a'));
        await e.persistVolume({ name: 'shared' });
        console.log('ready');
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); }));
      const { openEngine } = await import('../../src/node.ts');
      const b = await openEngine({ home, bundled: false });
      await expect(b.volumeFs({ name: 'shared' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`volume shared is in use by another skiff process (pid ${child.pid})`) });
      await expect(b.removeVolume({ name: 'shared' })).rejects.toMatchObject({ code: 'CONFLICT' });
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const fs = await b.volumeFs({ name: 'shared' });
      expect(td.decode(fs.read(fs.lookup(fs.root(), 'from-a'), 0, 9))).toBe('a');
      await b.shutdown();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 30_000);
});
