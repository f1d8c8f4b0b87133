/**
 * From an archive listing to the images it holds (sans-IO). Three layouts:
 *  - docker save, legacy: manifest.json + <id>/layer.tar + <hex>.json configs (no manifests: we
 *    write a Docker v2 schema 2 manifest, as skopeo does for docker-archive:);
 *  - docker save >= 25: the same manifest.json over an OCI layout (blobs/sha256/...): the archive's
 *    own manifest is used when one names the same config, so its digest is preserved;
 *  - OCI image layout archives: oci-layout + index.json + blobs/.
 */
import { SkiffError } from '../../errors.ts';
import { Annotation, type Descriptor } from '../../oci/descriptor.ts';
import { sha256Digest, type Digest } from '../../oci/digest.ts';
import { encodeJson, parseIndex, parseManifestOrIndex, type ImageManifest } from '../../oci/manifest.ts';
import { MediaType, isIndexType, isManifestType } from '../../oci/mediatypes.ts';
import { pickManifest, type Platform } from '../../oci/platform.ts';
import { normalizeReference, parseReference } from '../../oci/reference.ts';
import { detectCompression } from '../../archive/index.ts';
import { invalidArchive, jsonOf, resolveFile, type ArchiveFile, type ArchiveListing } from './listing.ts';

export interface PlannedImage {
  manifestDigest: Digest;
  manifestBytes: Uint8Array;
  manifestMediaType: string;
  manifest: ImageManifest;
  /** Every blob the image needs (config and layers) -> the archive file holding it. */
  blobs: Map<Digest, ArchiveFile>;
  /** Fully qualified references to point at it. */
  tags: string[];
  /** The manifest was written by us (legacy docker save has none): any image with the same config and diff_ids is the same image. */
  synthesized?: boolean;
}

export interface PlanOptions {
  /** Preferred platforms when an OCI index lists several. */
  platforms?: readonly Platform[];
}

export function planArchive(listing: ArchiveListing, options: PlanOptions = {}): PlannedImage[] {
  if (listing.files.size === 0 && listing.links.size === 0) throw invalidArchive(listing.archive, undefined, 'the archive is empty');
  checkBlobNames(listing);
  const has = (n: string): boolean => listing.files.has(n) || listing.links.has(n);
  if (has('manifest.json')) return planDocker(listing);
  if (has('index.json')) return planOci(listing, options);
  throw invalidArchive(listing.archive, undefined, 'neither a docker save archive (no manifest.json) nor an OCI image layout (no index.json)');
}

/** blobs/sha256/<hex> must hash to <hex>, whether referenced or not. */
function checkBlobNames(listing: ArchiveListing): void {
  for (const f of listing.files.values()) {
    const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(f.name);
    if (!m) continue;
    const claimed = `${m[1]}:${m[2]}`;
    if (m[1] !== 'sha256') throw new SkiffError('UNSUPPORTED', `loading ${listing.archive}: entry "${f.name}": digest algorithm "${m[1]}" is not supported`);
    if (claimed !== f.digest) {
      throw new SkiffError('DIGEST_MISMATCH', `loading ${listing.archive}: entry "${f.name}": content hashes to ${f.digest}, not the ${claimed} its name claims`);
    }
  }
}

function blobFile(listing: ArchiveListing, d: Descriptor, referrer: string): ArchiveFile {
  const name = `blobs/${d.digest.replace(':', '/')}`;
  let f: ArchiveFile;
  try {
    f = resolveFile(listing, name, referrer);
  } catch {
    throw invalidArchive(listing.archive, name, `blob ${d.digest} (${d.mediaType}) named by ${referrer} is missing`);
  }
  if (f.digest !== d.digest) {
    throw new SkiffError('DIGEST_MISMATCH', `loading ${listing.archive}: entry "${name}": content hashes to ${f.digest}, but ${referrer} expects ${d.digest}`);
  }
  if (f.size !== d.size) {
    throw new SkiffError('DIGEST_MISMATCH', `loading ${listing.archive}: entry "${name}": ${f.size} bytes, but ${referrer} says ${d.size}`);
  }
  return f;
}

function imageFromManifest(listing: ArchiveListing, mf: ArchiveFile, mediaType: string | undefined, referrer: string): PlannedImage {
  const doc = `manifest ${mf.digest}`;
  const parsed = parseManifestOrIndex(jsonOf(listing, mf) as object, { doc, ...(mediaType ? { mediaType } : {}) });
  if (parsed.kind !== 'manifest') throw invalidArchive(listing.archive, mf.name, `${referrer} names an index where an image manifest was expected`);
  const m = parsed.manifest;
  const blobs = new Map<Digest, ArchiveFile>();
  blobs.set(m.config.digest, blobFile(listing, m.config, `${doc} (config)`));
  m.layers.forEach((l, i) => blobs.set(l.digest, blobFile(listing, l, `${doc} (layers[${i}])`)));
  return {
    manifestDigest: mf.digest,
    manifestBytes: mf.bytes!,
    manifestMediaType: m.mediaType ?? mediaType ?? MediaType.ociManifest,
    manifest: m,
    blobs,
    tags: [],
  };
}

