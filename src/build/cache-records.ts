/**
 * How build cache entries are stored: records in the state store's `meta` collection under
 * CACHE_PREFIX. Apart from cache.ts so the engine's blob collection (engine/images.ts) can keep
 * the cache's layers without importing the cache, which itself calls that collection.
 */
import type { HistoryEntry } from '../oci/config.ts';
import type { LayerRecord } from '../engine/types.ts';
import type { StateReader } from '../engine/state/store.ts';
import type { BuildConfig } from './state.ts';

export const CACHE_PREFIX = 'build-cache-';

export interface CacheEntry {
  key: string;
  /** The step's layer; absent for a metadata step. */
  layer?: LayerRecord;
  config: BuildConfig;
  history: HistoryEntry;
  created: string;
  lastUsed: string;
}

/** The layer blobs the cache entries hold (kept by the engine's blob collection). */
export async function buildCacheBlobs(tx: Pick<StateReader, 'keys' | 'get'>): Promise<string[]> {
  const out: string[] = [];
  for (const k of await tx.keys('meta')) {
    if (!k.startsWith(CACHE_PREFIX)) continue;
    const e = await tx.get<CacheEntry>('meta', k);
    if (e?.layer) out.push(e.layer.digest);
  }
  return out;
}
