/**
 * The container lifecycle: create, run, start, attach, resize, wait, signal (kill, stop), exec,
 * logs and remove, over the container store (records, layers, volumes), the image store and the
 * runtimes (runtime/types.ts). The store owns what is kept; a `ContainerRuntime` ('vm' or 'wasi')
 * only runs the process. start → running; when the process ends, its runtime releases it, the
 * writable layer, volumes and logs are saved, the record says how it ended, and `--rm` removes it.
 * A container another process runs is reached through that process's control channel
 * (control/remote.ts), behind `remote`.
 *
 * This class is the lifecycle's one face (the facade, engine.ts, holds one); what each verb does
 * lives in a file of its own over the shared core (lifecycle-core.ts): container-start.ts (start
 * to recorded exit), container-signals.ts (wait, kill, stop), container-remove.ts (rm, --rm,
 * prune), container-exec.ts, container-attach.ts (attach, resize, logs), lifecycle-resources.ts
 * (pause, stats, update) and lifecycle-control.ts (what the control socket serves). Create and
 * run, which only compose them, stay here.
 */
import { resolveContainerSpec } from '../runtime/spec/container-spec.ts';
import { refuseHealthcheck } from '../runtime/spec/health.ts';
import { refuseNetworking } from '../runtime/spec/network.ts';
import type { ExitStatus, LimitUpdate, ProcessIO, ResourceStats, RuntimeInterface, RuntimeProcess } from '../runtime/types.ts';
import { attachContainer, containerLogs, followContainerLogs, resizeContainer } from './container-attach.ts';
import { execInContainer } from './container-exec.ts';
import { pruneContainers, removeContainer } from './container-remove.ts';
import { killContainer, stopContainer, waitContainer } from './container-signals.ts';
import { startContainer } from './container-start.ts';
import { newContainerId, toRunOptions, type CreateContainerOptions } from './containers.ts';
import { reach } from './control/remote.ts';
import { inspectContainer, lifecycleCore, reconcile, type LifecycleCore, type LifecycleParts } from './lifecycle-core.ts';
import type { ExecOptions, RunContainerOptions, RunResult, StartedContainer, StartOptions } from './lifecycle-options.ts';
import { containerStats, freezeContainer, updateContainerLimits } from './lifecycle-resources.ts';
import type { LogEntry } from './logs.ts';
import type { ContainerId, ContainerRecord } from './types.ts';

export type { RuntimeFactories } from './runtime-pool.ts';
export type { HostDirFactory, LifecycleParts } from './lifecycle-core.ts';
export type { ExecOptions, RunContainerOptions, RunResult, StartedContainer, StartOptions } from './lifecycle-options.ts';
export { decodeLogs, type LogEntry } from './logs.ts';

export class Lifecycle {
  private readonly core: LifecycleCore;

  constructor(parts: LifecycleParts) {
    this.core = lifecycleCore(parts);
  }

  /**
   * `network connect`/`disconnect` reaching a running container: its runtime plugs the interface
   * in or out now. False when it runs elsewhere or its runtime cannot (the record changed anyway:
   * the next start has it).
   */
  async hotplug(id: string, change: 'connect' | 'disconnect', iface: RuntimeInterface): Promise<boolean> {
    const r = this.core.running.get(id);
    const fn = r?.runtime[change];
    if (!r || !fn) return false;
    await fn.call(r.runtime, id, iface);
    return true;
  }

  /** Whether this engine runs the container (its VM or worker is in this process/page). */
  isRunning(id: string): boolean {
    return this.core.running.has(id);
  }

  /** The record; one left "running" by a skiff process that is gone reads as exited. */
  inspect(ref: string): Promise<ContainerRecord> {
    return inspectContainer(this.core, ref);
  }

