/**
 * Paths deeper than PATH_MAX (4096 bytes), which a container can make with *at calls (issue 10
 * Medium 8): a container's layer and a volume holding one reopen in a new process; a commit that
 * would put one in an image layer (which no loader accepts) is refused up front, nothing stored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileSystem, FsNode } from '../../src/fs/types.ts';
import { openEngine } from '../../src/node.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const dirs: string[] = [];
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

const NAME = 'd'.repeat(250);
const DEPTH = 20; // 20 x 251 bytes: past 4096

function dig(fs: FileSystem, make: boolean): FsNode {
  let n = fs.root();
  for (let i = 0; i < DEPTH; i++) n = make ? fs.mkdir(n, NAME, { mode: 0o755, uid: 0, gid: 0 }) : fs.lookup(n, NAME);
  return n;
}

describe('paths deeper than PATH_MAX', () => {
  it('reopen in a layer and a volume; a commit holding one is refused with nothing stored', async () => {
    const home = await mkdtemp(join(tmpdir(), 'skiff-deep-'));
    dirs.push(home);
    const a = await openEngine({ home, bundled: false });
    await a.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }] }), tags: ['docker.io/library/deep:1'] }]) });
    const c = await a.createContainer({ image: 'deep:1', name: 'deep' });
    const fs = await a.containerFs({ id: c.id });
    fs.write(fs.create(dig(fs, true), 'leaf', { mode: 0o644, uid: 0, gid: 0 }), 0, new TextEncoder().encode('deep'));
    await a.persistContainer({ id: c.id });
    await a.createVolume({ name: 'vol' });
    const vfs = await a.volumeFs({ name: 'vol' });
    vfs.create(dig(vfs, true), 'leaf', { mode: 0o644, uid: 0, gid: 0 });
    await a.persistVolume({ name: 'vol' });
    const images = (await a.listImages()).length;
    await expect(a.commitContainer({ id: c.id, ref: 'deep:2' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('longer than 4096 bytes') });
    expect((await a.listImages()).length).toBe(images);
    await a.shutdown();

    const b = await openEngine({ home, bundled: false });
    const fs2 = await b.containerFs({ id: 'deep' });
    expect(new TextDecoder().decode(fs2.read(fs2.lookup(dig(fs2, false), 'leaf'), 0, 10))).toBe('deep');
    const vfs2 = await b.volumeFs({ name: 'vol' });
    expect(vfs2.stat(vfs2.lookup(dig(vfs2, false), 'leaf')).kind).toBe('file');
    await b.shutdown();
  }, 60_000);
});
