/**
 * Images out of a build: a step's layer (an uncompressed tar diff) stored as a gzip blob, and an
 * image (OCI manifest + config over a list of layers) written with its tags in one transaction,
 * as engine/commit.ts does for one layer on a parent.
 */
import { SkiffError } from '../errors.ts';
import { gzip } from '../archive/index.ts';
import { putBlob } from '../content/store.ts';
import type { ImageConfig } from '../oci/config.ts';
import { chainIds, sha256Digest, type DiffID } from '../oci/digest.ts';
import { encodeJson } from '../oci/manifest.ts';
import { MediaType, layerCompression, layerMediaType } from '../oci/mediatypes.ts';
import { normalizeReference } from '../oci/reference.ts';
import type { EngineContext } from '../engine/context.ts';
import { setTag } from '../engine/tags.ts';
import type { ImageRecord, LayerRecord } from '../engine/types.ts';

export async function storeLayer(ctx: EngineContext, tar: Uint8Array): Promise<LayerRecord> {
  const gz = await gzip(tar);
  const { digest } = await putBlob(ctx.content, gz);
  return { digest, size: gz.byteLength, mediaType: MediaType.ociLayerGzip, diffId: sha256Digest(tar) as string as DiffID, uncompressedSize: tar.byteLength };
}

function ociLayer(l: LayerRecord): LayerRecord {
  const mediaType = l.mediaType.startsWith('application/vnd.docker.') ? layerMediaType(layerCompression(l.mediaType), 'oci') : l.mediaType;
  return { ...l, mediaType };
}

export interface WriteImageOptions {
  layers: LayerRecord[];
  config: ImageConfig;
  tags?: string[];
  source?: string;
}

export async function writeImage(ctx: EngineContext, o: WriteImageOptions): Promise<ImageRecord> {
  const tags = (o.tags ?? []).map((t) => normalizeReference(t));
  const layers = o.layers.map(ociLayer);
  const config: ImageConfig = { ...o.config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } };
  const configBytes = encodeJson(config);
  const configDigest = sha256Digest(configBytes);
  const manifestBytes = encodeJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.byteLength },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  });
  const now = ctx.now().toISOString();
  const record: ImageRecord = {
    digest: sha256Digest(manifestBytes), id: configDigest, mediaType: MediaType.ociManifest, manifestSize: manifestBytes.byteLength,
    config: { digest: configDigest, size: configBytes.byteLength, mediaType: MediaType.ociConfig },
    layers, chainId: chainIds(layers.map((l) => l.diffId)).at(-1) ?? null,
    platform: [config.os, config.architecture, ...(config.variant ? [config.variant] : [])].join('/'),
    ...(config.created ? { created: config.created } : {}),
    size: layers.reduce((n, l) => n + l.uncompressedSize, 0), loadedAt: now,
    ...(o.source ? { source: o.source } : {}),
  };
  await ctx.state.transaction(async (tx) => {
    await putBlob(ctx.content, configBytes);
    await putBlob(ctx.content, manifestBytes);
    for (const l of layers) {
      if (!(await ctx.content.has(l.digest))) throw new SkiffError('CONFLICT', `writing the built image: layer ${l.digest} was removed meanwhile`);
    }
    await tx.put('images', record.digest, record);
    for (const t of tags) await setTag(tx, t, record.digest, now);
  });
  return record;
}
