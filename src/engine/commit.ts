/**
 * New images from old ones: `commitImage` stacks one layer (an uncompressed tar diff, e.g. a
 * container's writable layer) and/or config changes on a parent image, writing an OCI manifest,
 * the config and the gzip layer blob, then the image record and tag in one transaction.
 * `docker commit` uses it; a builder's RUN/COPY steps can too.
 */
import { SkiffError } from '../errors.ts';
import { detectCompression, gzip } from '../archive/index.ts';
import { applyLayer } from '../fs/layer.ts';
import { putBlob } from '../content/store.ts';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/config.ts';
import { chainIds, sha256Digest, type DiffID } from '../oci/digest.ts';
import type { Descriptor } from '../oci/descriptor.ts';
import { encodeJson } from '../oci/manifest.ts';
import { MediaType, layerCompression, layerMediaType } from '../oci/mediatypes.ts';
import { normalizeReference } from '../oci/reference.ts';
import type { EngineContext } from './context.ts';
import { setTag } from './tags.ts';
import { decompressLayer, parseTar, scanLayer } from './tar-io.ts';
import { splitEntryPath } from '../fs/path.ts';
import type { ImageRecord, LayerRecord } from './types.ts';

export interface CommitImageOptions {
  parent: { image: ImageRecord; config: ImageConfig } | null;
  /** Platform for an image without parent. */
  platform?: { os: string; architecture: string };
  /** An uncompressed layer tar (whiteouts allowed); none for a config-only change. */
  layer?: Uint8Array;
  /** Replaces these fields of config.config (all of it with `replaceConfig`, as a commit does). */
  config?: Partial<ContainerConfig>;
  replaceConfig?: boolean;
  /** Docker's `container` and `container_config` of a committed image (V1Image fields). */
  container?: { id: string; config: ContainerConfig };
  history?: Omit<HistoryEntry, 'created' | 'empty_layer'>;
  author?: string;
  /** Tag to point at the new image. */
  tag?: string;
  source?: string;
}

/** Docker-family layer media types map onto the OCI ones (the bytes are the same). */
function ociLayer(l: LayerRecord): Descriptor {
  const mt = l.mediaType.startsWith('application/vnd.docker.') ? layerMediaType(layerCompression(l.mediaType), 'oci') : l.mediaType;
  return { mediaType: mt, digest: l.digest, size: l.size };
}

