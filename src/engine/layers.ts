/**
 * Merged layer trees, cached per ChainID: every container of an image (and every image sharing
 * base layers) shares one immutable tree, and file bytes stay views of the decompressed layers.
 * The cache is bounded by entries and by the uncompressed bytes its layers hold (least recently
 * used first out); a tree a live overlay still uses stays alive through that overlay anyway.
 */
import { SkiffError } from '../errors.ts';
import type { ContentStore } from '../content/store.ts';
import { chainIds, type ChainID } from '../oci/digest.ts';
import { isWasmLayerType, layerCompression } from '../oci/mediatypes.ts';
import { applyLayer, type LayerTree } from '../fs/layer.ts';
import { decompressLayer, parseTar } from './tar-io.ts';
import type { ImageRecord } from './types.ts';

export interface LayerCacheOptions {
  /** Most chains kept (default 64). */
  maxEntries?: number;
  /** Most uncompressed layer bytes kept (default 768 MB). */
  maxBytes?: number;
}

interface Entry {
  tree: Promise<LayerTree>;
  /** Uncompressed bytes of this chain's own (top) layer. */
  bytes: number;
}

export class LayerCache {
  private readonly trees = new Map<ChainID, Entry>();
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
    const tarLayers = image.layers.filter((l) => !isWasmLayerType(l.mediaType));
    if (tarLayers.length === 0) return null;
    const chains = chainIds(tarLayers.map((l) => l.diffId));
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
          const tar = await decompressLayer(blob, layerCompression(layer.mediaType));
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

  private drop(chain: ChainID): void {
    const e = this.trees.get(chain);
    if (!e) return;
    this.trees.delete(chain);
    this.bytes -= e.bytes;
  }

  private evict(keep: ChainID): void {
    for (const chain of this.trees.keys()) {
      if (this.trees.size <= this.maxEntries && this.bytes <= this.maxBytes) return;
      if (chain !== keep) this.drop(chain);
    }
  }
}
