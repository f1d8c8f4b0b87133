/**
 * Where the time goes between page load and first output: named points in the engine worker,
 * kept as wall-clock times (timeOrigin + now) so the page can line them up with its own clock.
 * Cheap enough to leave on: a few dozen entries per page, each also a `performance.mark` so the
 * browser's profiler shows them.
 */
import type { TimelineMark } from '../rpc/protocol.ts';

const marks: TimelineMark[] = [];
const LIMIT = 500;

export function mark(name: string, detail?: TimelineMark['detail']): void {
  if (marks.length >= LIMIT) return;
  const now = performance.now();
  marks.push({ name, at: performance.timeOrigin + now, ...(detail ? { detail } : {}) });
  try {
    performance.mark(`skiff:${name}`);
  } catch {
    // a mark name the browser refuses is not worth failing over
  }
}

/** Times `p` from now to its settling under `name` (`name` when it resolves, `name!` when it fails). */
export function timed<T>(name: string, p: Promise<T>): Promise<T> {
  const t0 = performance.now();
  p.then(() => mark(name, { ms: Math.round(performance.now() - t0) }), () => mark(`${name}!`, { ms: Math.round(performance.now() - t0) }));
  return p;
}

export function timeline(): TimelineMark[] {
  return marks.slice();
}
