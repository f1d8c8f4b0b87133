/**
 * The bundled images (vm-images/images/dist, built from Debian packages): each loads on first use
 * through the engine's bundled source, and for the Linux ones `skiff export` of a fresh container
 * equals `umoci unpack` of the same OCI archive; skopeo's re-encodings of them load too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir, readBundledManifest } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { drain } from '../engine/fixtures/images.ts';
import { run } from '../helpers/exec.ts';
import { diskTree, initLayerExtras, tarTree } from './peers.ts';

const dist = defaultBundledDir();
const rows = await readBundledManifest(dist);
const dir = mkdtempSync(join(tmpdir(), 'skiff-bundled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function engine(): Engine {
  return new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(dist) });
}

describe('bundled images', () => {
  it('the bundle manifest lists the images the docs use', () => {
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['skiff/busybox:latest', 'skiff/tools:latest', 'skiff/hello-wasm:latest']));
  });

  for (const row of rows) {
    it(`${row.name} loads on first use with the manifest digest the bundle records`, async () => {
      const e = engine();
      const img = await e.resolveImage({ ref: row.name });
      expect(img.digest).toBe(row.manifestDigest);
      expect(img.source).toBe(`bundled:${row.file}`);
      expect((await e.listImages()).map((i) => `${i.repository}:${i.tag}`)).toEqual([row.name]);
    });
  }

  for (const row of rows.filter((r) => (r.platform as { os?: string } | undefined)?.os === 'linux')) {
    it(`${row.name}: skiff export equals umoci unpack`, async () => {
      const e = engine();
      const c = await e.createContainer({ image: row.name });
      const exported = tarTree(await drain(await e.exportContainer({ id: c.id })));
      const layout = join(dir, `${row.file}.layout`);
      run('mkdir', ['-p', layout]);
      run('tar', ['-xf', join(dist, row.file), '-C', layout]);
      const bundle = join(dir, `${row.file}.bundle`);
      run('umoci', ['unpack', '--rootless', '--image', `${layout}:${row.name}`, bundle]);
      const reference = diskTree(join(bundle, 'rootfs'));
      expect(reference.size).toBeGreaterThan(100);
      // The init layer adds the one mount point these images lack (they ship hosts and hostname).
      expect(initLayerExtras(exported, reference)).toEqual(['etc/resolv.conf']);
      const diffs = [...reference].filter(([p, want]) => JSON.stringify(exported.get(p)) !== JSON.stringify(want)).map(([p]) => p);
      expect(diffs).toEqual([]);
    });
  }

  it('skopeo re-encodings load and export the same tree: docker-archive (symlinked layers) and zstd OCI', async () => {
    const docker = join(dir, 'busybox.docker.tar');
    const zstd = join(dir, 'tools.zstd.tar');
    run('skopeo', ['copy', '--quiet', `oci-archive:${join(dist, 'busybox.tar')}:skiff/busybox:latest`, `docker-archive:${docker}:skiff/busybox:docker`]);
    run('skopeo', ['copy', '--quiet', '--dest-compress', '--dest-compress-format', 'zstd', `oci-archive:${join(dist, 'tools.tar')}:skiff/tools:latest`, `oci-archive:${zstd}:skiff/tools:zstd`]);
    expect(run('tar', ['-tvf', docker])).toMatch(/layer\.tar -> /);
    const e = engine();
    for (const [file, copy, orig] of [[docker, 'skiff/busybox:docker', 'skiff/busybox'], [zstd, 'skiff/tools:zstd', 'skiff/tools']] as const) {
      await e.loadArchive({ data: new Uint8Array(readFileSync(file)), name: file });
      const a = await e.resolveImage({ ref: copy });
      const b = await e.resolveImage({ ref: orig });
      expect(a.id).toBe(b.id);
      if (file === zstd) expect(a.layers.every((l) => l.mediaType.endsWith('+zstd'))).toBe(true);
      const ca = await e.createContainer({ image: copy });
      const cb = await e.createContainer({ image: orig });
      const ta = tarTree(await drain(await e.exportContainer({ id: ca.id })));
      const tb = tarTree(await drain(await e.exportContainer({ id: cb.id })));
      expect(JSON.stringify([...ta].sort())).toBe(JSON.stringify([...tb].sort()));
    }
  });
});
