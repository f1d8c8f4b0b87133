/**
 * Waiting for a container's exit and signalling it: `wait`, `kill`, `stop` (the stop signal, then
 * SIGKILL after a timeout). Here when this engine runs it; else through the control channel of
 * the process that does (control/remote.ts).
 */
import { SkiffError } from '../errors.ts';
import { parseSignal, signalName } from '../runtime/spec/signals.ts';
import type { ExitStatus } from '../runtime/types.ts';
import { remoteKill, remoteStop, remoteWait } from './control/remote.ts';
import { inspectContainer, type LifecycleCore, type Running } from './lifecycle-core.ts';
import { freezeHere } from './resources.ts';

export async function waitContainer(core: LifecycleCore, ref: string): Promise<ExitStatus> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  if (r) return r.exited;
  if (rec.state === 'running' || rec.state === 'paused') return remoteWait(core.remote, rec);
  if (rec.state === 'exited' || rec.state === 'dead') {
    return { exitCode: rec.exitCode ?? 0, oomKilled: rec.exit?.oomKilled ?? false, ...(rec.exit?.signal ? { signal: rec.exit.signal } : {}), ...(rec.exit?.error ? { error: rec.exit.error } : {}) };
  }
  throw new SkiffError('CONFLICT', `container ${rec.name} is not running in this engine (state: ${rec.state})`);
}

export async function killContainer(core: LifecycleCore, ref: string, signal: string | number = 'SIGKILL'): Promise<void> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  if (!r && rec.state === 'running') return remoteKill(core.remote, rec, signal);
  if (!r) throw new SkiffError('CONFLICT', `cannot kill container ${rec.name}: container is not running`);
  await signalHere(core, r, rec.id, signal);
}

/** A signal to the process; a paused container is thawed after it, as Docker does, so it can act on it. */
export async function signalHere(core: LifecycleCore, r: Running, id: string, signal: string | number): Promise<void> {
  await r.proc.kill(signal);
  const rec = await core.containers.get(id).catch(() => undefined);
  if (rec) core.events.container(rec, 'kill', { signal: String(signalNumber(signal)) });
  if (rec?.state === 'paused') await freezeHere(core.containers, r.runtime, rec, false).catch(() => {});
}

/** SIGTERM (or the image's StopSignal), then SIGKILL after `timeout` seconds (default 10). */
export async function stopContainer(core: LifecycleCore, ref: string, timeout?: number, stopSignal?: string): Promise<ExitStatus | undefined> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  const seconds = timeout ?? rec.spec.stopTimeout;
  const signal = stopSignal ?? signalName(rec.spec.stopSignal);
  if (!r) {
    // Another skiff process runs it: the signals go through that process (control/remote.ts).
    if (rec.state !== 'running') return undefined;
    const status = await remoteStop(core.remote, rec, String(signal), seconds);
    core.events.container(rec, 'stop');
    return status;
  }
  await signalHere(core, r, rec.id, signal).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<'timeout'>((res) => { if (seconds >= 0) timer = setTimeout(() => res('timeout'), seconds * 1000); });
  const first = await Promise.race([r.exited, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') await signalHere(core, r, rec.id, 'SIGKILL').catch(() => {});
  const status = await r.exited;
  core.events.container(rec, 'stop');
  return status;
}

/** Docker's kill event gives the signal as a number. */
function signalNumber(signal: string | number): number | string {
  try {
    return parseSignal(signal);
  } catch {
    return signal;
  }
}
