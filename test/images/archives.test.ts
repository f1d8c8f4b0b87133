// The committed OCI archives: the manifest's sums match the files, each archive
// is a valid image layout whose digests verify, and the layers were written
// deterministically (sorted, 0:0, fixed mtime).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DIST, EPOCH, blobPath, cleanup, entry, extractArchive, listTar, readJson, readManifest, sha256Hex,
} from './helpers.ts';

interface Descriptor { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }
interface Manifest { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[]; annotations?: Record<string, string> }
interface Config { os: string; architecture: string; config: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[] }; rootfs: { type: string; diff_ids: string[] }; history: { created_by: string }[] }

afterAll(cleanup);

const EXPECTED = [
  { name: 'skiff/busybox:latest', os: 'linux', architecture: '386', maxBytes: 1_500_000, layers: 1 },
  { name: 'skiff/tools:latest', os: 'linux', architecture: '386', maxBytes: 8_000_000, layers: 3 },
  { name: 'skiff/hello-wasm:latest', os: 'wasi', architecture: 'wasm', maxBytes: 100_000, layers: 1 },
  { name: 'skiff/lua-wasm:latest', os: 'wasi', architecture: 'wasm', maxBytes: 500_000, layers: 1 },
  { name: 'skiff/sqlite-wasm:latest', os: 'wasi', architecture: 'wasm', maxBytes: 1_000_000, layers: 1 },
];

function openImage(name: string) {
  const e = entry(name);
  const layout = extractArchive(join(DIST, e.file));
  const index = readJson<{ schemaVersion: number; manifests: Descriptor[] }>(join(layout, 'index.json'));
  const manifest = readJson<Manifest>(blobPath(layout, index.manifests[0]!.digest));
  const config = readJson<Config>(blobPath(layout, manifest.config.digest));
  return { e, layout, index, manifest, config };
}

