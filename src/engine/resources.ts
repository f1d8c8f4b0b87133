/**
 * A running container's resources in the engine that runs it: `pause`/`unpause` (the runtime's
 * freezer, the record's "paused" state), `stats` (a sample of the runtime's counters) and `update`
 * (new limits for the running process, kept on the record's spec so a restart keeps them). The
 * lifecycle calls these for its own containers and, through the control channel, for the
 * containers another process's lifecycle runs.
 */
import { SkiffError } from '../errors.ts';
import type { ContainerRuntime, LimitUpdate, ResourceStats } from '../runtime/types.ts';
import type { ContainerStore } from './container-store.ts';
import type { ContainerRecord } from './types.ts';

function unsupported(runtime: ContainerRuntime, what: string): SkiffError {
  return new SkiffError('UNSUPPORTED', `${what}: the ${runtime.name} runtime cannot do this (Linux containers in the VM can)`);
}

export async function freezeHere(store: ContainerStore, runtime: ContainerRuntime, rec: ContainerRecord, frozen: boolean): Promise<ContainerRecord> {
  if (frozen && rec.state === 'paused') throw new SkiffError('CONFLICT', `Container ${rec.id} is already paused`);
  if (!frozen && rec.state !== 'paused') throw new SkiffError('CONFLICT', `Container ${rec.id} is not paused`);
  if (!runtime.freeze) throw unsupported(runtime, frozen ? 'pause' : 'unpause');
  await runtime.freeze(rec.id, frozen);
  return store.update(rec.id, (cur) => (cur.state === 'running' || cur.state === 'paused' ? { state: frozen ? 'paused' : 'running' } : {}));
}

export async function statsHere(runtime: ContainerRuntime, rec: ContainerRecord): Promise<ResourceStats> {
  if (!runtime.stats) throw unsupported(runtime, 'stats');
  return runtime.stats(rec.id);
}

/** The record's spec limits after `u` (Docker keeps an update for later starts). */
export function limitsAfter(limits: ContainerRecord['spec']['limits'], u: LimitUpdate): ContainerRecord['spec']['limits'] {
  const next = { ...limits };
  type L = typeof next;
  if (u.memory !== undefined) {
    if (u.memory > 0) next.memory = u.memory as L['memory'];
    else delete next.memory;
    if (u.memorySwap === undefined) delete next.memorySwap;
  }
  if (u.memorySwap !== undefined) next.memorySwap = (u.memorySwap < 0 ? -1 : u.memorySwap) as L['memorySwap'];
  if (u.cpus !== undefined) {
    if (u.cpus > 0) next.cpus = u.cpus as L['cpus'];
    else delete next.cpus;
  } else if (u.cpuQuota !== undefined && u.cpuQuota > 0) {
    next.cpus = Math.round((u.cpuQuota / (u.cpuPeriod && u.cpuPeriod > 0 ? u.cpuPeriod : 100_000)) * 1e9) as L['cpus'];
  }
  if (u.pidsLimit !== undefined) {
    if (u.pidsLimit > 0) next.pidsLimit = u.pidsLimit;
    else delete next.pidsLimit;
  }
  return next;
}

/** Checks Docker's rules for an update (values, memory against swap) before anything changes. */
export function checkUpdate(u: LimitUpdate): void {
  if (u.memory !== undefined && u.memory > 0 && u.memory < 6 * 1024 * 1024) throw new SkiffError('INVALID_ARGUMENT', 'Minimum memory limit allowed is 6MB');
  if (u.memory !== undefined && u.memorySwap !== undefined && u.memorySwap > 0 && u.memorySwap < u.memory) {
    throw new SkiffError('INVALID_ARGUMENT', 'Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (u.cpus !== undefined && (u.cpuQuota !== undefined || u.cpuPeriod !== undefined)) {
    throw new SkiffError('INVALID_ARGUMENT', 'Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  }
}

/** The runtime's limits (when it runs here) and the record's spec. */
export async function updateHere(store: ContainerStore, runtime: ContainerRuntime | undefined, rec: ContainerRecord, u: LimitUpdate): Promise<ContainerRecord> {
  checkUpdate(u);
  if (runtime) {
    if (!runtime.updateLimits) throw unsupported(runtime, 'update');
    await runtime.updateLimits(rec.id, u);
  }
  return store.update(rec.id, (cur) => ({ spec: { ...cur.spec, limits: limitsAfter(cur.spec.limits, u) } }));
}
