/**
 * A page's `run` of an image the store lacks (`<skiff-run image="alpine">`): pull it first, as
 * `docker run` does, when the page configured a registry proxy; progress goes to the element's
 * status line.
 */
import { isSkiffError } from '../errors.ts';
import type { Engine } from '../engine/engine.ts';

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

export async function pullIfMissing(engine: Engine, ref: string, status?: (text: string) => void): Promise<void> {
  try {
    await engine.resolveImage({ ref });
    return;
  } catch (err) {
    if (!isSkiffError(err, 'NOT_FOUND')) throw err;
  }
  const moving = new Map<string, { current: number; total: number }>();
  let last = 0;
  status?.(`pulling ${ref}…`);
  await engine.pullImage({
    ref,
    onProgress: (e) => {
      if (!status || !e.id || e.status !== 'Downloading' || !e.total) return;
      moving.set(e.id, { current: e.current ?? 0, total: e.total });
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      let cur = 0;
      let tot = 0;
      for (const m of moving.values()) { cur += m.current; tot += m.total; }
      status(`pulling ${ref}: ${mb(cur)} / ${mb(tot)}`);
    },
  });
}
