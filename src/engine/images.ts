/** Image operations over the state and content stores: list, inspect, history, tag, remove, prune, df. */
import { SkiffError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { parseImageConfig, type HistoryEntry, type ImageConfig } from '../oci/config.ts';
import { familiarName, normalizeReference, parseReference } from '../oci/reference.ts';
import type { EngineContext } from './context.ts';
import { buildCacheBlobs } from '../build/cache-records.ts';
import { liveLeases } from './leases.ts';
import { layerDataBytes, layerDataKey, layerDataRecords, type LayerDataGuard } from './layer-index.ts';
import { findImage, noSuchImage } from './resolve.ts';
import type { StateReader, StateTx } from './state/store.ts';
import { rollbackTag, setTag } from './tags.ts';
import type { ContainerRecord, ImageRecord, TagRecord, VolumeRecord } from './types.ts';

export interface ImageSummary {
  /** Config digest (Docker's IMAGE ID). */
  id: Digest;
  /** Manifest digest. */
  digest: Digest;
  /** Familiar repository ("busybox") or "<none>". */
  repository: string;
  tag: string;
  /** Fully qualified reference, absent for untagged images. */
  ref?: string;
  created?: string;
  size: number;
  platform: string;
  containers: number;
}

export interface HistoryRow {
  id: string;
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

export interface RemoveResult {
  untagged: string[];
  deleted: Digest[];
}

export async function loadConfig(ctx: EngineContext, image: ImageRecord): Promise<ImageConfig> {
  const bytes = await ctx.content.get(image.config.digest);
  return parseImageConfig(bytes, `image config ${image.config.digest}`);
}

function splitRef(ref: string): { repository: string; tag: string } {
  const r = parseReference(ref);
  return { repository: familiarName(r), tag: r.tag ?? '<none>' };
}

export async function listImages(ctx: EngineContext, opts: { reference?: string } = {}): Promise<ImageSummary[]> {
  const [images, tags, containers] = await Promise.all([
    ctx.state.list<ImageRecord>('images'),
    ctx.state.list<TagRecord>('tags'),
    ctx.state.list<ContainerRecord>('containers'),
  ]);
  const byDigest = new Map(images.map((i) => [i.digest, i]));
  const used = new Map<Digest, number>();
  for (const c of containers) used.set(c.image, (used.get(c.image) ?? 0) + 1);
  const rows: ImageSummary[] = [];
  const tagged = new Set<Digest>();
  const row = (img: ImageRecord, ref?: string): ImageSummary => ({
    id: img.id, digest: img.digest,
    ...(ref ? splitRef(ref) : { repository: '<none>', tag: '<none>' }),
    ...(ref ? { ref } : {}),
    ...(img.created ? { created: img.created } : {}),
    size: img.size, platform: img.platform, containers: used.get(img.digest) ?? 0,
  });
  for (const t of tags) {
    const img = byDigest.get(t.digest);
    if (!img) continue;
    tagged.add(img.digest);
    rows.push(row(img, t.ref));
  }
  for (const img of images) if (!tagged.has(img.digest)) rows.push(row(img));
  let out = rows.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.repository.localeCompare(b.repository));
  if (opts.reference) {
    const want = parseReference(opts.reference, { defaultTag: false });
    out = out.filter((r) => r.ref && familiarName(parseReference(r.ref)) === familiarName(want) && (want.tag === undefined || r.tag === want.tag));
  }
  return out;
}

export async function inspectImage(ctx: EngineContext, image: ImageRecord): Promise<Record<string, unknown>> {
  const bytes = await ctx.content.get(image.config.digest);
  const config = parseImageConfig(bytes, `image config ${image.config.digest}`);
  // A committed image's V1 fields (API 1.43 shows them; later versions dropped them).
  const v1 = JSON.parse(new TextDecoder().decode(bytes)) as { container?: unknown; container_config?: unknown };
  const tags = (await ctx.state.list<TagRecord>('tags')).filter((t) => t.digest === image.digest);
  return {
    Id: image.id,
    RepoTags: tags.map((t) => { const r = parseReference(t.ref); return `${familiarName(r)}:${r.tag}`; }),
    RepoDigests: [...new Set(tags.map((t) => `${familiarName(parseReference(t.ref))}@${image.digest}`))],
    Created: config.created ?? '',
    Author: config.author ?? '',
    Container: typeof v1.container === 'string' ? v1.container : '',
    ...(v1.container_config && typeof v1.container_config === 'object' ? { ContainerConfig: v1.container_config } : {}),
    Config: config.config ?? {},
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: image.size,
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: tags.map((t) => t.updatedAt).sort().at(-1) ?? '' },
    Skiff: {
      ManifestDigest: image.digest,
      ManifestMediaType: image.mediaType,
      Platform: image.platform,
      Layers: image.layers,
      ChainID: image.chainId,
      LoadedAt: image.loadedAt,
      Source: image.source ?? '',
      TagHistory: Object.fromEntries(tags.map((t) => [t.ref, t.history])),
    },
  };
}

