/**
 * `docker pause`/`unpause`, `stats` and `update` as the lifecycle routes them: here when this
 * engine runs the container (resources.ts, plus what a pause means for its healthcheck), else
 * through the control channel of the process that runs it.
 */
import { SkiffError } from '../errors.ts';
import type { LimitUpdate, ResourceStats } from '../runtime/types.ts';
import { reach } from './control/remote.ts';
import { inspectContainer, type LifecycleCore, type Running } from './lifecycle-core.ts';
import { freezeHere, statsHere, updateHere } from './resources.ts';
import type { ContainerRecord } from './types.ts';

/** `docker pause` (frozen) / `unpause`: here, or through the process that runs it. */
export async function freezeContainer(core: LifecycleCore, ref: string, frozen: boolean): Promise<ContainerRecord> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  let after: ContainerRecord;
  if (r) after = await freezeLocal(core, r, rec, frozen);
  else {
    if (rec.state !== 'running' && rec.state !== 'paused') throw new SkiffError('CONFLICT', `Container ${rec.id} is not running`);
    await (await reach(core.remote, rec)).freeze(frozen);
    after = await inspectContainer(core, rec.id);
  }
  core.events.container(rec, frozen ? 'pause' : 'unpause');
  return after;
}

/** Pause/unpause here; a pause stops the healthcheck's probe under way (it would hang in the frozen cgroup). */
export async function freezeLocal(core: LifecycleCore, r: Running, rec: ContainerRecord, frozen: boolean): Promise<ContainerRecord> {
  const after = await freezeHere(core.containers, r.runtime, rec, frozen);
  if (frozen) await r.health?.paused();
  return after;
}

/** A sample of a running container's resource use. */
export async function containerStats(core: LifecycleCore, ref: string): Promise<ResourceStats> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  if (r) return statsHere(r.runtime, rec);
  if (rec.state !== 'running' && rec.state !== 'paused') throw new SkiffError('CONFLICT', `Container ${rec.id} is not running`);
  return (await reach(core.remote, rec)).stats();
}

/** `docker update`: a running container's limits now, and the record's for later starts. */
export async function updateContainerLimits(core: LifecycleCore, ref: string, limits: LimitUpdate): Promise<ContainerRecord> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  let after: ContainerRecord;
  if (r || (rec.state !== 'running' && rec.state !== 'paused')) after = await updateHere(core.containers, r?.runtime, rec, limits);
  else {
    await (await reach(core.remote, rec)).update(limits);
    after = await inspectContainer(core, rec.id);
  }
  core.events.container(rec, 'update');
  return after;
}
