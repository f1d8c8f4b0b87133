/**
 * Manifests over the distribution API: fetched with every media type skiff reads in Accept,
 * verified against the digest they were asked by (or the one the registry claims), and, for an
 * index, the entry skiff can run chosen: linux/386, then wasi/wasm, then a CNCF Wasm artifact, or
 * the platform the user asked for. When nothing fits, the error lists what the image offers.
 */
import { SkiffError } from '../errors.ts';
import type { Descriptor } from '../oci/descriptor.ts';
import { isDigest, sha256Digest, type Digest } from '../oci/digest.ts';
import type { ImageIndex } from '../oci/manifest.ts';
import { MediaType, isIndexType, isManifestType } from '../oci/mediatypes.ts';
import { formatPlatform, pickManifest, platformMatches, type Platform } from '../oci/platform.ts';
import { repositoryScope } from './challenge.ts';
import type { RegistryClient } from './client.ts';
import { readLimited, registryError } from './errors.ts';

/** distribution refuses manifests over 4 MiB; so do we. */
export const MAX_MANIFEST_BYTES = 4 << 20;

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

/** What skiff runs, best first (runtimes.ts): the VM's linux/386, then WebAssembly. */
export const RUNNABLE_PLATFORMS: readonly Platform[] = [{ os: 'linux', architecture: '386' }, { os: 'wasi', architecture: 'wasm' }];
export const RUNNABLE_TEXT = 'linux/386 and wasi/wasm';

export interface Repo {
  domain: string;
  /** "library/alpine" */
  path: string;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: Digest;
}

export async function fetchManifest(client: RegistryClient, repo: Repo, reference: string, what: string, signal?: AbortSignal): Promise<FetchedManifest> {
  const res = await client.request({
    domain: repo.domain, scopes: [repositoryScope(repo.path, ['pull'])],
    path: `/v2/${repo.path}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT }, ...(signal ? { signal } : {}),
  });
  if (!res.ok) {
    const e = await registryError(res, `manifest for ${what}`, repo.path);
    throw e.code === 'NOT_FOUND' ? new SkiffError('NOT_FOUND', `manifest for ${what} not found: manifest unknown`, { cause: e }) : e;
  }
  const bytes = await readLimited(res, MAX_MANIFEST_BYTES, `manifest for ${what}`);
  const digest = sha256Digest(bytes);
  const want = isDigest(reference) ? reference : res.headers.get('docker-content-digest');
  if (want && want !== digest) {
    throw new SkiffError('DIGEST_MISMATCH', `manifest for ${what}: content hashes to ${digest}, but ${isDigest(reference) ? 'it was asked for by' : 'the registry says'} ${want}`);
  }
  let mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (!isManifestType(mediaType) && !isIndexType(mediaType)) {
    // Some registries answer application/json: the document's own mediaType says what it is.
    try {
      const doc = JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown; manifests?: unknown };
      mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
    } catch {
      throw new SkiffError('REGISTRY', `manifest for ${what}: not JSON (Content-Type ${mediaType || 'none'})`);
    }
  }
  if (!isManifestType(mediaType) && !isIndexType(mediaType)) {
    throw new SkiffError('UNSUPPORTED', `manifest for ${what}: media type "${mediaType}" is not an image manifest or index`);
  }
  return { bytes, mediaType, digest };
}

/** Platforms an index lists, formatted, attestations left out, in the index's order. */
export function offeredPlatforms(index: ImageIndex): string[] {
  const out: string[] = [];
  for (const m of index.manifests) {
    if (m.platform && m.platform.os !== 'unknown') out.push(formatPlatform(m.platform));
    else if (m.artifactType === MediaType.wasmConfig) out.push('wasm artifact');
  }
  return [...new Set(out)];
}

/** The index entry to pull: the wanted platform, or the first of skiff's runnable ones; throws listing the offer. */
export function chooseFromIndex(index: ImageIndex, what: string, want?: Platform): Descriptor {
  const manifests = index.manifests.filter((m) => isManifestType(m.mediaType) || isIndexType(m.mediaType));
  const offers = offeredPlatforms(index);
  if (want) {
    const hit = pickManifest(manifests, [want]);
    if (hit) return hit;
    throw new SkiffError('NOT_FOUND', `${what}: no manifest for platform ${formatPlatform(want)}; it offers ${offers.join(', ') || 'no platform'}`);
  }
  const hit = pickManifest(manifests, RUNNABLE_PLATFORMS)
    ?? manifests.find((m) => m.artifactType === MediaType.wasmConfig && isManifestType(m.mediaType));
  if (hit) return hit;
  throw new SkiffError('UNSUPPORTED', `${what} offers ${offers.join(', ') || 'no platform'}; skiff runs ${RUNNABLE_TEXT} (choose one with --platform)`);
}

/** Does a single image of this platform run here? */
export function runnablePlatform(p: Platform): boolean {
  return RUNNABLE_PLATFORMS.some((r) => platformMatches(r, p));
}

/** The repository's tags (`GET /v2/<name>/tags/list`, following `Link: <...>; rel="next"` pages). */
export async function listTags(client: RegistryClient, repo: Repo, what: string, maxPages = 100): Promise<string[]> {
  const out: string[] = [];
  let path: string | undefined = `/v2/${repo.path}/tags/list`;
  for (let page = 0; path && page < maxPages; page++) {
    const res = await client.request({ domain: repo.domain, scopes: [repositoryScope(repo.path, ['pull'])], path });
    if (!res.ok) throw await registryError(res, `tags of ${what}`, repo.path);
    let doc: { tags?: unknown };
    try {
      doc = JSON.parse(new TextDecoder().decode(await readLimited(res, 4 << 20, `tags of ${what}`))) as { tags?: unknown };
    } catch (err) {
      throw SkiffError.wrap(err, `tags of ${what}`);
    }
    if (Array.isArray(doc.tags)) for (const t of doc.tags) if (typeof t === 'string') out.push(t);
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
    // Only a next page on the same registry, as a path.
    path = next && next.startsWith('/v2/') ? next : undefined;
  }
  return [...new Set(out)];
}
