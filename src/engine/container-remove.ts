/**
 * Removing containers: `docker rm` (a running one only with force: killed, its exit awaited within
 * reason), `--rm`'s removal with the anonymous volumes, and `docker container prune`.
 */
import { SkiffError } from '../errors.ts';
import { killContainer, waitContainer } from './container-signals.ts';
import { inspectContainer, type LifecycleCore } from './lifecycle-core.ts';
import type { ContainerId, ContainerRecord } from './types.ts';

/** `docker rm`: a running container only with `force` (killed, its exit awaited within reason). */
export async function removeContainer(core: LifecycleCore, ref: string, force: boolean): Promise<ContainerRecord> {
  const cur = await inspectContainer(core, ref);
  if (core.running.has(cur.id) || (cur.state === 'running' && force)) {
    if (!force) throw new SkiffError('CONFLICT', `cannot remove container "${cur.name}": container is running: stop the container before removing or force remove`);
    await killContainer(core, cur.id).catch(() => {});
    // Another process's container: its exit (and saved layer) is waited for, within reason.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([waitContainer(core, cur.id).catch(() => {}), new Promise((r) => (timer = setTimeout(r, 15_000)))]);
    clearTimeout(timer);
  }
  const gone = await core.containers.remove(cur.id, force);
  core.events.container(cur, 'destroy');
  return gone;
}

/** --rm: the container and its anonymous volumes. */
export async function removeWithVolumes(core: LifecycleCore, rec: ContainerRecord): Promise<void> {
  await removeContainer(core, rec.id, true);
  for (const m of rec.spec.mounts) if (m.type === 'volume' && m.anonymous) await core.containers.removeVolume(m.name, false).catch(() => {});
}

/** `docker container prune`: removes every container that is not running or paused. */
export async function pruneContainers(core: LifecycleCore): Promise<{ deleted: ContainerId[]; reclaimed: number }> {
  const out = { deleted: [] as ContainerId[], reclaimed: 0 };
  for (const c of await core.containers.list()) {
    if (c.state === 'running' || c.state === 'paused') continue;
    await removeContainer(core, c.id, false).then(() => {
      out.deleted.push(c.id);
      out.reclaimed += c.upper?.size ?? 0;
    }, () => {});
  }
  await core.containers.sweep();
  core.events.emit('container', 'prune', '', { reclaimed: String(out.reclaimed) });
  return out;
}
