/**
 * The build cache, Docker's rules: a step's key is its parent's key plus the instruction after
 * expansion (with the build args it sees; COPY/ADD with a checksum of the sources), so changing
 * one step misses it and every step after it in the stage. Entries live in the state store's
 * `meta` collection (they survive restarts; cache-records.ts); their layers are blobs checked on
 * every hit, so a pruned blob is a miss, never a broken image.
 */
import { sha256Digest } from '../oci/digest.ts';
import type { EngineContext } from '../engine/context.ts';
import { collectBlobs } from '../engine/images.ts';
import type { LayerRecord } from '../engine/types.ts';
import { CACHE_PREFIX, type CacheEntry } from './cache-records.ts';

export function stepKey(parent: string, parts: readonly string[]): string {
  return sha256Digest(`${parent}\n${parts.join('\n')}`).slice(7);
}

export async function cacheGet(ctx: EngineContext, key: string): Promise<CacheEntry | undefined> {
  const e = await ctx.state.get<CacheEntry>('meta', CACHE_PREFIX + key);
  if (!e) return undefined;
  if (e.layer && !(await ctx.content.has(e.layer.digest))) return undefined;
  return e;
}

export async function cachePut(ctx: EngineContext, entry: CacheEntry): Promise<void> {
  await ctx.state.transaction((tx) => tx.put('meta', CACHE_PREFIX + entry.key, entry));
}

/** `builder prune`: every cache entry, and the layer blobs no image uses any more. */
export async function pruneCache(ctx: EngineContext): Promise<{ deleted: string[]; reclaimed: number }> {
  return ctx.state.transaction(async (tx) => {
    const keys = (await tx.keys('meta')).filter((k) => k.startsWith(CACHE_PREFIX));
    const blobs: LayerRecord[] = [];
    for (const k of keys) {
      const e = await tx.get<CacheEntry>('meta', k);
      if (e?.layer) blobs.push(e.layer);
      await tx.delete('meta', k);
    }
    const before = new Set((await ctx.content.list()).map((b) => b.digest as string));
    await collectBlobs(ctx, tx, blobs.map((l) => l.digest));
    const after = new Set((await ctx.content.list()).map((b) => b.digest as string));
    let reclaimed = 0;
    const seen = new Set<string>();
    for (const l of blobs) if (before.has(l.digest) && !after.has(l.digest) && !seen.has(l.digest)) { seen.add(l.digest); reclaimed += l.size; }
    // IDs as BuildKit prints cache records: 25 characters.
    return { deleted: keys.map((k) => k.slice(CACHE_PREFIX.length, CACHE_PREFIX.length + 25)), reclaimed };
  });
}

/** `system df`'s build cache line. */
export async function cacheUsage(ctx: EngineContext): Promise<{ total: number; size: number }> {
  const keys = (await ctx.state.keys('meta')).filter((k) => k.startsWith(CACHE_PREFIX));
  let size = 0;
  for (const k of keys) size += (await ctx.state.get<CacheEntry>('meta', k))?.layer?.size ?? 0;
  return { total: keys.length, size };
}