  async list(all: boolean): Promise<ContainerRecord[]> {
    const recs = await Promise.all((await this.core.containers.list()).map((c) => this.reconcile(c)));
    const shown = all ? recs : recs.filter((c) => c.state === 'running' || c.state === 'paused');
    return shown.sort((a, b) => b.created.localeCompare(a.created));
  }

  /**
   * `docker create`: the image from the image store (bundled ones load on first use), its runtime
   * (an image no runtime can run is refused here), the spec resolved once with Docker's errors,
   * the volumes it mounts created, then the record.
   */
  async create(options: CreateContainerOptions): Promise<ContainerRecord> {
    const { images, containers, events } = this.core;
    const image = await images.resolve(options.image);
    const config = await images.config(image);
    const runtime = options.runtime ?? (await images.runtimeFor(image, config, options.image));
    const run = toRunOptions(options);
    const id = newContainerId();
    const spec = resolveContainerSpec({ id, image: config.config ?? {}, run });
    if (runtime === 'wasi') refuseNetworking(spec.network, runtime);
    refuseHealthcheck(spec.healthcheck, runtime, image.platform);
    for (const m of spec.mounts) if (m.type === 'volume') m.name = (await containers.createVolume(m.anonymous ? {} : { name: m.name })).name;
    const volumes = [...new Set([...(options.volumes ?? []), ...spec.mounts.flatMap((m) => (m.type === 'volume' ? [m.name] : []))])];
    const rec = await containers.create(image, config, {
      id, imageRef: options.image, spec, runtime,
      ...(run.name !== undefined ? { name: run.name } : {}), ...(run.labels ? { labels: run.labels } : {}),
      ...(volumes.length ? { volumes } : {}), ...(run.rm ? { autoRemove: true } : {}),
      ...(options.runtimeData ? { runtimeData: options.runtimeData } : {}),
    });
    events.container(rec, 'create');
    return rec;
  }

  /** `docker run` (see RunContainerOptions): the one orchestration the CLI and the browser share. */
  run(o: RunContainerOptions & { detach: true }): Promise<StartedContainer>;
  run(o: RunContainerOptions): Promise<RunResult>;
  async run(o: RunContainerOptions): Promise<RunResult | StartedContainer> {
    const { io, stdin, consoleSize, detach, onCreated, onStarted, ...create } = o;
    const rec = await this.create(stdin !== undefined ? { ...create, openStdin: true } : create);
    await onCreated?.(rec);
    const proc = await this.start(rec.id, { ...(io ? { io } : {}), ...(consoleSize ? { consoleSize } : {}) });
    onStarted?.({ container: rec, process: proc });
    if (stdin !== undefined) feedStdin(proc, stdin);
    if (detach) return { id: rec.id, name: rec.name, runtime: rec.runtime, process: proc };
    return { id: rec.id, name: rec.name, exit: await proc.wait() };
  }

  /** Starts the container's process on its runtime; `wait()` resolves after the exit is recorded. */
  start(ref: string, o: StartOptions = {}): Promise<RuntimeProcess> {
    return startContainer(this.core, ref, o);
  }

  /** `docker attach`: the output to `io` too until `detach()` (container-attach.ts). */
  attach(ref: string, io: ProcessIO): Promise<RuntimeProcess & { detach(): void }> {
    return attachContainer(this.core, ref, io);
  }

  /** The TTY's window size (a no-op without a TTY). */
  resize(ref: string, size: { cols: number; rows: number }): Promise<void> {
    return resizeContainer(this.core, ref, size);
  }

  /** `docker rm`: a running container only with `force` (killed, its exit awaited within reason). */
  remove(ref: string, force: boolean): Promise<ContainerRecord> {
    return removeContainer(this.core, ref, force);
  }

  /** `docker container prune`: removes every container that is not running or paused. */
  prune(): Promise<{ deleted: ContainerId[]; reclaimed: number }> {
    return pruneContainers(this.core);
  }

