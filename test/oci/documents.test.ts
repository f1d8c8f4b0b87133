/** Manifest, index and config parsing against documents made by the real tools (umoci, skopeo). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainIds, sha256Digest } from '../../src/oci/digest.ts';
import { parseImageConfig, configPlatform, envToMap } from '../../src/oci/config.ts';
import { parseIndex, parseManifest, parseManifestOrIndex } from '../../src/oci/manifest.ts';
import { MediaType, layerCompression } from '../../src/oci/mediatypes.ts';
import { expectSkiffError } from '../helpers/errors.ts';
import { requireTool } from '../helpers/peers.ts';

let dir: string;
const blob = (layout: string, d: string): Buffer => readFileSync(join(dir, layout, 'blobs/sha256', d.slice(7)));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-oci-'));
  const run = (cmd: string, ...args: string[]): void => { execFileSync(requireTool(cmd, cmd), args, { cwd: dir, stdio: 'pipe' }); };
  run('umoci', 'init', '--layout', 'lay');
  run('umoci', 'new', '--image', 'lay:t');
  run('umoci', 'config', '--image', 'lay:t', '--os', 'linux', '--architecture', '386',
    '--config.env', 'FOO=bar', '--config.env', 'PATH=/bin', '--config.entrypoint', '/bin/sh', '--config.cmd', '-c',
    '--config.workingdir', '/w', '--config.user', '1000:1000', '--config.label', 'a=b',
    '--config.exposedports', '80/tcp', '--config.volume', '/data', '--config.stopsignal', 'SIGTERM');
  mkdirSync(join(dir, 'rootfs'));
  writeFileSync(join(dir, 'rootfs/f'), 'hi\n');
  run('umoci', 'insert', '--image', 'lay:t', 'rootfs/f', '/f');
  // skopeo rewrites it as a Docker v2s2 image in a dir: transport.
  run('skopeo', 'copy', '--format', 'v2s2', 'oci:lay:t', 'dir:docker');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OCI documents from umoci', () => {
  it('index -> manifest -> config, digests and sizes consistent', () => {
    const index = parseIndex(readFileSync(join(dir, 'lay/index.json')), 'index.json');
    expect(index.manifests).toHaveLength(1);
    const md = index.manifests[0]!;
    expect(md.mediaType).toBe(MediaType.ociManifest);
    expect(md.annotations?.['org.opencontainers.image.ref.name']).toBe('t');
    const mbytes = blob('lay', md.digest);
    expect(sha256Digest(mbytes)).toBe(md.digest);
    expect(mbytes.length).toBe(md.size);

    const any = parseManifestOrIndex(mbytes, { mediaType: md.mediaType });
    expect(any.kind).toBe('manifest');
    const m = parseManifest(mbytes);
    expect(m.config.mediaType).toBe(MediaType.ociConfig);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayerGzip]);
    expect(layerCompression(m.layers[0]!.mediaType)).toBe('gzip');

    const c = parseImageConfig(blob('lay', m.config.digest));
    expect(configPlatform(c)).toEqual({ os: 'linux', architecture: '386' });
    expect(c.config?.Entrypoint).toEqual(['/bin/sh']);
    expect(c.config?.Cmd).toEqual(['-c']);
    expect(c.config?.WorkingDir).toBe('/w');
    expect(c.config?.User).toBe('1000:1000');
    expect(c.config?.Labels).toEqual({ a: 'b' });
    expect(Object.keys(c.config?.ExposedPorts ?? {})).toEqual(['80/tcp']);
    expect(Object.keys(c.config?.Volumes ?? {})).toEqual(['/data']);
    expect(c.config?.StopSignal).toBe('SIGTERM');
    expect(envToMap(c.config?.Env).get('FOO')).toBe('bar');
    expect(c.rootfs.diff_ids).toHaveLength(1);
    // diff_id is the sha256 of the uncompressed layer
    const tar = execFileSync('gzip', ['-dc'], { input: blob('lay', m.layers[0]!.digest) });
    expect(sha256Digest(tar)).toBe(c.rootfs.diff_ids[0]);
    expect(chainIds(c.rootfs.diff_ids)[0]).toBe(c.rootfs.diff_ids[0]);
    expect(c.history?.length).toBeGreaterThan(0);
  });

  it('Docker v2s2 manifest from skopeo', () => {
    const raw = readFileSync(join(dir, 'docker/manifest.json'));
    const any = parseManifestOrIndex(raw);
    expect(any.kind).toBe('manifest');
    if (any.kind !== 'manifest') return;
    const m = any.manifest;
    expect(m.mediaType).toBe(MediaType.dockerManifest);
    expect(m.config.mediaType).toBe(MediaType.dockerConfig);
    expect(m.layers[0]!.mediaType).toBe(MediaType.dockerLayerGzip);
    const c = parseImageConfig(readFileSync(join(dir, 'docker', m.config.digest.slice(7))));
    expect(c.architecture).toBe('386');
  });
});

describe('validation errors name the field', () => {
  const D = 'sha256:' + '0'.repeat(64);
  const good = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: D, size: 2 }, layers: [] };
  const cases: [string, unknown, RegExp][] = [
    ['not json', '{', /not valid JSON/],
    ['array', '[]', /JSON object/],
    ['schemaVersion', { ...good, schemaVersion: 3 }, /"schemaVersion" must be 2/],
    ['config missing', { ...good, config: undefined }, /"config" is missing/],
    ['layer digest', { ...good, layers: [{ mediaType: MediaType.ociLayer, digest: 'sha256:12', size: 1 }] }, /layers\[0\]\.digest/],
    ['layer size', { ...good, layers: [{ mediaType: MediaType.ociLayer, digest: D, size: -1 }] }, /layers\[0\]\.size/],
    ['mediaType', { ...good, mediaType: MediaType.ociIndex }, /"mediaType" is/],
    ['index given', { schemaVersion: 2, manifests: [] }, /looks like an image index/],
  ];
  for (const [name, doc, re] of cases) {
    it(name, () => {
      const input = typeof doc === 'string' ? doc : JSON.stringify(doc);
      expectSkiffError(() => parseManifest(input), 'INVALID_ARGUMENT', re);
    });
  }
  it('schema 1 is UNSUPPORTED', () => {
    expect(() => parseManifest('{"schemaVersion":1}')).toThrow(/schema 1/);
  });
  it('config: rootfs and env', () => {
    expect(() => parseImageConfig({ os: 'linux', architecture: '386', rootfs: { type: 'x', diff_ids: [] } })).toThrow(/rootfs\.type/);
    expect(() => parseImageConfig({ os: 'linux', architecture: '386', rootfs: { type: 'layers', diff_ids: ['x'] } })).toThrow(/rootfs\.diff_ids\[0\]/);
    expect(() => parseImageConfig({ os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })).toThrow(/"architecture" is missing/);
    expect(() => parseImageConfig({ os: 'linux', architecture: '386', config: { Env: ['NOEQ'] }, rootfs: { type: 'layers', diff_ids: [] } })).toThrow(/config\.Env\[0\]/);
  });
  it('index entries with platforms', () => {
    const idx = parseIndex({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: D, size: 1, platform: { os: 'linux', architecture: '386' } }] });
    expect(idx.manifests[0]!.platform).toEqual({ os: 'linux', architecture: '386' });
    expect(() => parseIndex({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: D, size: 1, platform: { os: 'linux' } }] }))
      .toThrow(/manifests\[0\]\.platform\.architecture/);
  });
  it('layerCompression', () => {
    expect(layerCompression(MediaType.dockerLayerGzip)).toBe('gzip');
    expect(layerCompression(MediaType.ociLayerZstd)).toBe('zstd');
    expect(layerCompression(MediaType.ociLayerNondist)).toBe('none');
    expect(layerCompression(MediaType.wasmLayer)).toBe('none');
    expect(() => layerCompression('application/vnd.oci.image.layer.v1.tar+bzip2')).toThrow(/bzip2/);
    expect(() => layerCompression(MediaType.ociConfig)).toThrow(/not a layer type/);
  });
});
