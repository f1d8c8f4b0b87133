/**
 * Two processes on one $SKIFF_HOME at once, one loading, tagging and writing containers, the other
 * loading, removing and pruning: afterwards every tag names an image, every image and container
 * layer has its blobs, and every blob verifies.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../src/node.ts';
import { NodeFsContentStore } from '../../src/content/node-fs.ts';
import { NodeFsStateStore } from '../../src/engine/state/node-fs.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import type { ContainerRecord, ImageRecord, TagRecord } from '../../src/engine/types.ts';
import { buildImage, dockerLegacyArchive, ociArchive } from './fixtures/images.ts';

const run = promisify(execFile);
let dir: string;
afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

describe('engine across processes', () => {
  it('a loader/tagger and a remover/pruner racing on one store leave it consistent', async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-race-'));
    const home = join(dir, 'home');
    const shared = { files: [{ name: 'lib/', type: 'directory' as const }, { name: 'lib/big', content: new Uint8Array(1_500_000).map((_, i) => (i * 7919) % 251) }], gzip: true };
    const archives: string[] = [];
    for (let k = 0; k < 3; k++) {
      const img = buildImage({ layers: [shared, { files: [{ name: `f${k}`, content: String(k) }] }] });
      const file = join(dir, `img${k}.tar`);
      await writeFile(file, k === 1 ? dockerLegacyArchive([{ image: img, tags: [`x/k:${k}`] }]) : ociArchive([{ image: img, tags: [`docker.io/x/k:${k}`] }]));
      archives.push(file);
    }
    const script = join(import.meta.dirname, 'fixtures', 'engine-worker.ts');
    const cwd = join(import.meta.dirname, '..', '..');
    await Promise.all([
      run(process.execPath, ['--import', 'tsx', script, home, 'a', '6', ...archives], { cwd }),
      run(process.execPath, ['--import', 'tsx', script, home, 'b', '6', ...archives.reverse()], { cwd }),
    ]);
    const e = await openEngine({ home, bundled: false });
    // The stores the engine keeps under $SKIFF_HOME, read directly (the engine does not hand them out).
    const state = new NodeFsStateStore({ root: join(home, 'state') });
    const content = new NodeFsContentStore({ root: join(home, 'content') });
    const images = await state.list<ImageRecord>('images');
    const tags = await state.list<TagRecord>('tags');
    const containers = await state.list<ContainerRecord>('containers');
    const byDigest = new Set(images.map((i) => i.digest));
    for (const t of tags) expect(byDigest.has(t.digest), `tag ${t.ref}`).toBe(true);
    // (No claim about which tags survive: `prune -a` may legitimately untag an image in the gap
    // between a's tag and its create, as it would in Docker. What must hold is consistency.)
    expect(tags.some((t) => t.ref.startsWith('docker.io/a/img:'))).toBe(true);
    for (const img of images) {
      for (const d of [img.digest, img.config.digest, ...img.layers.map((l) => l.digest)]) {
        expect(await content.has(d), `blob ${d} of ${img.digest}`).toBe(true);
        expect(sha256Digest(await content.get(d))).toBe(d);
      }
    }
    expect(containers.length).toBe(3);
    for (const c of containers) {
      expect(byDigest.has(c.image)).toBe(true);
      expect(c.upper!.size).toBeGreaterThan(0);
      const changes = await e.containerChanges({ id: c.id });
      expect(changes.length).toBe(1);
    }
  }, 120_000);
});
