/**
 * Checks every planned image before anything is stored: the config parses, there is one diff_id
 * per layer, every layer's media type is one we can unpack, each layer decompresses to a tar whose
 * SHA-256 is its diff_id, and the layer's entries apply cleanly over the layers below it (no path
 * escaping the root, no write through a symlink, no duplicate, no dangling hard link).
 */
import { SkiffError } from '../../errors.ts';
import { parseImageConfig, configPlatform, type ImageConfig } from '../../oci/config.ts';
import { chainIds, type ChainID, type DiffID, type Digest } from '../../oci/digest.ts';
import { isConfigType, isTarLayerType, isWasmLayerType, layerCompression } from '../../oci/mediatypes.ts';
import { formatPlatform } from '../../oci/platform.ts';
import { applyLayer, type LayerTree } from '../../fs/layer.ts';
import { scanLayer, type LayerScan } from '../tar-io.ts';
import type { LayerRecord } from '../types.ts';
import type { TarEntry } from '../../archive/types.ts';
import type { ArchiveFile, ArchiveListing } from './listing.ts';
import type { PlannedImage } from './plan.ts';

export interface VerifiedImage {
  plan: PlannedImage;
  config: ImageConfig;
  layers: LayerRecord[];
  chainId: ChainID | null;
  platform: string;
  size: number;
}

export interface VerifyOptions {
  /** Called before each layer is checked. */
  onLayer?: (done: number, total: number, digest: Digest) => void;
  /** Largest uncompressed layer accepted (a decompression bomb guard). */
  maxLayerBytes?: number;
}

function at(listing: ArchiveListing, entry: string, err: unknown): SkiffError {
  return SkiffError.wrap(err, `loading ${listing.archive}: entry "${entry}"`);
}

/** Where a file's bytes are: kept in memory, or already in the content store. */
export type BytesOf = (file: ArchiveFile) => Promise<Uint8Array>;

export async function verifyImages(listing: ArchiveListing, plans: PlannedImage[], bytesOf: BytesOf, options: VerifyOptions = {}): Promise<VerifiedImage[]> {
  // Layers already checked, so images sharing base layers check them once. Keyed by the blob that
  // was checked, not by ChainID alone: two images may claim the same diff_ids for different bytes
  // (an evil twin of a public image), and each blob must be held to its own diff_id.
  const checked = new Map<string, LayerRecord>();
  const total = plans.reduce((n, p) => n + p.manifest.layers.length, 0);
  let done = 0;
  const out: VerifiedImage[] = [];
  for (const plan of plans) {
    const cfgFile = plan.blobs.get(plan.manifest.config.digest)!;
    if (!isConfigType(plan.manifest.config.mediaType)) {
      throw new SkiffError('UNSUPPORTED', `loading ${listing.archive}: entry "${cfgFile.name}": config media type "${plan.manifest.config.mediaType}" of manifest ${plan.manifestDigest} is not an image config (an artifact, not a container image?)`);
    }
    let config: ImageConfig;
    try {
      config = parseImageConfig(await bytesOf(cfgFile), `image config ${cfgFile.digest}`);
    } catch (err) {
      throw at(listing, cfgFile.name, err);
    }
    const diffIds = config.rootfs.diff_ids;
    const n = plan.manifest.layers.length;
    if (diffIds.length !== n) {
      throw new SkiffError('INVALID_ARCHIVE', `loading ${listing.archive}: entry "${cfgFile.name}": config lists ${diffIds.length} diff_ids but manifest ${plan.manifestDigest} has ${n} layers`);
    }
    const chains = chainIds(diffIds);
    const layers: LayerRecord[] = [];
    // The structure of the layers below, rebuilt on demand when a shared base was checked earlier.
    let below: LayerTree | null = null;
    let belowCount = 0;
    const scan = async (i: number): Promise<LayerScan> => {
      const desc = plan.manifest.layers[i]!;
      const file = plan.blobs.get(desc.digest)!;
      try {
        return await scanLayer(await bytesOf(file), layerCompression(desc.mediaType), options.maxLayerBytes);
      } catch (err) {
        throw layerError(listing, file.name, i, n, err);
      }
    };
    const apply = (i: number, entries: TarEntry[]): void => {
      const file = plan.blobs.get(plan.manifest.layers[i]!.digest)!;
      try {
        below = applyLayer(below, entries);
        belowCount = i + 1;
      } catch (err) {
        throw layerError(listing, file.name, i, n, err);
      }
    };
    for (const [i, desc] of plan.manifest.layers.entries()) {
      const file = plan.blobs.get(desc.digest)!;
      options.onLayer?.(done++, total, desc.digest);
      const key = `${chains[i]!} ${desc.mediaType} ${desc.digest}`;
      const seen = checked.get(key);
      if (seen) {
        layers.push(seen);
        continue;
      }
      if (isWasmLayerType(desc.mediaType)) {
        // A raw module is its own diff: nothing to unpack.
        if ((diffIds[i] as string) !== desc.digest) throw mismatch(listing, file.name, desc.digest, diffIds[i]!, desc.digest);
        layers.push({ digest: desc.digest, size: desc.size, mediaType: desc.mediaType, diffId: diffIds[i]!, uncompressedSize: desc.size });
        continue;
      }
      if (!isTarLayerType(desc.mediaType)) {
        try {
          layerCompression(desc.mediaType); // throws its own UNSUPPORTED for unknown compressions
        } catch (err) {
          throw at(listing, file.name, err);
        }
        throw new SkiffError('UNSUPPORTED', `loading ${listing.archive}: entry "${file.name}": layer media type "${desc.mediaType}" is not supported`);
      }
      // Catch up on shared base layers checked for an earlier image.
      for (let j = belowCount; j < i; j++) {
        if (isTarLayerType(plan.manifest.layers[j]!.mediaType)) apply(j, (await scan(j)).entries);
      }
      const { diffId, size, entries } = await scan(i);
      if (diffId !== diffIds[i]) throw mismatch(listing, file.name, desc.digest, diffIds[i]!, diffId);
      apply(i, entries);
      const record: LayerRecord = { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, diffId, uncompressedSize: size };
      checked.set(key, record);
      layers.push(record);
    }
    out.push({
      plan, config, layers,
      chainId: chains.at(-1) ?? null,
      platform: formatPlatform(configPlatform(config)),
      size: layers.reduce((n, l) => n + l.uncompressedSize, 0),
    });
  }
  return out;
}

function layerError(listing: ArchiveListing, entry: string, i: number, n: number, err: unknown): SkiffError {
  const e = SkiffError.wrap(err, `loading ${listing.archive}: layer ${i + 1} of ${n} (entry "${entry}")`);
  return e.code === 'INTERNAL' || e.code === 'INVALID_ARGUMENT' ? new SkiffError('INVALID_ARCHIVE', e.message, { cause: err }) : e;
}

function mismatch(listing: ArchiveListing, entry: string, digest: Digest, want: DiffID, got: string): SkiffError {
  return new SkiffError('DIGEST_MISMATCH', `loading ${listing.archive}: entry "${entry}": layer ${digest} uncompresses to ${got}, but the config's diff_id is ${want}`);
}
