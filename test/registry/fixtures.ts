/**
 * OCI layouts for the registry tests, written by this script (plain JSON and `tar`), never by
 * skiff: the bundled busybox image (linux/386) beside an amd64 image in one multi-platform index,
 * and an amd64-only image. skopeo copies them into the registry.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../helpers/exec.ts';

export const DIST = resolve(import.meta.dirname, '../../vm-images/images/dist');

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Blob { digest: string; size: number; bytes: Buffer }

function blob(dir: string, bytes: Buffer | string): Blob {
  const b = Buffer.from(bytes);
  const digest = sha(b);
  writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), b);
  return { digest, size: b.length, bytes: b };
}

/** A one-file gzip layer made by the system's tar; returns the layer blob and its diff_id. */
function tarLayer(dir: string, file: string, content: string): { layer: Blob; diffId: string } {
  const src = mkdtempSync(join(tmpdir(), 'skiff-layer-'));
  writeFileSync(join(src, file), content);
  const tarFile = join(src, '..', `${src.split('/').pop()}.tar`);
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--mtime=@0', '-C', src, '-cf', tarFile, file]);
  const tar = readFileSync(tarFile);
  run('gzip', ['-n', '-f', tarFile]);
  return { layer: blob(dir, readFileSync(`${tarFile}.gz`)), diffId: sha(tar) };
}

function amd64Image(dir: string, label: string): Blob {
  const { layer, diffId } = tarLayer(dir, 'hello.txt', `an amd64 image: ${label}\n`);
  const config = blob(dir, JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: [diffId] } }));
  return blob(dir, JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
  }));
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

/** An empty OCI layout directory (blobs written by `blob`, index.json by `tagLatest`). */
function newLayout(dir: string): string {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return dir;
}

/** The layout's index.json: one descriptor (a manifest or an index), tagged latest. */
function tagLatest(dir: string, mediaType: string, d: { digest: string; size: number }): void {
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType, digest: d.digest, size: d.size, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }));
}

/** An image index of a linux/amd64 manifest and one other platform's, tagged latest. */
function indexWithAmd64(dir: string, amd: Blob, other: { digest: string; size: number }, platform: { architecture: string; os: string }): Blob {
  const index = blob(dir, JSON.stringify({
    schemaVersion: 2, mediaType: INDEX,
    manifests: [
      { mediaType: MANIFEST, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: MANIFEST, digest: other.digest, size: other.size, platform },
    ],
  }));
  tagLatest(dir, INDEX, index);
  return index;
}

export interface Layouts {
  dir: string;
  /** oci:<multi>:latest is an index of linux/amd64 and linux/386 (bundled busybox). */
  multi: string;
  multiIndexDigest: string;
  busyboxManifest: string;
  amd64Manifest: string;
  /** oci:<amd64>:latest is a single linux/amd64 manifest. */
  amd64Only: string;
  /** oci:<layered>:latest: linux/386, three layers (layer blob digests in order). */
  layered: string;
  layeredLayers: string[];
}

export function buildLayouts(): Layouts {
  const root = mkdtempSync(join(tmpdir(), 'skiff-layouts-'));
  const multi = newLayout(join(root, 'multi'));
  // The bundled busybox archive is an OCI layout: take its blobs as they are.
  const bb = join(root, 'busybox');
  mkdirSync(bb);
  run('tar', ['-xf', join(DIST, 'busybox.tar'), '-C', bb]);
  for (const f of readdirSync(join(bb, 'blobs/sha256'))) copyFileSync(join(bb, 'blobs/sha256', f), join(multi, 'blobs/sha256', f));
  const bbIndex = JSON.parse(readFileSync(join(bb, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const bbm = bbIndex.manifests[0]!;
  const amd = amd64Image(multi, 'multi');
  const index = indexWithAmd64(multi, amd, bbm, { architecture: '386', os: 'linux' });

  const only = newLayout(join(root, 'amd64'));
  const m = amd64Image(only, 'only');
  tagLatest(only, MANIFEST, m);
  const layered = newLayout(join(root, 'layered'));
  const ls = [0, 1, 2].map((i) => tarLayer(layered, `file${i}.txt`, `layer ${i}\n`.repeat(20_000 * (i + 1))));
  const lcfg = blob(layered, JSON.stringify({ architecture: '386', os: 'linux', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: ls.map((l) => l.diffId) } }));
  const lm = blob(layered, JSON.stringify({
    schemaVersion: 2, mediaType: MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: lcfg.digest, size: lcfg.size },
    layers: ls.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.layer.digest, size: l.layer.size })),
  }));
  tagLatest(layered, MANIFEST, lm);
  return { layered, layeredLayers: ls.map((l) => l.layer.digest), dir: root, multi, multiIndexDigest: index.digest, busyboxManifest: bbm.digest, amd64Manifest: amd.digest, amd64Only: only };
}

/** oci:<dir>:latest: an index of linux/amd64 and the bundled hello-wasm (wasi/wasm). */
export function wasmIndexLayout(): { dir: string; indexDigest: string; wasmManifest: string } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-wasm-index-'));
  run('tar', ['-xf', join(DIST, 'hello-wasm.tar'), '-C', dir]);
  const own = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const hello = own.manifests[0]!;
  const amd = amd64Image(dir, 'wasm-index');
  const index = indexWithAmd64(dir, amd, hello, { architecture: 'wasm', os: 'wasi' });
  return { dir, indexDigest: index.digest, wasmManifest: hello.digest };
}

/**
 * oci:<dir>:latest: the bundled hello-wasm with one more file in its layer and <label> as its
 * entrypoint's argument (hello.wasm prints its argv): an image no bundle has, so a pull fetches
 * its layer, and a run shows it ran this config.
 */
export function helloVariantLayout(label: string): { dir: string; manifest: string; layer: string } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-hello-variant-'));
  const src = mkdtempSync(join(tmpdir(), 'skiff-hello-src-'));
  run('tar', ['-xf', join(DIST, 'hello-wasm.tar'), '-C', src]);
  const own = JSON.parse(readFileSync(join(src, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const m = JSON.parse(readFileSync(join(src, 'blobs/sha256', own.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }>; annotations?: Record<string, string> };
  const cfg = JSON.parse(readFileSync(join(src, 'blobs/sha256', m.config.digest.slice(7)), 'utf8')) as { config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] } };
  const root = join(src, 'rootfs');
  mkdirSync(root);
  run('tar', ['-xzf', join(src, 'blobs/sha256', m.layers[0]!.digest.slice(7)), '-C', root]);
  writeFileSync(join(root, 'variant.txt'), `${label}\n`);
  newLayout(dir);
  const tarFile = join(src, 'layer.tar');
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--mtime=@0', '-C', root, '-cf', tarFile, '.']);
  const diffId = sha(readFileSync(tarFile));
  run('gzip', ['-n', '-f', tarFile]);
  const layer = blob(dir, readFileSync(`${tarFile}.gz`));
  cfg.config.Entrypoint = [...cfg.config.Entrypoint, label];
  cfg.rootfs.diff_ids = [diffId];
  const config = blob(dir, JSON.stringify(cfg));
  const manifest = blob(dir, JSON.stringify({
    schemaVersion: 2, mediaType: MANIFEST, ...(m.annotations ? { annotations: m.annotations } : {}),
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
  }));
  tagLatest(dir, MANIFEST, manifest);
  return { dir, manifest: manifest.digest, layer: layer.digest };
}