  /**
   * A record that says "running" while no live engine runs it (the skiff process that did was
   * killed) is rewritten as exited, as Docker shows a container whose daemon died.
   */
  reconcile(rec: ContainerRecord): Promise<ContainerRecord> {
    return reconcile(this.core, rec);
  }

  wait(ref: string): Promise<ExitStatus> {
    return waitContainer(this.core, ref);
  }

  kill(ref: string, signal: string | number = 'SIGKILL'): Promise<void> {
    return killContainer(this.core, ref, signal);
  }

  /** SIGTERM (or the image's StopSignal), then SIGKILL after `timeout` seconds (default 10). */
  stop(ref: string, timeout?: number, stopSignal?: string): Promise<ExitStatus | undefined> {
    return stopContainer(this.core, ref, timeout, stopSignal);
  }

  /** The engine changed a container's files itself (cp): its runtime, if it runs here, drops what it cached. */
  async filesChanged(id: string): Promise<void> {
    const r = this.core.running.get(id);
    if (r) await r.runtime.filesChanged?.(id);
  }
  /** A container's /etc files as the runtime running it here serves them (cp goes through them). */
  etcFiles(id: string) { return this.core.running.get(id)?.runtime.etcFiles?.(id); }

  /** `docker pause` (frozen) / `unpause`: here, or through the process that runs it. */
  freeze(ref: string, frozen: boolean): Promise<ContainerRecord> {
    return freezeContainer(this.core, ref, frozen);
  }

  /**
   * The container's writable layer saved to the store: here, or by the process that runs it (its
   * live overlay holds writes newer than the store's), so a reader in this process sees them all.
   */
  async persistLayer(ref: string): Promise<void> {
    const rec = await this.inspect(ref);
    if (this.core.running.has(rec.id) || (rec.state !== 'running' && rec.state !== 'paused')) return;
    await (await reach(this.core.remote, rec)).persist();
  }

  /** A sample of a running container's resource use. */
  stats(ref: string): Promise<ResourceStats> {
    return containerStats(this.core, ref);
  }

  /** `docker update`: a running container's limits now, and the record's for later starts. */
  update(ref: string, limits: LimitUpdate): Promise<ContainerRecord> {
    return updateContainerLimits(this.core, ref, limits);
  }

  exec(ref: string, o: ExecOptions): Promise<RuntimeProcess> {
    return execInContainer(this.core, ref, o);
  }

  logs(ref: string): Promise<LogEntry[]> {
    return containerLogs(this.core, ref);
  }

  /**
   * `logs -f`: the log so far, then each new entry (`onEntry`) until the container exits, here or
   * in the process that runs it (`done`).
   */
  followLogs(ref: string, onEntry: (e: LogEntry) => void): Promise<{ entries: LogEntry[]; done: Promise<void> }> {
    return followContainerLogs(this.core, ref, onEntry);
  }

  async shutdown(): Promise<void> {
    const { running, runtimes, control } = this.core;
    for (const [id, r] of running) await r.proc.kill('SIGKILL').catch(() => {}), void id;
    await Promise.allSettled([...running.values()].map((r) => r.exited));
    await runtimes.shutdown();
    control?.close();
  }
}

/** `run`'s stdin: bytes or text then EOF, or a stream pumped until it ends or the process exits. */
function feedStdin(proc: RuntimeProcess, stdin: Uint8Array | string | AsyncIterable<Uint8Array>): void {
  if (typeof stdin === 'string' || stdin instanceof Uint8Array) {
    proc.writeStdin(typeof stdin === 'string' ? new TextEncoder().encode(stdin) : stdin);
    proc.closeStdin();
    return;
  }
  let ended = false;
  proc.wait().finally(() => { ended = true; }).catch(() => {});
  void (async () => {
    for await (const chunk of stdin) {
      if (ended) return;
      if (chunk.length) await proc.writeStdin(chunk);
    }
    if (!ended) proc.closeStdin();
  })().catch(() => {});
}
