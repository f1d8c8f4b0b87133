/**
 * Leases mark loads in progress. A streamed load stages big blobs in the content store before any
 * image references them; `image prune` sweeps blobs nothing references (left by a crashed load)
 * only while no live lease exists, so it never takes a blob from under a load in another process.
 */
import type { EngineContext } from './context.ts';

export interface Lease {
  id: string;
  /** Process holding it (Node); absent in browsers. */
  pid?: number;
  started: string;
}

/** A lease older than this is dead whatever its owner (a crashed tab, a hung process). */
export const LEASE_MAX_AGE_MS = 6 * 3600_000;

function currentPid(): number | undefined {
  const p = (globalThis as { process?: { pid?: number } }).process;
  return typeof p?.pid === 'number' ? p.pid : undefined;
}

export async function takeLease(ctx: EngineContext): Promise<() => Promise<void>> {
  const id = `lease-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const pid = currentPid();
  const lease: Lease = { id, started: ctx.now().toISOString(), ...(pid !== undefined ? { pid } : {}) };
  await ctx.state.transaction((tx) => tx.put('meta', id, lease));
  return () => ctx.state.transaction((tx) => tx.delete('meta', id));
}

function alive(l: Lease, now: number): boolean {
  if (now - Date.parse(l.started) > LEASE_MAX_AGE_MS) return false;
  if (l.pid === undefined) return true;
  const proc = (globalThis as { process?: { kill?: (pid: number, sig: number) => void } }).process;
  if (!proc?.kill) return true;
  try {
    proc.kill(l.pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Live leases; dead ones are removed on the way. */
export async function liveLeases(ctx: EngineContext, tx: { keys: EngineContext['state']['keys']; get: EngineContext['state']['get']; delete(c: 'meta', k: string): Promise<void> }): Promise<Lease[]> {
  const out: Lease[] = [];
  const now = ctx.now().getTime();
  for (const k of await tx.keys('meta')) {
    if (!k.startsWith('lease-')) continue;
    const l = await tx.get<Lease>('meta', k);
    if (!l) continue;
    if (alive(l, now)) out.push(l);
    else await tx.delete('meta', k);
  }
  return out;
}
