/**
 * Merged layer trees, cached per ChainID: every container of an image (and every image sharing
 * base layers) shares one immutable tree, and file bytes stay views of the decompressed layers.
 */
import { SkiffError } from '../errors.ts';
import type { ContentStore } from '../content/store.ts';
import { chainIds, type ChainID } from '../oci/digest.ts';
import { isWasmLayerType, layerCompression } from '../oci/mediatypes.ts';
import { applyLayer, type LayerTree } from '../fs/layer.ts';
import { decompressLayer, parseTar } from './tar-io.ts';
import type { ImageRecord } from './types.ts';

export class LayerCache {
  private readonly trees = new Map<ChainID, Promise<LayerTree>>();
  constructor(private readonly content: ContentStore, private readonly limit = 64) {}

  /** The image's merged tree; null for an image without layers. */
  async tree(image: ImageRecord): Promise<LayerTree | null> {
    const tarLayers = image.layers.filter((l) => !isWasmLayerType(l.mediaType));
    if (tarLayers.length === 0) return null;
    const chains = chainIds(tarLayers.map((l) => l.diffId));
    let prev: Promise<LayerTree> | null = null;
    for (const [i, layer] of tarLayers.entries()) {
      const chain = chains[i]!;
      let t: Promise<LayerTree> | undefined = this.trees.get(chain);
      if (!t) {
        const base: Promise<LayerTree> | null = prev;
        t = (async (): Promise<LayerTree> => {
          const below: LayerTree | null = base ? await base : null;
          const blob = await this.content.get(layer.digest);
          const tar = await decompressLayer(blob, layerCompression(layer.mediaType));
          return applyLayer(below, parseTar(tar));
        })();
        this.trees.set(chain, t);
        t.catch(() => this.trees.delete(chain));
        prev = t;
        this.evict();
      } else {
        // Refresh recency.
        this.trees.delete(chain);
        this.trees.set(chain, t);
        prev = t;
      }
    }
    try {
      return await prev!;
    } catch (err) {
      throw SkiffError.wrap(err, `unpacking image ${image.id}`);
    }
  }

  private evict(): void {
    while (this.trees.size > this.limit) {
      const oldest = this.trees.keys().next().value as ChainID;
      this.trees.delete(oldest);
    }
  }
}
