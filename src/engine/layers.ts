/**
 * Merged layer trees, cached per stack of blobs: every container of an image (and every image
 * sharing base layers) shares one immutable tree, and file bytes stay views of the decompressed
 * layers. The key is the stack's blobs as stored (digest and media type of each layer), not its
 * ChainID: a ChainID is only what the images' configs claim, and a tree built from one image's
 * bytes must never be served to another image that merely claims the same diff_ids.
 * The cache is bounded by entries and by the uncompressed bytes its layers hold (least recently
 * used first out); a tree a live overlay still uses stays alive through that overlay anyway.
 * A CNCF Wasm artifact's module layer (a raw module, not a tar) becomes one read-only file,
 * `/<digest hex>.wasm` (artifactModulePath), so the WASI backend runs it like any rootfs module.
 */
import { SkiffError } from '../errors.ts';
import type { ContentStore } from '../content/store.ts';
import { sha256Digest } from '../oci/digest.ts';
import { isWasmLayerType, layerCompression } from '../oci/mediatypes.ts';
import { applyLayer, type LayerTree } from '../fs/layer.ts';
import { decompress } from '../archive/index.ts';
import { DEFAULT_MAX_LAYER_BYTES, parseTar } from './tar-io.ts';
import type { ImageRecord, LayerRecord } from './types.ts';
import type { TarEntry } from '../archive/types.ts';

/** The largest window any zstd frame can declare that fzstd decodes (its own limit). */
const MAX_ZSTD_WINDOW = 2145386496;

/** Where an artifact image's module layer appears in its containers' root filesystem. */
export function artifactModulePath(layer: Pick<LayerRecord, 'digest'>): string {
  return `/${layer.digest.slice(layer.digest.indexOf(':') + 1)}.wasm`;
}

/** A raw wasm module layer as the single tar entry of a layer. */
function moduleEntry(layer: LayerRecord, data: Uint8Array): TarEntry {
  const header = { name: artifactModulePath(layer).slice(1), type: 'file' as const, mode: 0o555, uid: 0, gid: 0, size: data.byteLength, mtime: 0, linkname: '', devmajor: 0, devminor: 0 };
  return { header, data };
}

export interface LayerCacheOptions {
  /** Most chains kept (default 64). */
  maxEntries?: number;
  /** Most uncompressed layer bytes kept (default 768 MB). */
  maxBytes?: number;
}

/** One key per layer of the stack: layer i's key covers the blobs of layers 0..i. */
export function treeKeys(layers: readonly Pick<LayerRecord, 'digest' | 'mediaType'>[]): string[] {
  const out: string[] = [];
  for (const l of layers) out.push(sha256Digest(`${out.at(-1) ?? ''}\n${l.mediaType} ${l.digest}`));
  return out;
}

interface Entry {
  tree: Promise<LayerTree>;
  /** Uncompressed bytes of this chain's own (top) layer. */
  bytes: number;
}

export class LayerCache {
  private readonly trees = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;

  constructor(private readonly content: ContentStore, options: LayerCacheOptions | number = {}) {
    const o = typeof options === 'number' ? { maxEntries: options } : options;
    this.maxEntries = o.maxEntries ?? 64;
    this.maxBytes = o.maxBytes ?? 768e6;
  }

  /** The image's merged tree; null for an image without layers. */
  async tree(image: ImageRecord): Promise<LayerTree | null> {
    const tarLayers = image.layers;
    if (tarLayers.length === 0) return null;
    const chains = treeKeys(tarLayers);
    let prev: Promise<LayerTree> | null = null;
    for (const [i, layer] of tarLayers.entries()) {
      const chain = chains[i]!;
      let entry = this.trees.get(chain);
      if (entry) {
        // Refresh recency.
        this.trees.delete(chain);
        this.trees.set(chain, entry);
      } else {
        const base: Promise<LayerTree> | null = prev;
        const tree = (async (): Promise<LayerTree> => {
          const below: LayerTree | null = base ? await base : null;
          const blob = await this.content.get(layer.digest);
          if (isWasmLayerType(layer.mediaType)) return applyLayer(below, [moduleEntry(layer, blob)]);
          // The load checked this blob within the limits its caller chose (which may be above
          // the defaults): opening it again must not refuse what was accepted then.
          const tar = await decompress(blob, {
            compression: layerCompression(layer.mediaType), what: `layer ${layer.digest}`,
            maxOutputBytes: Math.max(DEFAULT_MAX_LAYER_BYTES, layer.uncompressedSize), maxWindowBytes: MAX_ZSTD_WINDOW,
          });
          return applyLayer(below, parseTar(tar));
        })();
        entry = { tree, bytes: layer.uncompressedSize };
        this.trees.set(chain, entry);
        this.bytes += entry.bytes;
        tree.catch(() => this.drop(chain));
        this.evict(chain);
      }
      prev = entry.tree;
    }
    try {
      return await prev!;
    } catch (err) {
      throw SkiffError.wrap(err, `unpacking image ${image.id}`);
    }
  }

  /** Bytes of uncompressed layers the cache holds. */
  get size(): number {
    return this.bytes;
  }

  private drop(chain: string): void {
    const e = this.trees.get(chain);
    if (!e) return;
    this.trees.delete(chain);
    this.bytes -= e.bytes;
  }

  private evict(keep: string): void {
    for (const chain of this.trees.keys()) {
      if (this.trees.size <= this.maxEntries && this.bytes <= this.maxBytes) return;
      if (chain !== keep) this.drop(chain);
    }
  }
}
