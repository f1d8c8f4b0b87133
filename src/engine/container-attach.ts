/**
 * The main process's streams after start: `docker attach` (its output to one more `io`, its stdin,
 * signals and TTY size), `resize`, and its logs (`logs`, `logs -f`). Here when this engine runs
 * it; else through the control channel of the process that does (control/remote.ts).
 */
import { SkiffError } from '../errors.ts';
import type { ProcessIO, RuntimeProcess } from '../runtime/types.ts';
import { signalHere } from './container-signals.ts';
import { reach, remoteLogs } from './control/remote.ts';
import { inspectContainer, type LifecycleCore } from './lifecycle-core.ts';
import type { LogEntry } from './logs.ts';

/**
 * `docker attach`: the container's output from now on goes to `io` too; the handle writes
 * stdin (when it was created with it open), resizes, signals, waits, and `detach` stops the
 * output and leaves the container running. Here, or through the process that runs it.
 */
export async function attachContainer(core: LifecycleCore, ref: string, io: ProcessIO): Promise<RuntimeProcess & { detach(): void }> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  if (!r && (rec.state === 'running' || rec.state === 'paused')) return (await reach(core.remote, rec)).attach(io);
  if (!r) throw new SkiffError('CONFLICT', 'You cannot attach to a stopped container, start it first');
  r.outputs.add(io);
  core.events.container(rec, 'attach');
  // Signals from an attached client are kills as any other (recorded, a paused container thawed).
  return { ...r.proc, kill: (sig) => signalHere(core, r, rec.id, sig), wait: () => r.exited, detach: () => void r.outputs.delete(io) };
}

/** The TTY's window size (a no-op without a TTY). */
export async function resizeContainer(core: LifecycleCore, ref: string, size: { cols: number; rows: number }): Promise<void> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  if (r) return r.proc.resize(size);
  if (rec.state !== 'running') throw new SkiffError('CONFLICT', `container ${rec.name} is not running`);
  await (await reach(core.remote, rec)).resize(size);
}

export async function containerLogs(core: LifecycleCore, ref: string): Promise<LogEntry[]> {
  const rec = await core.containers.get(ref);
  const r = core.running.get(rec.id);
  if (r) return [...r.logs.entries];
  // Another process runs it: its live log, else what it last stored.
  const live = rec.state === 'running' ? await remoteLogs(core.remote, rec).catch(() => undefined) : undefined;
  if (live) return live.entries;
  return core.containers.readLog(rec);
}

/**
 * `logs -f`: the log so far, then each new entry (`onEntry`) until the container exits, here or
 * in the process that runs it (`done`).
 */
export async function followContainerLogs(core: LifecycleCore, ref: string, onEntry: (e: LogEntry) => void): Promise<{ entries: LogEntry[]; done: Promise<void> }> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  if (r) {
    r.logs.listeners.add(onEntry);
    const done = r.exited.then(() => {}, () => {}).finally(() => r.logs.listeners.delete(onEntry));
    return { entries: [...r.logs.entries], done };
  }
  const live = rec.state === 'running' ? await remoteLogs(core.remote, rec, onEntry).catch(() => undefined) : undefined;
  return live ?? { entries: await containerLogs(core, rec.id), done: Promise.resolve() };
}
