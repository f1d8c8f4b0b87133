/**
 * A container's image files read once in the background, so that its first process finds their
 * bytes in memory. In a page, image file bytes come on demand from IndexedDB in 64 KiB chunks
 * (fs/layer-data.ts) and the chunk cache starts empty on every page load: a Linux container's
 * first `echo hello` then waited ~20 times for IndexedDB (0.5-2 s) while the guest paged in
 * busybox over 9P. Warming while the VM restores (~0.5 s, which it waits for anyway) moves those
 * reads off the first output's path. Bounded by `budget` bytes, so a big image warms only its start;
 * the reads go through the same chunk cache (bounded too) that the 9P server reads from.
 */
import { LAYER_CHUNK } from '../../fs/layer-data.ts';
import { retryAfterIO } from '../../fs/pending-io.ts';
import type { FileSystem, FsNode } from '../../fs/types.ts';

/** Most bytes warmed per container: the page's chunk cache is 32 MiB. */
export const WARM_BUDGET_BYTES = 8 << 20;

/**
 * Reads regular files (depth first, in directory order) until `budget` bytes were read; returns
 * what it read. `before` is awaited before each file (to yield to more urgent work).
 */
export async function warmFiles(fs: FileSystem, budget: number = WARM_BUDGET_BYTES, before?: () => Promise<void>): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const dirs: FsNode[] = [fs.root()];
  // Hard links (busybox's applets) share their bytes: each file once.
  const seen = new Set<number>();
  while (dirs.length && bytes < budget) {
    const dir = dirs.pop()!;
    for (const e of fs.readdir(dir)) {
      if (bytes >= budget) break;
      if (e.name === '.' || e.name === '..') continue;
      if ((e.kind !== 'file' && e.kind !== 'directory') || seen.has(e.ino)) continue;
      seen.add(e.ino);
      let node: FsNode;
      try {
        node = fs.lookup(dir, e.name);
      } catch {
        continue; // removed meanwhile (the container already runs)
      }
      if (e.kind === 'directory') {
        dirs.push(node);
        continue;
      }
      const size = Math.min(fs.stat(node).size, budget - bytes);
      if (size <= 0) continue;
      await before?.();
      // A chunk at a time: the page's IndexedDB reads are served in order, and a whole file's
      // chunks asked at once (busybox: 16) made the container's own start wait behind them
      // (its log's open waited 0.16-0.3 s, measured in chromium).
      for (let off = 0; off < size; off += LAYER_CHUNK) {
        const n = Math.min(LAYER_CHUNK, size - off);
        await retryAfterIO(() => fs.read(node, off, n));
      }
      files++;
      bytes += size;
    }
  }
  return { files, bytes };
}
