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
import { scanLayer, type LayerScan, type ScanLimits } from '../tar-io.ts';
import type { LayerRecord } from '../types.ts';
import type { TarEntry } from '../../archive/types.ts';
import type { Compression } from '../../archive/index.ts';
import type { ArchiveFile, ArchiveListing } from './listing.ts';
import type { PlannedImage } from './plan.ts';
import { DEFAULT_LOAD_LIMITS, overLimit, type LoadLimits } from './limits.ts';

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
  /** What the load may cost (decompression bomb guards); default DEFAULT_LOAD_LIMITS. */
  limits?: LoadLimits;
  /** Entries the load already read (the archive's own), counted against maxLoadEntries. */
  entriesRead?: number;
  /**
   * How a tar layer is scanned (default: scanLayer over bytesOf). A registry pull scans each
   * layer while it downloads and hands the result over here (registry/layer-scan.ts).
   */
  scan?: (file: ArchiveFile, compression: Compression, limits: ScanLimits) => Promise<LayerScan>;
}

function at(listing: ArchiveListing, entry: string, err: unknown): SkiffError {
  const e = SkiffError.wrap(err, `loading ${listing.archive}: entry "${entry}"`);
  // A document of the archive that does not parse is a bad archive, not a bad argument.
  return e.code === 'INTERNAL' || e.code === 'INVALID_ARGUMENT' ? new SkiffError('INVALID_ARCHIVE', e.message, { cause: err }) : e;
}

/** Where a file's bytes are: kept in memory, or already in the content store. */
export type BytesOf = (file: ArchiveFile) => Promise<Uint8Array>;

export async function verifyImages(listing: ArchiveListing, plans: PlannedImage[], bytesOf: BytesOf, options: VerifyOptions = {}): Promise<VerifiedImage[]> {
  // Layers already checked, so images sharing base layers check them once. Keyed by the blob that
  // was checked, not by ChainID alone: two images may claim the same diff_ids for different bytes
  // (an evil twin of a public image), and each blob must be held to its own diff_id.
  const checked = new Map<string, { record: LayerRecord; entries: number }>();
  // The structure (headers only) of every checked stack, by ChainID: once a layer's diff_id is
  // verified, its tar is known to the byte, so the stack's structure depends on the ChainID alone.
  // Images sharing a base start from its tree instead of unpacking the base again (path copying
  // keeps these trees sharing every untouched directory).
  const trees = new Map<ChainID, LayerTree | null>();
  const limits = options.limits ?? DEFAULT_LOAD_LIMITS;
  // Work done by this load: every layer checked for the first time.
  let loadBytes = 0;
  let loadEntries = options.entriesRead ?? 0;
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
    // What opening this image will hold in memory.
    let imageBytes = 0;
    let imageEntries = 0;
    const image = `image ${plan.tags[0] ?? plan.manifestDigest}`;
    const loadWhat = `${listing.archive} (all its layers together)`;
    const chargeImage = (bytes: number, entries: number): void => {
      imageBytes += bytes;
      imageEntries += entries;
      if (imageBytes > limits.maxImageBytes) throw overLimit(image, 'maxImageBytes', limits.maxImageBytes, 'bytes');
      if (imageEntries > limits.maxImageEntries) throw overLimit(image, 'maxImageEntries', limits.maxImageEntries, 'entries');
    };
    /** A first check of layer i may cost what is left of the layer, image and load budgets. */
    const budget = (i: number): ScanLimits => {
      const layer = `layer ${plan.manifest.layers[i]!.digest}`;
      const bytes = tightest([
        [limits.maxLayerBytes, 'maxLayerBytes', layer],
        [limits.maxImageBytes - imageBytes, 'maxImageBytes', image],
        [limits.maxLoadBytes - loadBytes, 'maxLoadBytes', loadWhat],
      ], 'bytes');
      const entries = tightest([
        [limits.maxImageEntries - imageEntries, 'maxImageEntries', image],
        [limits.maxLoadEntries - loadEntries, 'maxLoadEntries', loadWhat],
      ], 'entries');
      return { maxBytes: bytes.max, overBytes: bytes.error, maxEntries: entries.max, overEntries: entries.error, maxWindowBytes: limits.maxZstdWindowBytes };
    };
    /** The smallest remaining budget, and the error naming every limit that sets it. */
    const tightest = (cands: Array<[number, keyof LoadLimits, string]>, unit: 'bytes' | 'entries'): { max: number; error: () => SkiffError } => {
      const max = Math.max(0, Math.min(...cands.map((c) => c[0])));
      const binding = cands.filter((c) => Math.max(0, c[0]) === max);
      return { max, error: () => overLimit(binding[0]![2], binding.map((c) => c[1]), limits[binding[0]![1]], unit) };
    };
    const scan = async (i: number): Promise<LayerScan> => {
      const desc = plan.manifest.layers[i]!;
      const file = plan.blobs.get(desc.digest)!;
      try {
        const compression = layerCompression(desc.mediaType);
        return await (options.scan ? options.scan(file, compression, budget(i)) : scanLayer(await bytesOf(file), compression, budget(i)));
      } catch (err) {
        throw layerError(listing, file.name, i, n, err);
      }
    };
    for (const [i, desc] of plan.manifest.layers.entries()) {
      const file = plan.blobs.get(desc.digest)!;
      options.onLayer?.(done++, total, desc.digest);
      // Layer i-1 of this image was checked (now or for an earlier image): its tree is there.
      const below = i === 0 ? null : trees.get(chains[i - 1]!) ?? null;
      const key = `${chains[i]!} ${desc.mediaType} ${desc.digest}`;
      const seen = checked.get(key);
      if (seen) {
        try {
          chargeImage(seen.record.uncompressedSize, seen.entries);
        } catch (err) {
          throw layerError(listing, file.name, i, n, err);
        }
        layers.push(seen.record);
        continue;
      }
      if (isWasmLayerType(desc.mediaType)) {
        // A raw module is its own diff: nothing to unpack.
        if ((diffIds[i] as string) !== desc.digest) throw mismatch(listing, file.name, desc.digest, diffIds[i]!, desc.digest);
        const record: LayerRecord = { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, diffId: diffIds[i]!, uncompressedSize: desc.size };
        try {
          chargeImage(desc.size, 1);
        } catch (err) {
          throw layerError(listing, file.name, i, n, err);
        }
        checked.set(key, { record, entries: 1 });
        if (!trees.has(chains[i]!)) trees.set(chains[i]!, below);
        layers.push(record);
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
      const { diffId, size, entries } = await scan(i);
      loadBytes += size;
      loadEntries += entries.length;
      chargeImage(size, entries.length); // within budget(i): cannot throw
      if (diffId !== diffIds[i]) throw mismatch(listing, file.name, desc.digest, diffIds[i]!, diffId);
      try {
        trees.set(chains[i]!, applyLayer(below, entries));
      } catch (err) {
        throw layerError(listing, file.name, i, n, err);
      }
      const record: LayerRecord = { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, diffId, uncompressedSize: size };
      checked.set(key, { record, entries: entries.length });
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