describe('dist/manifest.json', () => {
  it('lists exactly the bundled images, with sums and sizes that match the files', () => {
    const rows = readManifest();
    expect(rows.map((r) => r.name).sort()).toEqual(EXPECTED.map((x) => x.name).sort());
    for (const row of rows) {
      const bytes = readFileSync(join(DIST, row.file));
      expect(bytes.length, row.file).toBe(row.size);
      expect(sha256Hex(bytes), row.file).toBe(row.sha256);
      expect(row.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  it('has no stray archives next to it', () => {
    const tars = readdirSync(DIST).filter((f) => f.endsWith('.tar')).sort();
    expect(tars).toEqual(readManifest().map((r) => r.file).sort());
  });
});

describe.each(EXPECTED)('$name', ({ name, os, architecture, maxBytes, layers }) => {
  it('is a small OCI layout whose index names it and points at the manifest digest', () => {
    const { e, layout, index } = openImage(name);
    expect(statSync(join(DIST, e.file)).size).toBeLessThan(maxBytes);
    expect(readJson<{ imageLayoutVersion: string }>(join(layout, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(index.schemaVersion).toBe(2);
    expect(index.manifests).toHaveLength(1);
    const desc = index.manifests[0]!;
    expect(desc.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(desc.digest).toBe(e.manifestDigest);
    expect(desc.platform).toEqual({ os, architecture });
    expect(e.platform).toEqual({ os, architecture });
    expect(desc.annotations?.['org.opencontainers.image.ref.name']).toBe(name);
    expect(desc.annotations?.['io.containerd.image.name']).toBe(`docker.io/${name}`);
  });

  it('has blobs whose names are their sha256, and descriptors with the right sizes', () => {
    const { layout, index, manifest } = openImage(name);
    const blobDir = join(layout, 'blobs', 'sha256');
    const referenced = [index.manifests[0]!, manifest.config, ...manifest.layers];
    for (const file of readdirSync(blobDir)) {
      expect(sha256Hex(readFileSync(join(blobDir, file))), `blob ${file}`).toBe(file);
    }
    for (const d of referenced) expect(statSync(blobPath(layout, d.digest)).size, d.digest).toBe(d.size);
    // nothing unreferenced is shipped
    expect(readdirSync(blobDir).sort()).toEqual([...new Set(referenced.map((d) => d.digest.slice(7)))].sort());
  });

  it('has a config whose diff_ids are the sha256 of the uncompressed layers', () => {
    const { layout, manifest, config } = openImage(name);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(manifest.layers).toHaveLength(layers);
    expect(config.os).toBe(os);
    expect(config.architecture).toBe(architecture);
    expect(config.rootfs.type).toBe('layers');
    expect(config.history).toHaveLength(layers);
    manifest.layers.forEach((layer, i) => {
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      const raw = gunzipSync(readFileSync(blobPath(layout, layer.digest)));
      expect(`sha256:${sha256Hex(raw)}`).toBe(config.rootfs.diff_ids[i]);
    });
  });

  it('has deterministic layers: sorted entries, owner 0:0, no names, fixed mtime, gzip -n', () => {
    const { layout, manifest } = openImage(name);
    for (const layer of manifest.layers) {
      const gz = readFileSync(blobPath(layout, layer.digest));
      expect(gz.readUInt32LE(4), 'gzip MTIME field').toBe(0);
      expect(gz[3]! & 0x08, 'gzip FNAME flag').toBe(0);
      const members = listTar(blobPath(layout, layer.digest));
      expect(members.length).toBeGreaterThan(0);
      const names = members.map((m) => m.name);
      expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(new Set(names).size).toBe(names.length);
      for (const m of members) {
        expect(m.mtime, m.name).toBe(EPOCH);
        expect([m.uname, m.gname], m.name).toEqual(['', '']);
        const owner = m.name === 'home/user' ? 1000 : 0;
        expect([m.uid, m.gid], m.name).toEqual([owner, owner]);
        expect(m.name.startsWith('/') || m.name.split('/').includes('..'), m.name).toBe(false);
      }
    }
  });
});

describe('image configs', () => {
  it('busybox and tools start a shell with a PATH', () => {
    for (const name of ['skiff/busybox:latest', 'skiff/tools:latest']) {
      const { config } = openImage(name);
      expect(config.config.Cmd).toEqual(['sh']);
      expect(config.config.Env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    }
  });

  it('tools shares the busybox layer blob and adds two layers above it', () => {
    const busybox = openImage('skiff/busybox:latest');
    const tools = openImage('skiff/tools:latest');
    expect(tools.manifest.layers[0]).toEqual(busybox.manifest.layers[0]);
    expect(tools.config.rootfs.diff_ids[0]).toBe(busybox.config.rootfs.diff_ids[0]);
    expect(new Set(tools.manifest.layers.map((l) => l.digest)).size).toBe(3);
    expect(tools.config.history.map((h) => h.created_by).join('\n')).toMatch(/glibc[\s\S]*lua5\.4, sqlite3, jq/);
  });

  it('wasm images have the module as entrypoint, in their single layer, and the compat annotation', () => {
    const modules: Record<string, string> = {
      'skiff/hello-wasm:latest': 'hello.wasm',
      'skiff/lua-wasm:latest': 'lua.wasm',
      'skiff/sqlite-wasm:latest': 'sqlite3.wasm',
    };
    for (const [name, file] of Object.entries(modules)) {
      const { layout, manifest, config } = openImage(name);
      expect(config.config.Entrypoint, name).toEqual([`/${file}`]);
      expect(manifest.annotations?.['module.wasm.image/variant']).toBe('compat');
      const members = listTar(blobPath(layout, manifest.layers[0]!.digest));
      expect(members.map((m) => [m.name, m.type, m.mode])).toEqual([[file, '0', 0o755]]);
    }
    expect(openImage('skiff/hello-wasm:latest').config.config.Env).toEqual(['GREETING=hello from skiff']);
    // the sqlite3 shell looks for ~/.sqliterc and warns when it finds no home
    expect(openImage('skiff/sqlite-wasm:latest').config.config.Env).toEqual(['HOME=/']);
  });
});