export async function history(ctx: EngineContext, image: ImageRecord): Promise<HistoryRow[]> {
  const config = await loadConfig(ctx, image);
  const hist: HistoryEntry[] = config.history ?? image.layers.map(() => ({}));
  let layer = 0;
  const rows = hist.map((h) => {
    const empty = h.empty_layer === true;
    const size = empty ? 0 : image.layers[layer++]?.uncompressedSize ?? 0;
    return { id: '<missing>', ...(h.created ? { created: h.created } : {}), createdBy: h.created_by ?? '', size, comment: h.comment ?? '', emptyLayer: empty };
  });
  rows.reverse();
  if (rows[0]) rows[0].id = image.id;
  return rows;
}

export async function tagImage(ctx: EngineContext, source: string, target: string): Promise<string> {
  const ref = normalizeReference(target);
  if (parseReference(target).digest) throw new SkiffError('INVALID_ARGUMENT', `tagging ${source}: target "${target}" must be a tag, not a digest`);
  return ctx.state.transaction(async (tx) => {
    const r = await findImage(tx, source);
    if (!r) throw noSuchImage(source);
    await setTag(tx, ref, r.image.digest, ctx.now().toISOString());
    return ref;
  });
}

export async function rollbackImage(ctx: EngineContext, ref: string, to?: Digest): Promise<{ ref: string; from: Digest; to: Digest }> {
  const full = normalizeReference(ref);
  return ctx.state.transaction(async (tx) => ({ ref: full, ...(await rollbackTag(tx, full, ctx.now().toISOString(), to)) }));
}

async function usersOf(tx: StateReader, digest: Digest): Promise<ContainerRecord[]> {
  return (await tx.list<ContainerRecord>('containers')).filter((c) => c.image === digest);
}

/** Delete an image record and the blobs nothing else references. */
async function deleteImage(ctx: EngineContext, tx: StateTx, image: ImageRecord): Promise<void> {
  await tx.delete('images', image.digest);
  await collectBlobs(ctx, tx, [image.digest, image.config.digest, ...image.layers.map((l) => l.digest)]);
}

/** Delete those of `candidates` no image or container references any more. */
export async function collectBlobs(ctx: EngineContext, tx: StateReader, candidates: Digest[]): Promise<void> {
  const live = new Set<string>();
  for (const i of await tx.list<ImageRecord>('images')) {
    live.add(i.digest); live.add(i.config.digest);
    for (const l of i.layers) live.add(l.digest);
  }
  for (const c of await tx.list<ContainerRecord>('containers')) {
    if (c.upper?.digest) live.add(c.upper.digest);
    if (c.logs?.digest) live.add(c.logs.digest);
  }
  for (const v of await tx.list<VolumeRecord>('volumes')) if (v.data?.digest) live.add(v.data.digest);
  // A live layer keeps its layer data (uncompressed copy, index); a layer going away takes its own.
  const extra: Digest[] = [];
  const records = await layerDataRecords(tx);
  for (const r of records) if (live.has(r.layer)) { live.add(r.copy); live.add(r.index); }
  const asked = new Set(candidates);
  for (const r of records) {
    if (live.has(r.layer) || !asked.has(r.layer)) continue;
    extra.push(r.copy, r.index);
    if ('delete' in tx) await (tx as StateTx).delete('meta', layerDataKey(r.layer));
  }
  const doomed = [...new Set([...candidates, ...extra])].filter((d) => !live.has(d));
  // The build cache's layers (src/build/cache.ts) stay until `builder prune`; read only when needed.
  if (doomed.length) for (const d of await buildCacheBlobs(tx)) live.add(d);
  for (const d of doomed) if (!live.has(d)) await ctx.content.delete(d);
}