export async function commitImage(ctx: EngineContext, o: CommitImageOptions): Promise<ImageRecord> {
  const tag = o.tag !== undefined ? normalizeReference(o.tag) : undefined;
  const now = ctx.now().toISOString();
  const parentCfg = o.parent?.config;
  const layers: LayerRecord[] = [...(o.parent?.image.layers ?? [])];
  const blobs: Uint8Array[] = [];
  if (o.layer) {
    // A container may hold paths deeper than PATH_MAX (made with *at calls); an image layer may
    // not (every loader refuses it), so such a commit would make an image nothing can run.
    for (const e of parseTar(o.layer)) {
      const split = splitEntryPath(e.header.name);
      if (!split.ok) throw new SkiffError('INVALID_ARGUMENT', `committing: ${JSON.stringify(e.header.name.length > 120 ? `${e.header.name.slice(0, 60)}...${e.header.name.slice(-40)}` : e.header.name)}: ${split.rule}; an image layer cannot hold it (move it higher in the tree first)`);
    }
    const gz = await gzip(o.layer);
    layers.push({ digest: sha256Digest(gz), size: gz.byteLength, mediaType: MediaType.ociLayerGzip, diffId: sha256Digest(o.layer) as string as DiffID, uncompressedSize: o.layer.byteLength });
    blobs.push(gz);
  }
  const platform = parentCfg ? { os: parentCfg.os, architecture: parentCfg.architecture, ...(parentCfg.variant ? { variant: parentCfg.variant } : {}) } : o.platform;
  if (!platform) throw new SkiffError('INVALID_ARGUMENT', 'committing an image without a parent needs a platform');
  const history: HistoryEntry[] = [...(parentCfg?.history ?? [])];
  history.push({ created: now, ...(o.author ? { author: o.author } : {}), ...o.history, ...(o.layer ? {} : { empty_layer: true }) });
  const config = {
    ...(parentCfg ?? {}),
    ...platform,
    created: now,
    ...(o.author ? { author: o.author } : {}),
    ...(o.container ? { container: o.container.id, container_config: o.container.config } : {}),
    config: o.replaceConfig ? { ...(o.config ?? {}) } : { ...(parentCfg?.config ?? {}), ...(o.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
  };
  const configBytes = encodeJson(config);
  const configInfo = { digest: sha256Digest(configBytes), size: configBytes.byteLength };
  blobs.push(configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configInfo.digest, size: configInfo.size },
    layers: layers.map(ociLayer),
  };
  const manifestBytes = encodeJson(manifest);
  const m = { digest: sha256Digest(manifestBytes), size: manifestBytes.byteLength };
  blobs.push(manifestBytes);
  const record: ImageRecord = {
    digest: m.digest,
    id: configInfo.digest,
    mediaType: MediaType.ociManifest,
    manifestSize: m.size,
    config: { digest: configInfo.digest, size: configInfo.size, mediaType: MediaType.ociConfig },
    layers: layers.map((l, i) => ({ ...l, ...ociLayer(l), diffId: layers[i]!.diffId })),
    chainId: chainIds(layers.map((l) => l.diffId)).at(-1) ?? null,
    platform: [platform.os, platform.architecture, ...('variant' in platform && platform.variant ? [platform.variant] : [])].join('/'),
    created: now,
    size: layers.reduce((n, l) => n + l.uncompressedSize, 0),
    loadedAt: now,
    ...(o.source ? { source: o.source } : {}),
  };
  await ctx.state.transaction(async (tx) => {
    // Blobs land under the state lock, so a concurrent prune cannot sweep them before the record exists.
    for (const b of blobs) await putBlob(ctx.content, b);
    for (const l of o.parent?.image.layers ?? []) {
      if (!(await ctx.content.has(l.digest))) throw new SkiffError('CONFLICT', `committing: layer ${l.digest} of the parent image was removed meanwhile`);
    }
    await tx.put('images', record.digest, record);
    if (tag) await setTag(tx, tag, record.digest, now);
  });
  return record;
}


export interface ImportImageOptions {
  /** The root filesystem tar: plain, gzip or zstd. */
  data: Uint8Array;
  ref?: string;
  /** Default linux/386. */
  platform?: { os: string; architecture: string };
  changes?: Partial<ContainerConfig>;
  message?: string;
  /** Names the input in messages and history. */
  name?: string;
}

/** `docker import`: the tar is checked like any layer (paths inside the root, no writes through symlinks ...). */
export async function importImage(ctx: EngineContext, o: ImportImageOptions): Promise<ImageRecord> {
  const what = o.name ?? 'import';
  let tar: Uint8Array;
  try {
    tar = await decompressLayer(o.data, detectCompression(o.data.subarray(0, 4)));
    applyLayer(null, (await scanLayer(tar, 'none')).entries);
  } catch (err) {
    const e = SkiffError.wrap(err, `importing ${what}`);
    throw e.code === 'INTERNAL' || e.code === 'INVALID_ARGUMENT' ? new SkiffError('INVALID_ARCHIVE', e.message, { cause: err }) : e;
  }
  return commitImage(ctx, {
    parent: null, layer: tar, platform: o.platform ?? { os: 'linux', architecture: '386' },
    ...(o.changes ? { config: o.changes } : {}),
    history: { created_by: `skiff import ${what}`, ...(o.message ? { comment: o.message } : {}) },
    ...(o.ref ? { tag: o.ref } : {}),
    source: `import:${what}`,
  });
}
