/**
 * `saveArchive`: images out as a `docker save` archive (manifest.json + uncompressed layer tars,
 * which `docker load` and `skopeo ... docker-archive:` read; config digest and diff_ids preserved)
 * or as an OCI image layout archive (blobs exactly as stored, so manifest digests are preserved).
 */
import type { TarEntry, TarHeader } from '../archive/types.ts';
import { Annotation } from '../oci/descriptor.ts';
import { digestHex } from '../oci/digest.ts';
import { encodeJson } from '../oci/manifest.ts';
import { MediaType, layerCompression } from '../oci/mediatypes.ts';
import { familiarName, parseReference } from '../oci/reference.ts';
import type { EngineContext } from './context.ts';
import { decompressLayer, writeTarChunksAsync } from './tar-io.ts';
import type { ImageRecord } from './types.ts';

export interface SaveItem {
  image: ImageRecord;
  /** Fully qualified references to record for it. */
  tags: string[];
}

export type ArchiveFormat = 'docker' | 'oci';

function header(name: string, size: number, type: TarHeader['type'] = 'file', mtime = 0): TarHeader {
  return { name, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size, mtime, linkname: '', devmajor: 0, devminor: 0 };
}
function file(name: string, data: Uint8Array): TarEntry {
  return { header: header(name, data.byteLength), data };
}
function dir(name: string): TarEntry {
  return { header: header(name, 0, 'directory'), data: new Uint8Array() };
}
const blobName = (d: string): string => `blobs/sha256/${d.slice(7)}`;

/** Entries of the archive, produced lazily so one layer at a time is in memory. */
export async function* archiveEntries(ctx: EngineContext, items: SaveItem[], format: ArchiveFormat): AsyncIterable<TarEntry> {
  const written = new Set<string>();
  yield dir('blobs/');
  yield dir('blobs/sha256/');
  const blob = async function* (digest: string, bytes: () => Promise<Uint8Array>): AsyncIterable<TarEntry> {
    if (written.has(digest)) return;
    written.add(digest);
    yield file(blobName(digest), await bytes());
  };
  if (format === 'oci') {
    yield file('oci-layout', encodeJson({ imageLayoutVersion: '1.0.0' }));
    const manifests: object[] = [];
    for (const { image, tags } of items) {
      yield* blob(image.digest, () => ctx.content.get(image.digest));
      yield* blob(image.config.digest, () => ctx.content.get(image.config.digest));
      for (const l of image.layers) yield* blob(l.digest, () => ctx.content.get(l.digest));
      const desc = { mediaType: image.mediaType, digest: image.digest, size: image.manifestSize };
      if (tags.length === 0) manifests.push(desc);
      for (const t of tags) {
        const tag = parseReference(t).tag ?? 'latest';
        manifests.push({ ...desc, annotations: { [Annotation.containerdImageName]: t, [Annotation.refName]: tag } });
      }
    }
    yield file('index.json', encodeJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
    return;
  }
  // docker save: layers uncompressed, so each layer file's digest is its diff_id.
  const entries: object[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, tags } of items) {
    yield* blob(image.config.digest, () => ctx.content.get(image.config.digest));
    for (const l of image.layers) {
      yield* blob(l.diffId, async () => decompressLayer(await ctx.content.get(l.digest), layerCompression(l.mediaType)));
    }
    const repoTags = tags.map((t) => {
      const r = parseReference(t);
      const name = familiarName(r);
      (repositories[name] ??= {})[r.tag ?? 'latest'] = digestHex(image.layers.at(-1)?.diffId ?? image.id);
      return `${name}:${r.tag ?? 'latest'}`;
    });
    entries.push({ Config: blobName(image.config.digest), RepoTags: repoTags, Layers: image.layers.map((l) => blobName(l.diffId)) });
  }
  yield file('manifest.json', encodeJson(entries));
  if (Object.keys(repositories).length > 0) yield file('repositories', encodeJson(repositories));
}

export function saveArchiveChunks(ctx: EngineContext, items: SaveItem[], format: ArchiveFormat): AsyncIterable<Uint8Array> {
  return writeTarChunksAsync(archiveEntries(ctx, items, format));
}

