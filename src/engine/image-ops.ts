/**
 * The Engine's image verbs (load, pull, push, tag, rmi, untag, prune, rollback, import, save),
 * kept here so engine.ts only forwards to them: each is the operation of images.ts, load/,
 * commit.ts, save.ts or registry/engine-ops.ts, plus Docker's events for it and the layer data it
 * starts or stops (layer-data-builds.ts).
 */
import { SkiffError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { familiarName, familiarReference, normalizeReference, parseReference } from '../oci/reference.ts';
import { enginePull, enginePush, type PullImageOptions, type PushImageOptions } from '../registry/engine-ops.ts';
import { importImage, type ImportImageOptions } from './commit.ts';
import type { EngineParts } from './engine-parts.ts';
import { pruneImages, removeImage, rollbackImage, tagImage, type RemoveResult } from './images.ts';
import { loadArchive, type LoadArchiveOptions, type LoadResult } from './load/loader.ts';
import { saveArchiveChunks, type ArchiveFormat, type SaveItem } from './save.ts';
import type { ImageRecord, TagRecord } from './types.ts';

/** Loads, then makes each new image's layer data (random access for containers: layer-index.ts). */
export async function engineLoad(e: EngineParts, options: LoadArchiveOptions): Promise<LoadResult> {
  const r = await loadArchive(e.ctx, options);
  for (const i of r.images) {
    const image = i.existed ? undefined : await e.images.local(i.digest);
    if (image) await e.layerData.prepare(image);
    e.events.image('load', i.id, i.tags[0] !== undefined ? familiarRef(i.tags[0]) : i.id);
  }
  return r;
}

export async function enginePullImage(e: EngineParts, options: PullImageOptions) {
  const r = await enginePull(e.ctx, e.registry, options);
  // The pull verified every layer (digest, diff_id, structure); the layer data (an uncompressed
  // copy, made and checked against the diff_id again) follows in the background. A container
  // that needs it first joins that build (layer-index.ts ensureLayerData).
  if (!r.existed) e.layerData.inBackground(r.image);
  e.events.image('pull', familiarRef(r.ref), familiarRef(r.ref, true));
  return r;
}

export async function enginePushImage(e: EngineParts, options: PushImageOptions) {
  const r = await enginePush(e.ctx, e.registry, options);
  e.events.image('push', familiarRef(r.ref), familiarRef(r.ref, true));
  return r;
}

export async function engineTag(e: EngineParts, options: { source: string; target: string }): Promise<string> {
  const image = await e.images.resolve(options.source);
  const r = await tagImage(e.ctx, options.source, options.target);
  e.events.image('tag', image.id, familiarRef(options.target));
  return r;
}

/** `docker rmi`: untag, and delete the image when no tag and no container is left. */
export async function engineRemoveImage(e: EngineParts, options: { ref: string; force?: boolean }): Promise<RemoveResult> {
  const image = await e.images.local(options.ref);
  const r = await removeImage(e.ctx, options.ref, options.force ?? false);
  if (r.deleted.length) await e.layerData.stopBuildsOfRemoved();
  for (const t of r.untagged) e.events.image('untag', image?.id ?? t, familiarRef(t));
  for (const d of r.deleted) e.events.image('delete', d, d);
  return r;
}

/** Remove one tag only (never the image). */
export async function engineUntag(e: EngineParts, options: { ref: string }): Promise<void> {
  const ref = normalizeReference(options.ref);
  const tag = await e.ctx.state.transaction(async (tx) => {
    const t = await tx.get<TagRecord>('tags', ref);
    if (!t) throw new SkiffError('NOT_FOUND', `No such image: ${options.ref}`);
    await tx.delete('tags', ref);
    return t;
  });
  const image = await e.images.local(tag.digest).catch(() => undefined);
  e.events.image('untag', image?.id ?? tag.digest, familiarRef(ref));
}

export async function enginePruneImages(e: EngineParts, options: { all?: boolean }) {
  const r = await pruneImages(e.ctx, options);
  if (r.deleted.length) await e.layerData.stopBuildsOfRemoved();
  for (const t of r.untagged) e.events.image('untag', t, familiarRef(t));
  for (const d of r.deleted) e.events.image('delete', d, d);
  e.events.emit('image', 'prune', '', { reclaimed: String(r.reclaimed) });
  return r;
}

/** Where a tag points and pointed, newest first (`at`: when it started pointing there). */
export async function engineTagHistory(e: EngineParts, options: { ref: string }): Promise<Array<{ digest: Digest; at: string }>> {
  const full = normalizeReference(options.ref);
  const t = await e.ctx.state.get<TagRecord>('tags', full);
  if (!t) throw new SkiffError('NOT_FOUND', `No such image: ${options.ref}`);
  return [...t.history, { digest: t.digest, at: t.updatedAt }].reverse();
}

export async function engineRollback(e: EngineParts, options: { ref: string; to?: Digest }) {
  const r = await rollbackImage(e.ctx, options.ref, options.to);
  // The tag moved back: Docker's word for a tag pointing somewhere new.
  const image = await e.images.resolve(options.ref).catch(() => undefined);
  if (image) e.events.image('tag', image.id, familiarRef(options.ref));
  return r;
}

/** `docker import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image. */
export async function engineImport(e: EngineParts, options: ImportImageOptions): Promise<ImageRecord> {
  const image = await importImage(e.ctx, options);
  await e.layerData.prepare(image);
  e.events.image('import', image.id, image.id);
  return image;
}

/** The archive as chunks; nothing is read until iterated. Refs are resolved first (NOT_FOUND early). */
export async function engineSave(e: EngineParts, options: { refs: string[]; format?: ArchiveFormat }): Promise<AsyncIterable<Uint8Array>> {
  if (options.refs.length === 0) throw new SkiffError('INVALID_ARGUMENT', 'save: name at least one image');
  const items = new Map<Digest, SaveItem>();
  for (const ref of options.refs) {
    const image = await e.images.resolve(ref);
    const item = items.get(image.digest) ?? { image, tags: [] };
    // A tag reference saves that tag; an ID saves every tag the image has, as docker save does.
    let tags: string[] = [];
    try {
      const p = parseReference(ref);
      if (p.tag !== undefined && !p.digest && !/^[0-9a-f]{1,64}$/.test(ref)) tags = [normalizeReference(ref)];
    } catch {
      tags = [];
    }
    if (tags.length === 0 || !(await e.ctx.state.get<TagRecord>('tags', tags[0]!))) {
      tags = (await e.ctx.state.list<TagRecord>('tags')).filter((t) => t.digest === image.digest).map((t) => t.ref);
    }
    for (const t of tags) if (!item.tags.includes(t)) item.tags.push(t);
    items.set(image.digest, item);
  }
  for (const i of items.values()) e.events.image('save', i.image.id, i.image.id);
  return saveArchiveChunks(e.ctx, [...items.values()], options.format ?? 'docker');
}

/** "busybox:latest" as Docker's events name an image (`nameOnly`: "busybox"). */
export function familiarRef(ref: string, nameOnly = false): string {
  try {
    const r = parseReference(ref);
    return nameOnly ? familiarName(r) : familiarReference(r);
  } catch {
    return ref;
  }
}
