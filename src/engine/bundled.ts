/**
 * Bundled images on Node: vm-images/images/dist/manifest.json lists the committed OCI archives
 * ([{name, file, sha256, size, manifestDigest, platform}]); an image named there loads into the
 * store on first use, after its archive's sha256 is checked against the manifest.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError } from '../errors.ts';
import { sha256Digest } from '../oci/digest.ts';
import { normalizeReference } from '../oci/reference.ts';
import { packageRoot } from '../util/package-root-node.ts';
import type { BundledImages } from './image-store.ts';

export interface BundledEntry {
  name: string;
  file: string;
  sha256: string;
  size: number;
  manifestDigest?: string;
  platform?: unknown;
}

export function defaultBundledDir(): string {
  return join(packageRoot(), 'vm-images', 'images', 'dist');
}

export async function readBundledManifest(dir: string): Promise<BundledEntry[]> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    return [];
  }
  const rows = JSON.parse(text) as BundledEntry[];
  if (!Array.isArray(rows)) throw new SkiffError('INVALID_ARGUMENT', `${dir}/manifest.json: expected an array of bundled images`);
  return rows;
}

export function bundledFromDir(dir: string): BundledImages {
  let rows: Promise<Map<string, BundledEntry>> | undefined;
  const index = (): Promise<Map<string, BundledEntry>> =>
    (rows ??= readBundledManifest(dir).then((list) => new Map(list.map((r) => [normalizeReference(r.name), r]))));
  return {
    async names() {
      return (await readBundledManifest(dir)).map((r) => r.name);
    },
    async find(ref) {
      const row = (await index()).get(ref);
      if (!row) return undefined;
      const path = join(dir, row.file);
      const data = new Uint8Array(await readFile(path));
      const got = sha256Digest(data);
      const want = row.sha256.startsWith('sha256:') ? row.sha256 : `sha256:${row.sha256}`;
      if (got !== want) throw new SkiffError('DIGEST_MISMATCH', `bundled image ${row.name}: ${path} hashes to ${got}, manifest.json says ${want}`);
      return { name: row.file, data };
    },
  };
}