function planOci(listing: ArchiveListing, options: PlanOptions): PlannedImage[] {
  const layoutFile = listing.files.get('oci-layout');
  if (layoutFile) {
    const layout = jsonOf(listing, layoutFile) as { imageLayoutVersion?: unknown };
    if (typeof layout?.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
      throw new SkiffError('UNSUPPORTED', `loading ${listing.archive}: entry "oci-layout": imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)} is not supported (expected 1.x)`);
    }
  }
  const indexFile = resolveFile(listing, 'index.json', 'the OCI layout');
  const index = parseIndex(jsonOf(listing, indexFile) as object, `${listing.archive}: index.json`);
  const wanted = options.platforms ?? [{ os: 'linux', architecture: '386' }, { os: 'wasi', architecture: 'wasm' }, { os: 'linux', architecture: 'amd64' }];
  const out = new Map<Digest, PlannedImage>();
  index.manifests.forEach((d, i) => {
    const referrer = `index.json manifests[${i}]`;
    let target = d;
    let file = blobFile(listing, d, referrer);
    if (isIndexType(d.mediaType)) {
      const nested = parseIndex(jsonOf(listing, file) as object, `index ${d.digest}`);
      const pick = pickManifest(nested.manifests, wanted) ?? nested.manifests.find((m) => isManifestType(m.mediaType));
      if (!pick) throw invalidArchive(listing.archive, file.name, `index ${d.digest} lists no image manifest`);
      target = pick;
      file = blobFile(listing, pick, `index ${d.digest}`);
    } else if (!isManifestType(d.mediaType)) {
      throw new SkiffError('UNSUPPORTED', `loading ${listing.archive}: ${referrer}: media type "${d.mediaType}" is not an image manifest or index`);
    }
    const img = out.get(target.digest) ?? imageFromManifest(listing, file, target.mediaType, referrer);
    const name = refFromAnnotations(d.annotations);
    if (name && !img.tags.includes(name)) img.tags.push(name);
    out.set(target.digest, img);
  });
  return [...out.values()];
}

/** io.containerd.image.name is a full reference; ref.name is one only when it parses as a name with a tag. */
function refFromAnnotations(a: Record<string, string> | undefined): string | undefined {
  const full = a?.[Annotation.containerdImageName];
  const refName = a?.[Annotation.refName];
  for (const cand of [full, refName]) {
    if (!cand || !/[:/]/.test(cand)) continue;
    try {
      const r = parseReference(cand);
      if (r.tag !== undefined && r.digest === undefined) return normalizeReference(cand);
    } catch {
      /* a bare tag such as "latest": the image loads untagged */
    }
  }
  return undefined;
}

interface DockerManifestEntry { Config?: unknown; RepoTags?: unknown; Layers?: unknown }

function planDocker(listing: ArchiveListing): PlannedImage[] {
  const mfile = resolveFile(listing, 'manifest.json', 'the archive');
  const entries = jsonOf(listing, mfile);
  if (!Array.isArray(entries)) throw invalidArchive(listing.archive, 'manifest.json', 'must be a JSON array');
  // Manifests stored in the archive (docker >= 25), by config digest.
  const own = new Map<Digest, PlannedImage>();
  const idx = listing.files.get('index.json');
  if (idx) {
    for (const d of parseIndex(jsonOf(listing, idx) as object, `${listing.archive}: index.json`).manifests) {
      if (!isManifestType(d.mediaType)) continue;
      const img = imageFromManifest(listing, blobFile(listing, d, 'index.json'), d.mediaType, 'index.json');
      own.set(img.manifest.config.digest, img);
    }
  }
  return (entries as DockerManifestEntry[]).map((e, i) => {
    const where = `manifest.json[${i}]`;
    if (typeof e !== 'object' || e === null || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw invalidArchive(listing.archive, 'manifest.json', `${where} needs "Config" (string) and "Layers" (array of strings)`);
    }
    const tags = Array.isArray(e.RepoTags) ? e.RepoTags.map((t) => {
      if (typeof t !== 'string') throw invalidArchive(listing.archive, 'manifest.json', `${where}.RepoTags holds a non-string`);
      try {
        return normalizeReference(t);
      } catch (err) {
        throw SkiffError.wrap(err, `loading ${listing.archive}: manifest.json ${where}.RepoTags`);
      }
    }) : [];
    const config = resolveFile(listing, e.Config, `${where}.Config`);
    checkNamedDigest(listing, e.Config, config);
    const layers = (e.Layers as string[]).map((l, j) => {
      const f = resolveFile(listing, l, `${where}.Layers[${j}]`);
      checkNamedDigest(listing, l, f);
      return f;
    });
    const mine = own.get(config.digest);
    if (mine && mine.manifest.layers.length === layers.length && mine.manifest.layers.every((l, j) => l.digest === layers[j]!.digest)) {
      return { ...mine, tags };
    }
    return synthesize(config, layers, tags);
  });
}

/** Legacy names carry digests too ("<hex>.json", "blobs/sha256/<hex>"): hold them to it. */
function checkNamedDigest(listing: ArchiveListing, name: string, f: ArchiveFile): void {
  const m = /(?:^|\/)([0-9a-f]{64})\.json$/.exec(name);
  if (m && `sha256:${m[1]}` !== f.digest) {
    throw new SkiffError('DIGEST_MISMATCH', `loading ${listing.archive}: entry "${name}": content hashes to ${f.digest}, not the sha256:${m[1]} its name claims`);
  }
}

function synthesize(config: ArchiveFile, layers: ArchiveFile[], tags: string[]): PlannedImage {
  const layerType = (f: ArchiveFile): string => {
    const s = detectCompression(f.magic);
    return s === 'gzip' ? MediaType.dockerLayerGzip : s === 'zstd' ? MediaType.dockerLayerZstd : MediaType.dockerLayer;
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, digest: config.digest, size: config.size },
    layers: layers.map((f) => ({ mediaType: layerType(f), digest: f.digest, size: f.size })),
  };
  const manifestBytes = encodeJson(manifest);
  const blobs = new Map<Digest, ArchiveFile>([[config.digest, config]]);
  for (const l of layers) blobs.set(l.digest, l);
  return { manifestDigest: sha256Digest(manifestBytes), manifestBytes, manifestMediaType: MediaType.dockerManifest, manifest, blobs, tags, synthesized: true };
}
