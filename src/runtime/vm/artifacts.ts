/**
 * Where the guest's boot files come from. `vm-images/dist/manifest.json` lists them with their
 * SHA-256; `read` verifies each file against it, so a stale or truncated download fails loudly.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SkiffError } from '../../errors.ts';

export interface ArtifactManifest {
  v86: string;
  cmdline: string;
  memoryMiB: number;
  files: Record<string, { sha256: string; size: number }>;
}

export interface ArtifactSource {
  /** The manifest's text (hashed into the snapshot key) and its parsed form. */
  manifest(): Promise<{ text: string; value: ArtifactManifest }>;
  /** A file's bytes, checked against the manifest. */
  read(name: string): Promise<ArrayBuffer>;
}

export const ARTIFACT_FILES = { bios: 'bios.bin', kernel: 'bzImage', initrd: 'initrd.lz4' } as const;

export function parseManifest(text: string, where: string): ArtifactManifest {
  let v: ArtifactManifest;
  try {
    v = JSON.parse(text) as ArtifactManifest;
  } catch (err) {
    throw new SkiffError('VM', `${where}: manifest.json is not JSON`, { cause: err });
  }
  for (const f of Object.values(ARTIFACT_FILES)) {
    if (!v.files?.[f]) throw new SkiffError('VM', `${where}: manifest.json does not list ${f}`);
  }
  return v;
}

export function checkArtifact(name: string, bytes: ArrayBuffer, m: ArtifactManifest, where: string): ArrayBuffer {
  const want = m.files[name];
  if (!want) throw new SkiffError('NOT_FOUND', `${where}: ${name} is not in the manifest`);
  if (bytes.byteLength !== want.size) {
    throw new SkiffError('DIGEST_MISMATCH', `${where}/${name}: ${bytes.byteLength} bytes, manifest says ${want.size}`);
  }
  const got = bytesToHex(sha256(new Uint8Array(bytes)));
  if (got !== want.sha256) throw new SkiffError('DIGEST_MISMATCH', `${where}/${name}: sha256 ${got}, manifest says ${want.sha256}`);
  return bytes;
}

/**
 * Artifacts served over HTTP (the browser, or any fetch-capable runtime). `manifestText`: the
 * manifest as already read from there (the page read it), checked as a fetched one is.
 */
export function httpArtifacts(baseUrl: string | URL, fetchFn: typeof fetch = fetch, manifestText?: string): ArtifactSource {
  const base = new URL(String(baseUrl).endsWith('/') ? String(baseUrl) : `${String(baseUrl)}/`, globalThis.location?.href);
  let manifest: Promise<{ text: string; value: ArtifactManifest }> | null = manifestText === undefined ? null
    : Promise.resolve().then(() => ({ text: manifestText, value: parseManifest(manifestText, base.href) }));
  const get = async (name: string) => {
    const res = await fetchFn(new URL(name, base));
    if (!res.ok) throw new SkiffError('VM', `fetching guest artifact ${new URL(name, base).href}: HTTP ${res.status}`);
    return res;
  };
  const self: ArtifactSource = {
    manifest: () => (manifest ??= get('manifest.json').then(async (r) => {
      const text = await r.text();
      return { text, value: parseManifest(text, base.href) };
    })),
    async read(name) {
      const { value } = await self.manifest();
      return checkArtifact(name, await (await get(name)).arrayBuffer(), value, base.href);
    },
  };
  return self;
}
