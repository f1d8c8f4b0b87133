/**
 * Merged layer trees, cached per stack of blobs: every container of an image (and every image
 * sharing base layers) shares one immutable tree. A tree holds metadata only: file bytes are read
 * from the layer's stored copy when read (engine/layer-index.ts, fs/layer-data.ts), through one
 * bounded chunk cache per engine, so memory does not grow with the image. The key is the stack's blobs as stored (digest and media type of each layer), not its
 * ChainID: a ChainID is only what the images' configs claim, and a tree built from one image's
 * bytes must never be served to another image that merely claims the same diff_ids.
 * The cache is bounded by entries and by the uncompressed bytes its layers hold (least recently
 * used first out); a tree a live overlay still uses stays alive through that overlay anyway.
 * A CNCF Wasm artifact's module layer (a raw module, not a tar) becomes one read-only file,
 * `/<digest hex>.wasm` (artifactModulePath), so the WASI backend runs it like any rootfs module.
 */
import { SkiffError } from '../errors.ts';
import type { ContentStore } from '../content/store.ts';
import type { Digest } from '../oci/digest.ts';
import { sha256Digest } from '../oci/digest.ts';
import { isWasmLayerType } from '../oci/mediatypes.ts';
import { applyLayer, type LayerTree } from '../fs/layer.ts';
import { ChunkCache, DEFAULT_CHUNK_CACHE_BYTES } from '../fs/chunk-cache.ts';
import type { StateStore } from './state/store.ts';
import { ensureLayerData, openLayerData, type LayerDataBuild } from './layer-index.ts';
import type { ImageRecord, LayerRecord } from './types.ts';
import type { TarEntry } from '../archive/types.ts';

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
  /** Most uncompressed layer bytes the cached trees stand for (default 768 MB). */
  maxBytes?: number;
  /** Bytes of file data kept in memory, all layers together (default 64 MiB; the page passes 32). */
  chunkCacheBytes?: number;
  /** Where layer data records live (engine/layer-index.ts); without it, in this process only. */
  state?: StateStore;
}

/** One key per layer of the stack: layer i's key covers the blobs of layers 0..i. */
export function treeKeys(layers: readonly Pick<LayerRecord, 'digest' | 'mediaType'>[]): string[] {
  const out: string[] = [];
  for (const l of layers) out.push(sha256Digest(`${out.at(-1) ?? ''}\n${l.mediaType} ${l.digest}`));
  return out;
}

interface Entry {
  tree: Promise<LayerTree>;
  /** The layer data copy the tree reads from, once made. */
  copy?: Digest;
  /** Uncompressed bytes of this chain's own (top) layer. */
  bytes: number;
}

export class LayerCache {
  private readonly trees = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private readonly state: StateStore | undefined;
  /** File bytes of every layer, read on demand. */
  readonly chunks: ChunkCache;

  constructor(private readonly content: ContentStore, options: LayerCacheOptions | number = {}) {
    const o = typeof options === 'number' ? { maxEntries: options } : options;
    this.maxEntries = o.maxEntries ?? 64;
    this.maxBytes = o.maxBytes ?? 768e6;
    this.state = o.state;
    this.chunks = new ChunkCache(o.chunkCacheBytes ?? DEFAULT_CHUNK_CACHE_BYTES);
  }

  /** The image's merged tree; null for an image without layers. */
  async tree(image: ImageRecord): Promise<LayerTree | null> {
    const tarLayers = image.layers;
    if (tarLayers.length === 0) return null;
    const chains = treeKeys(tarLayers);
    let prev: Promise<LayerTree> | null = null;
    let stale = false;
    for (const [i, layer] of tarLayers.entries()) {
      const chain = chains[i]!;
      let entry = this.trees.get(chain);
      // A tree whose layer's data was pruned meanwhile (by any process) reads from nowhere: made
      // again, with every tree above it (containers still on the old tree keep their copy: prune
      // never takes the data of a layer a container uses).
      if (entry?.copy && (stale || !(await this.content.has(entry.copy)))) {
        stale = true;
        this.drop(chain);
        entry = undefined;
      }
      if (entry) {
        // Refresh recency.
        this.trees.delete(chain);
        this.trees.set(chain, entry);
      } else {
        const base: Promise<LayerTree> | null = prev;
        const made: Entry = { tree: Promise.resolve(null as unknown as LayerTree), bytes: layer.uncompressedSize };
        const tree = (async (): Promise<LayerTree> => {
          const below: LayerTree | null = base ? await base : null;
          if (isWasmLayerType(layer.mediaType)) return applyLayer(below, [moduleEntry(layer, await this.content.get(layer.digest))]);
          const stores = { content: this.content, ...(this.state ? { state: this.state } : {}) };
          const { entries, copy } = await openLayerData(stores, layer, this.chunks);
          made.copy = copy;
          return applyLayer(below, entries);
        })();
        made.tree = tree;
        entry = made;
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

  /**
   * Makes the layer data of `image`'s tar layers now (engine/layer-index.ts), as load, import and
   * pull do, so its first container does not wait for it. Layers that have theirs are skipped;
   * failures are left for the first use to report. `o.guard` decides, when a layer's data is made,
   * whether it is still wanted (engine/images.ts keepLayerData: the image may be gone by then);
   * `o.signal` stops it (the engine's rmi and prune, for the images they removed).
   */
  async prepare(image: ImageRecord, o: LayerDataBuild = {}): Promise<void> {
    const stores = { content: this.content, ...(this.state ? { state: this.state } : {}) };
    const layers = image.layers.filter((l) => !isWasmLayerType(l.mediaType));
    // A few at once: each is a decompression (off the main thread on Node) and a write.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < layers.length && !o.signal?.aborted) {
        const layer = layers[next++]!;
        // The data is a cache: the image is stored whatever happens here (a prune took the layer
        // meanwhile, the storage quota is full ...), and its first use makes it again or says why not.
        await ensureLayerData(stores, layer, o).catch(() => undefined);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
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