/**
 * The guard of the layer data made after a load, import or pull (layers.ts prepare): kept only if
 * an image still lists the layer. An `rmi` or prune that ran while it was made found no record to
 * free; its copy and index are freed here instead (unless something else keeps them: a copy can be
 * another layer's blob or another record's copy), in the same transaction that would record them.
 */
export function keepLayerData(ctx: EngineContext): LayerDataGuard {
  return async (tx, rec) => {
    const listed = (await tx.list<ImageRecord>('images')).some((i) => i.layers.some((l) => l.digest === rec.layer));
    if (!listed) await collectBlobs(ctx, tx, rec.copy === rec.layer ? [rec.index] : [rec.copy, rec.index]);
    return listed;
  };
}

export async function removeImage(ctx: EngineContext, ref: string, force = false): Promise<RemoveResult> {
  return ctx.state.transaction(async (tx) => {
    const r = await findImage(tx, ref);
    if (!r) throw noSuchImage(ref);
    const { image } = r;
    const tags = (await tx.list<TagRecord>('tags')).filter((t) => t.digest === image.digest);
    const users = await usersOf(tx, image.digest);
    const out: RemoveResult = { untagged: [], deleted: [] };
    const byTag = r.tag !== undefined;
    if (byTag && tags.length > 1) {
      // Removing one of several names only untags, as in Docker.
      await tx.delete('tags', r.tag!.ref);
      out.untagged.push(r.tag!.ref);
      return out;
    }
    if (users.length > 0 && !force) {
      throw new SkiffError('IN_USE', `conflict: unable to remove ${byTag ? `repository reference "${ref}"` : `image ${ref}`} (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${image.id.slice(7, 19)}`);
    }
    if (!byTag && tags.length > 1 && !force) {
      throw new SkiffError('CONFLICT', `conflict: unable to delete ${image.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const t of tags) {
      await tx.delete('tags', t.ref);
      out.untagged.push(t.ref);
    }
    if (users.length === 0) {
      await deleteImage(ctx, tx, image);
      out.deleted.push(image.id);
    }
    return out;
  });
}

/**
 * Without `all`: images with no tag, no container and no place in any tag's history (so rollback
 * keeps working). With `all`: every image no container uses.
 */
export async function pruneImages(ctx: EngineContext, opts: { all?: boolean } = {}): Promise<{ deleted: Digest[]; untagged: string[]; reclaimed: number }> {
  return ctx.state.transaction(async (tx) => {
    const [images, tags, containers, blobs] = await Promise.all([
      tx.list<ImageRecord>('images'), tx.list<TagRecord>('tags'), tx.list<ContainerRecord>('containers'), ctx.content.list(),
    ]);
    const before = new Map(blobs.map((b) => [b.digest, b.size]));
    const used = new Set<string>(containers.map((c) => c.image));
    const keep = new Set<string>(used);
    if (!opts.all) for (const t of tags) { keep.add(t.digest); for (const h of t.history) keep.add(h.digest); }
    const out = { deleted: [] as Digest[], untagged: [] as string[], reclaimed: 0 };
    for (const img of images) {
      if (keep.has(img.digest)) continue;
      for (const t of tags) if (t.digest === img.digest) { await tx.delete('tags', t.ref); out.untagged.push(t.ref); }
      await tx.delete('images', img.digest);
      out.deleted.push(img.id);
    }
    const removed = images.filter((i) => !keep.has(i.digest));
    // Layer data of layers no container uses is a cache: freed here, made again on next use.
    const inUse = new Set(images.filter((i) => used.has(i.digest)).flatMap((i) => i.layers.map((l) => l.digest as string)));
    const freed: Digest[] = [];
    for (const r of await layerDataRecords(tx)) {
      if (inUse.has(r.layer)) continue;
      await tx.delete('meta', layerDataKey(r.layer));
      freed.push(r.index);
      if (r.copy !== r.layer) freed.push(r.copy);
    }
    if (freed.length) await collectBlobs(ctx, tx, freed);
    await collectBlobs(ctx, tx, removed.flatMap((i) => [i.digest, i.config.digest, ...i.layers.map((l) => l.digest)]));
    // Blobs nothing references (left by a load that crashed) go too, unless a load is running.
    if ((await liveLeases(ctx, tx)).length === 0) await collectBlobs(ctx, tx, (await ctx.content.list()).map((b) => b.digest));
    const after = new Set((await ctx.content.list()).map((b) => b.digest));
    for (const [d, size] of before) if (!after.has(d)) out.reclaimed += size;
    return out;
  });
}

export interface DiskUsage {
  images: { total: number; active: number; size: number; reclaimable: number };
  /** Uncompressed copies and indexes of image layers (engine/layer-index.ts): reclaimable unless a container uses them. */
  layerData: { total: number; active: number; size: number; reclaimable: number };
  containers: { total: number; active: number; size: number; reclaimable: number };
  volumes: { total: number; active: number; size: number; reclaimable: number };
}

export async function diskUsage(ctx: EngineContext): Promise<DiskUsage> {
  const [images, containers, volumes, blobs, records] = await Promise.all([
    ctx.state.list<ImageRecord>('images'), ctx.state.list<ContainerRecord>('containers'), ctx.state.list<VolumeRecord>('volumes'), ctx.content.list(),
    layerDataRecords(ctx.state),
  ]);
  const sizes = new Map(blobs.map((b) => [b.digest as string, b.size]));
  const used = new Set(containers.map((c) => c.image as string));
  const blobsOf = (i: ImageRecord): string[] => [i.digest, i.config.digest, ...i.layers.map((l) => l.digest)];
  const all = new Set(images.flatMap(blobsOf));
  const active = new Set(images.filter((i) => used.has(i.digest)).flatMap(blobsOf));
  const sum = (s: Iterable<string>): number => { let n = 0; for (const d of s) n += sizes.get(d) ?? 0; return n; };
  const size = sum(all);
  const upper = containers.map((c) => c.upper?.size ?? 0);
  const running = containers.filter((c) => c.state === 'running' || c.state === 'paused');
  const activeLayers = new Set(images.filter((i) => used.has(i.digest)).flatMap((i) => i.layers.map((l) => l.digest as string)));
  const ldActive = records.filter((r) => activeLayers.has(r.layer));
  const ldSize = records.reduce((n, r) => n + layerDataBytes(r), 0);
  return {
    images: { total: images.length, active: images.filter((i) => used.has(i.digest)).length, size, reclaimable: size - sum(active) },
    layerData: { total: records.length, active: ldActive.length, size: ldSize, reclaimable: ldSize - ldActive.reduce((n, r) => n + layerDataBytes(r), 0) },
    containers: {
      total: containers.length, active: running.length, size: upper.reduce((a, b) => a + b, 0),
      reclaimable: containers.filter((c) => !running.includes(c)).reduce((a, c) => a + (c.upper?.size ?? 0), 0),
    },
    volumes: (() => {
      const inUse = new Set(containers.flatMap((c) => c.volumes ?? []));
      const vsize = (v: VolumeRecord): number => v.data?.size ?? 0;
      return {
        total: volumes.length, active: volumes.filter((v) => inUse.has(v.name)).length,
        size: volumes.reduce((n, v) => n + vsize(v), 0),
        reclaimable: volumes.filter((v) => !inUse.has(v.name)).reduce((n, v) => n + vsize(v), 0),
      };
    })(),
  };
}
