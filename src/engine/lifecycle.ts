/**
 * The container lifecycle: create, run, start, attach, resize, wait, signal (kill, stop), exec,
 * logs and remove, over the container store (records, layers, volumes), the image store and the
 * runtimes (runtime/types.ts). The store owns what is kept; a `ContainerRuntime` ('vm' or 'wasi')
 * only runs the process. start → running; when the process ends, its runtime releases it, the
 * writable layer, volumes and logs are saved, the record says how it ended, and `--rm` removes it.
 * A container another process runs is reached through that process's control channel
 * (control/remote.ts), behind `remote`.
 */
import { SkiffError } from '../errors.ts';
import type { FileSystem } from '../fs/types.ts';
import { resolveContainerSpec } from '../runtime/spec/container-spec.ts';
import { refuseNetworking } from '../runtime/spec/network.ts';
import { parseSignal, signalName } from '../runtime/spec/signals.ts';
import { NO_EVENTS, type EventRecorder } from './events/recorder.ts';
import type { ContainerRuntime, ExitStatus, LimitUpdate, MountedVolume, ProcessIO, ResourceStats, RuntimeInterface, RuntimeNetwork, RuntimeProcess } from '../runtime/types.ts';
import type { StartSecrets } from '../runtime/secrets.ts';
import type { ContainerStore } from './container-store.ts';
import { newContainerId, toRunOptions, type CreateContainerOptions } from './containers.ts';
import { reach, remoteExec, remoteKill, remoteLogs, remoteStop, remoteWait, type RemoteContext } from './control/remote.ts';
import type { ExecSpec } from './control/protocol.ts';
import type { ControlPlane, ControlTarget, LogRecord } from './control/types.ts';
import type { ImageStore } from './image-store.ts';
import { startFailureExitCode } from '../runtime/start-failure.ts';
import type { ContainerLog, LogEntry } from './logs.ts';
import { localOwner, ownerAlive, ownerOf } from './owner.ts';
import type { RuntimePool } from './runtime-pool.ts';
import type { ContainerId, ContainerRecord, MountRecord } from './types.ts';
import { copyInto } from './volume-seed.ts';
import { freezeHere, statsHere, updateHere } from './resources.ts';
import { HealthMonitor } from './health.ts';
import { refuseHealthcheck } from '../runtime/spec/health.ts';

export type { RuntimeFactories } from './runtime-pool.ts';

/** Opens a directory of the host for a bind mount (src/node.ts); absent where there is none (browsers). */
export type HostDirFactory = (o: { path: string; readOnly: boolean }) => FileSystem;

export interface StartOptions {
  /** Output (with a TTY, all of it on onStdout). */
  io?: ProcessIO;
  consoleSize?: { cols: number; rows: number };
  /**
   * Process-only variables and in-memory files for this start (build secrets, runtime/secrets.ts):
   * handed to the runtime only, never stored in the record, its spec, a layer or the log.
   */
  secrets?: StartSecrets;
}

/**
 * `docker run` in one call: create, start, feed stdin, wait, with the hooks a terminal needs.
 *   - `io`, `consoleSize`: output and the TTY's size (`run.tty` / `tty` asks for a TTY);
 *   - `stdin`: bytes or text (written, then EOF) or a stream (a keyboard: pumped until it ends or
 *     the process exits); giving it opens stdin;
 *   - `onCreated(rec)`: after create, before start (print the id, say "starting the VM…");
 *   - `onStarted({container, process})`: once it runs: the handle for resize, signals and stdin;
 *   - `detach`: return once started (`docker run -d`); the exit is recorded all the same;
 *   - `run.rm` (`--rm`): the container and its anonymous volumes are removed when it ends, or
 *     when it could not start.
 */
export interface RunContainerOptions extends CreateContainerOptions, StartOptions {
  stdin?: Uint8Array | string | AsyncIterable<Uint8Array>;
  detach?: boolean;
  onCreated?(container: ContainerRecord): void | Promise<void>;
  onStarted?(started: { container: ContainerRecord; process: RuntimeProcess }): void;
}

export interface StartedContainer {
  id: ContainerId;
  name: string;
  runtime: string;
  process: RuntimeProcess;
}

export interface RunResult {
  id: ContainerId;
  name: string;
  exit: ExitStatus;
}

/** What the lifecycle works over. None of it reaches back into the lifecycle or the facade. */
export interface LifecycleParts {
  containers: ContainerStore;
  images: ImageStore;
  runtimes: RuntimePool;
  /** Bind mounts (`-v /host/dir:/dest`); without it they are refused at start. */
  hostDir?: HostDirFactory;
  control?: ControlPlane;
  /** Docker's events of what this lifecycle does (events/recorder.ts); absent: not recorded. */
  events?: EventRecorder;
  /** The container's network for its start (engine/network-runtime.ts); absent: loopback only. */
  networkFor?: (rec: ContainerRecord, runningHere: (id: string) => boolean) => Promise<RuntimeNetwork | undefined>;
}

/** The exec that also crosses the control channel (ExecSpec), plus the local io. */
export interface ExecOptions extends StartOptions, ExecSpec {}

export { decodeLogs, type LogEntry } from './logs.ts';

interface Running {
  proc: RuntimeProcess;
  runtime: ContainerRuntime;
  exited: Promise<ExitStatus>;
  logs: ContainerLog;
  /** Attached outputs beyond the starter's (`attach`). */
  outputs: Set<ProcessIO>;
  /** Its healthcheck's probes (engine/health.ts), while it runs. */
  health?: HealthMonitor;
}

const NO_IO: ProcessIO = { onStdout: () => {}, onStderr: () => {} };

/** The outputs' promises (if any) as one: undefined when every output took the chunk at once. */
function backpressure(results: unknown[]): Promise<unknown> | undefined {
  const waiting = results.filter((r): r is Promise<unknown> => r instanceof Promise);
  return waiting.length === 0 ? undefined : waiting.length === 1 ? waiting[0] : Promise.all(waiting);
}

export class Lifecycle {
  private readonly running = new Map<string, Running>();
  private readonly containers: ContainerStore;
  private readonly images: ImageStore;
  private readonly runtimes: RuntimePool;
  private readonly hostDir: HostDirFactory | undefined;
  private readonly control: ControlPlane | undefined;
  private readonly networkFor: LifecycleParts['networkFor'];
  private readonly events: EventRecorder;
  /** This engine's identity on the records of the containers it runs. */
  private readonly self;
  /** How other processes' containers are reached (see control/remote.ts). */
  private readonly remote: RemoteContext;

  constructor(parts: LifecycleParts) {
    this.containers = parts.containers;
    this.images = parts.images;
    this.runtimes = parts.runtimes;
    this.hostDir = parts.hostDir;
    this.control = parts.control;
    this.networkFor = parts.networkFor;
    this.events = parts.events ?? NO_EVENTS;
    this.self = this.control?.self ?? localOwner();
    this.remote = { plane: this.control, reread: (id) => this.inspect(id) };
  }

  /** What this engine's control socket serves: its own operations on the containers it runs. */
  private controlTarget(): ControlTarget {
    const get = (id: string) => {
      const r = this.running.get(id);
      if (!r) throw new SkiffError('CONFLICT', `container ${id.slice(0, 12)} is not running here`);
      return r;
    };
    return {
      owns: (id) => this.running.has(id),
      signal: (id, sig) => this.signalHere(get(id), id, /^\d+$/.test(sig) ? Number(sig) : sig),
      resize: (id, size) => get(id).proc.resize(size),
      wait: (id) => get(id).exited,
      exec: (id, spec, io) => this.exec(id, { ...spec, io }),
      attach: (id, io) => this.attach(id, io),
      logs: (id, onEntry?: (e: LogRecord) => void) => {
        const logs = get(id).logs;
        if (onEntry) logs.listeners.add(onEntry);
        return { entries: [...logs.entries], unsubscribe: () => void (onEntry && logs.listeners.delete(onEntry)) };
      },
      freeze: async (id, frozen) => void (await this.freezeLocal(get(id), await this.inspect(id), frozen)),
      persist: async (id) => {
        get(id);
        await this.containers.persist(id);
      },
      stats: async (id) => statsHere(get(id).runtime, await this.inspect(id)),
      update: async (id, limits) => void (await updateHere(this.containers, get(id).runtime, await this.inspect(id), limits)),
      // Checked by the runtime (same network, known sender) before it reaches the guest.
      packet: (id, p) => void this.running.get(id)?.runtime.relayIn?.(p).catch(() => {}),
    };
  }

  /**
   * `network connect`/`disconnect` reaching a running container: its runtime plugs the interface
   * in or out now. False when it runs elsewhere or its runtime cannot (the record changed anyway:
   * the next start has it).
   */
  async hotplug(id: string, change: 'connect' | 'disconnect', iface: RuntimeInterface): Promise<boolean> {
    const r = this.running.get(id);
    const fn = r?.runtime[change];
    if (!r || !fn) return false;
    await fn.call(r.runtime, id, iface);
    return true;
  }

  /** Whether this engine runs the container (its VM or worker is in this process/page). */
  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** The record; one left "running" by a skiff process that is gone reads as exited. */
  async inspect(ref: string): Promise<ContainerRecord> {
    return this.reconcile(await this.containers.get(ref));
  }

  async list(all: boolean): Promise<ContainerRecord[]> {
    const recs = await Promise.all((await this.containers.list()).map((c) => this.reconcile(c)));
    const shown = all ? recs : recs.filter((c) => c.state === 'running' || c.state === 'paused');
    return shown.sort((a, b) => b.created.localeCompare(a.created));
  }

  /**
   * `docker create`: the image from the image store (bundled ones load on first use), its runtime
   * (an image no runtime can run is refused here), the spec resolved once with Docker's errors,
   * the volumes it mounts created, then the record.
   */
  async create(options: CreateContainerOptions): Promise<ContainerRecord> {
    const image = await this.images.resolve(options.image);
    const config = await this.images.config(image);
    const runtime = options.runtime ?? (await this.images.runtimeFor(image, config, options.image));
    const run = toRunOptions(options);
    const id = newContainerId();
    const spec = resolveContainerSpec({ id, image: config.config ?? {}, run });
    if (runtime === 'wasi') refuseNetworking(spec.network, runtime);
    refuseHealthcheck(spec.healthcheck, runtime, image.platform);
    for (const m of spec.mounts) if (m.type === 'volume') m.name = (await this.containers.createVolume(m.anonymous ? {} : { name: m.name })).name;
    const volumes = [...new Set([...(options.volumes ?? []), ...spec.mounts.flatMap((m) => (m.type === 'volume' ? [m.name] : []))])];
    const rec = await this.containers.create(image, config, {
      id, imageRef: options.image, spec, runtime,
      ...(run.name !== undefined ? { name: run.name } : {}), ...(run.labels ? { labels: run.labels } : {}),
      ...(volumes.length ? { volumes } : {}), ...(run.rm ? { autoRemove: true } : {}),
      ...(options.runtimeData ? { runtimeData: options.runtimeData } : {}),
    });
    this.events.container(rec, 'create');
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
  async start(ref: string, o: StartOptions = {}): Promise<RuntimeProcess> {
    const store = this.containers;
    const rec = await this.inspect(ref);
    if (this.running.has(rec.id)) throw new SkiffError('CONFLICT', `container ${rec.name} is already running`);
    const runtime = await this.runtimes.get(rec.runtime);
    const rootfs = await store.fs(rec.id);
    const volumes: MountedVolume[] = [];
    for (const m of rec.spec.mounts) {
      const fs = await this.mountFs(m);
      if (m.type === 'volume' && m.copyData && !(await store.volume(m.name)).data && fs.readdir(fs.root()).length === 0) {
        await copyInto(rootfs, m.destination, fs);
      }
      volumes.push({ source: m.type === 'bind' ? m.source : m.name, destination: m.destination, readOnly: m.readOnly, fs });
    }
    // Like Docker, a restarted container's log continues the earlier runs'.
    const logs = await store.openLog(rec);
    const outputs = new Set<ProcessIO>(o.io ? [o.io] : []);
    const io: ProcessIO = {
      // An output that cannot take more yet returns a promise: passed back to the runtime
      // (backpressure, ProcessIO), it waits for the slowest attached output.
      onStdout: (d) => { logs.push('stdout', d); return backpressure([...outputs].map((x) => x.onStdout(d))); },
      onStderr: (d) => { logs.push('stderr', d); return backpressure([...outputs].map((x) => x.onStderr(d))); },
    };
    let proc: RuntimeProcess;
    try {
      const network = await this.networkFor?.(rec, (id) => this.running.has(id));
      proc = await runtime.start({
        id: rec.id, rootfs, spec: rec.spec, volumes, io, ...(network ? { network } : {}), ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
        ...(rec.spec.ports?.length ? { ports: rec.spec.ports } : {}), ...(o.secrets ? { secrets: o.secrets } : {}),
      });
    } catch (err) {
      await logs.close().catch(() => {});
      const msg = err instanceof Error ? err.message : String(err);
      await store.update(rec.id, { state: 'exited', exitCode: startFailureExitCode(err), finishedAt: store.now().toISOString(), exit: { oomKilled: false, error: msg } }).catch(() => {});
      // docker run --rm removes a container that could not start, too.
      if (rec.autoRemove) await this.removeWithVolumes(rec).catch(() => {});
      throw SkiffError.wrap(err, `starting container ${rec.name}`);
    }
    const pid = (proc as { pid?: number }).pid;
    // The published ports as bound (a host port 0 became a real one): `port` and `ps` read them.
    const ports = (proc as { ports?: unknown[] }).ports;
    // In the map before the record says "running" (so no reconcile sees it orphaned), and the
    // exit handled only after that write (so a quick exit's record is not overwritten).
    let release!: () => void;
    const recorded = new Promise<void>((r) => (release = r));
    const exited = recorded.then(() => proc.wait()).then((status) => this.finish(rec, runtime, status, logs), async (err: unknown) => {
      await this.finish(rec, runtime, { exitCode: 125, oomKilled: false, error: String(err) }, logs);
      throw err;
    });
    this.running.set(rec.id, { proc, runtime, exited, logs, outputs });
    // While it runs, the log saves what is new every ~250 ms (logs.ts): `logs` from another process sees it.
    try {
      // Reachable from other processes (stop, kill, exec, logs) before the record says so.
      const owner = this.control ? await this.control.serve(this.controlTarget()).catch(() => this.self) : this.self;
      // Reported before the record says running: whoever waits for that (a restart) reports after.
      this.attachments(await store.get(rec.id).catch(() => rec), 'mount', 'connect');
      this.events.container(rec, 'start');
      // A healthcheck starts over at each start (Docker's initHealthMonitor); its log carries on.
      const probe = rec.spec.healthcheck?.probe;
      const now = await store.update(rec.id, (cur) => ({
        state: 'running', startedAt: store.now().toISOString(), runtimeData: { ...cur.runtimeData, owner, ...(pid ? { pid } : {}), ports: ports ?? [] },
        ...(probe ? { health: { Status: 'starting' as const, FailingStreak: 0, Log: cur.health?.Log ?? [] } } : {}),
      }));
      const entry = this.running.get(rec.id);
      if (probe && entry) entry.health = this.monitorHealth(now, runtime, probe);
    } finally {
      release();
    }
    return { ...proc, wait: () => exited };
  }

  /**
   * `docker attach`: the container's output from now on goes to `io` too; the handle writes
   * stdin (when it was created with it open), resizes, signals, waits, and `detach` stops the
   * output and leaves the container running. Here, or through the process that runs it.
   */
  async attach(ref: string, io: ProcessIO): Promise<RuntimeProcess & { detach(): void }> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    if (!r && (rec.state === 'running' || rec.state === 'paused')) return (await reach(this.remote, rec)).attach(io);
    if (!r) throw new SkiffError('CONFLICT', 'You cannot attach to a stopped container, start it first');
    r.outputs.add(io);
    this.events.container(rec, 'attach');
    // Signals from an attached client are kills as any other (recorded, a paused container thawed).
    return { ...r.proc, kill: (sig) => this.signalHere(r, rec.id, sig), wait: () => r.exited, detach: () => void r.outputs.delete(io) };
  }

  /** The TTY's window size (a no-op without a TTY). */
  async resize(ref: string, size: { cols: number; rows: number }): Promise<void> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    if (r) return r.proc.resize(size);
    if (rec.state !== 'running') throw new SkiffError('CONFLICT', `container ${rec.name} is not running`);
    await (await reach(this.remote, rec)).resize(size);
  }

  private async mountFs(m: MountRecord): Promise<FileSystem> {
    if (m.type === 'volume') return this.containers.volumeFs(m.name);
    if (!this.hostDir) throw new SkiffError('UNSUPPORTED', `bind mount of ${m.source}: there is no host directory to mount here`);
    return this.hostDir({ path: m.source, readOnly: m.readOnly });
  }

  /**
   * Docker's events for a container's volumes and networks as it starts (mount, connect) or ends
   * (unmount, disconnect).
   */
  private attachments(rec: ContainerRecord, volume: 'mount' | 'unmount', network: 'connect' | 'disconnect'): void {
    for (const m of rec.spec.mounts) {
      if (m.type === 'volume') this.events.volume(volume, m.name, { container: rec.id, ...(volume === 'mount' ? { destination: m.destination, propagation: '', 'read/write': String(!m.readOnly) } : {}) });
    }
    // A wasm module has no network to connect (runtime/spec/network.ts refuses one).
    for (const [name, e] of Object.entries(rec.runtime === 'wasi' ? {} : rec.spec.network?.endpoints ?? {})) {
      if (e.networkId) this.events.network(network, { id: e.networkId, name, driver: name === 'host' || name === 'none' ? name : 'bridge' }, { container: rec.id });
    }
  }

  /** The probes of a container this engine runs, through its runtime's exec, recorded on its record. */
  private monitorHealth(rec: ContainerRecord, runtime: ContainerRuntime, probe: string[]): HealthMonitor {
    const store = this.containers;
    return new HealthMonitor({
      id: rec.id, healthcheck: { ...rec.spec.healthcheck!, probe }, startedAt: Date.parse(rec.startedAt ?? '') || Date.now(),
      exec: (args, io) => runtime.exec({ id: rec.id, args, tty: false, openStdin: false, io }),
      read: () => store.get(rec.id).catch(() => undefined),
      update: (next) => store.update(rec.id, (cur) => {
        const health = next(cur);
        return health ? { health } : {};
      }).catch(() => undefined),
      event: (action, attributes) => this.events.container(rec, action, attributes),
    });
  }

  /** After the process ended: release, save layer + volumes + logs, record the exit, --rm. */
  private async finish(rec: ContainerRecord, runtime: ContainerRuntime, status: ExitStatus, logs: ContainerLog): Promise<ExitStatus> {
    const store = this.containers;
    try {
      // No probe outlives the process or writes after the exit is recorded.
      await this.running.get(rec.id)?.health?.stop();
      await runtime.release(rec.id).catch(() => {});
      await store.persist(rec.id);
      for (const m of rec.spec.mounts) if (m.type === 'volume') await store.persistVolume(m.name).catch(() => {});
      const exit = { oomKilled: status.oomKilled, ...(status.signal ? { signal: status.signal } : {}), ...(status.error ? { error: status.error } : {}) };
      if (status.oomKilled) this.events.container(rec, 'oom');
      const started = Date.parse((await store.get(rec.id).catch(() => rec)).startedAt ?? '');
      const ran: Record<string, string> = Number.isNaN(started) ? {} : { execDuration: String(Math.max(0, Math.round((Date.now() - started) / 1000))) };
      this.events.container(rec, 'die', { exitCode: String(status.exitCode), ...ran });
      this.attachments(await store.get(rec.id).catch(() => rec), 'unmount', 'disconnect');
      await store.saveLog(rec.id, logs, (cur) => {
        const { owner: _o, pid: _p, execSocket: _x, ...runtimeData } = cur.runtimeData ?? {};
        // Docker marks a stopped monitor's container unhealthy ("for compatibility").
        return { state: 'exited', exitCode: status.exitCode, finishedAt: store.now().toISOString(), exit, runtimeData, ...(cur.health ? { health: { ...cur.health, Status: 'unhealthy' as const } } : {}) };
      });
      // No longer running: removal below must not wait for this very exit.
      this.running.delete(rec.id);
      if (rec.autoRemove) await this.removeWithVolumes(rec);
    } finally {
      this.running.delete(rec.id);
    }
    return status;
  }

  /** --rm: the container and its anonymous volumes. */
  private async removeWithVolumes(rec: ContainerRecord): Promise<void> {
    await this.remove(rec.id, true);
    for (const m of rec.spec.mounts) if (m.type === 'volume' && m.anonymous) await this.containers.removeVolume(m.name, false).catch(() => {});
  }

  /** `docker rm`: a running container only with `force` (killed, its exit awaited within reason). */
  async remove(ref: string, force: boolean): Promise<ContainerRecord> {
    const cur = await this.inspect(ref);
    if (this.running.has(cur.id) || (cur.state === 'running' && force)) {
      if (!force) throw new SkiffError('CONFLICT', `cannot remove container "${cur.name}": container is running: stop the container before removing or force remove`);
      await this.kill(cur.id).catch(() => {});
      // Another process's container: its exit (and saved layer) is waited for, within reason.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.wait(cur.id).catch(() => {}), new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
    }
    const gone = await this.containers.remove(cur.id, force);
    this.events.container(cur, 'destroy');
    return gone;
  }

  /** `docker container prune`: removes every container that is not running or paused. */
  async prune(): Promise<{ deleted: ContainerId[]; reclaimed: number }> {
    const out = { deleted: [] as ContainerId[], reclaimed: 0 };
    for (const c of await this.containers.list()) {
      if (c.state === 'running' || c.state === 'paused') continue;
      await this.remove(c.id, false).then(() => {
        out.deleted.push(c.id);
        out.reclaimed += c.upper?.size ?? 0;
      }, () => {});
    }
    await this.containers.sweep();
    this.events.emit('container', 'prune', '', { reclaimed: String(out.reclaimed) });
    return out;
  }

  /**
   * A record that says "running" while no live engine runs it (the skiff process that did was
   * killed) is rewritten as exited, as Docker shows a container whose daemon died.
   */
  async reconcile(rec: ContainerRecord): Promise<ContainerRecord> {
    if ((rec.state !== 'running' && rec.state !== 'paused') || this.running.has(rec.id)) return rec;
    const owner = ownerOf(rec);
    if (ownerAlive(rec, this.self, this.running.has(rec.id), this.control)) return rec;
    const { owner: _o, pid: _p, execSocket: _x, ...runtimeData } = rec.runtimeData ?? {};
    const error = `the skiff process that ran it${owner?.pid ? ` (pid ${owner.pid})` : ''} ended while it was running`;
    return this.containers.update(rec.id, { state: 'exited', exitCode: 137, finishedAt: this.containers.now().toISOString(), exit: { oomKilled: false, signal: 'SIGKILL', error }, runtimeData, ...(rec.health ? { health: { ...rec.health, Status: 'unhealthy' as const } } : {}) });
  }

  async wait(ref: string): Promise<ExitStatus> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    if (r) return r.exited;
    if (rec.state === 'running' || rec.state === 'paused') return remoteWait(this.remote, rec);
    if (rec.state === 'exited' || rec.state === 'dead') {
      return { exitCode: rec.exitCode ?? 0, oomKilled: rec.exit?.oomKilled ?? false, ...(rec.exit?.signal ? { signal: rec.exit.signal } : {}), ...(rec.exit?.error ? { error: rec.exit.error } : {}) };
    }
    throw new SkiffError('CONFLICT', `container ${rec.name} is not running in this engine (state: ${rec.state})`);
  }

  async kill(ref: string, signal: string | number = 'SIGKILL'): Promise<void> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    if (!r && rec.state === 'running') return remoteKill(this.remote, rec, signal);
    if (!r) throw new SkiffError('CONFLICT', `cannot kill container ${rec.name}: container is not running`);
    await this.signalHere(r, rec.id, signal);
  }

  /** A signal to the process; a paused container is thawed after it, as Docker does, so it can act on it. */
  private async signalHere(r: Running, id: string, signal: string | number): Promise<void> {
    await r.proc.kill(signal);
    const rec = await this.containers.get(id).catch(() => undefined);
    if (rec) this.events.container(rec, 'kill', { signal: String(signalNumber(signal)) });
    if (rec?.state === 'paused') await freezeHere(this.containers, r.runtime, rec, false).catch(() => {});
  }

  /** SIGTERM (or the image's StopSignal), then SIGKILL after `timeout` seconds (default 10). */
  async stop(ref: string, timeout?: number, stopSignal?: string): Promise<ExitStatus | undefined> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    const seconds = timeout ?? rec.spec.stopTimeout;
    const signal = stopSignal ?? signalName(rec.spec.stopSignal);
    if (!r) {
      // Another skiff process runs it: the signals go through that process (control/remote.ts).
      if (rec.state !== 'running') return undefined;
      const status = await remoteStop(this.remote, rec, String(signal), seconds);
      this.events.container(rec, 'stop');
      return status;
    }
    await this.signalHere(r, rec.id, signal).catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((res) => { if (seconds >= 0) timer = setTimeout(() => res('timeout'), seconds * 1000); });
    const first = await Promise.race([r.exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') await this.signalHere(r, rec.id, 'SIGKILL').catch(() => {});
    const status = await r.exited;
    this.events.container(rec, 'stop');
    return status;
  }

  /** The engine changed a container's files itself (cp): its runtime, if it runs here, drops what it cached. */
  async filesChanged(id: string): Promise<void> {
    const r = this.running.get(id);
    if (r) await r.runtime.filesChanged?.(id);
  }

  /** `docker pause` (frozen) / `unpause`: here, or through the process that runs it. */
  async freeze(ref: string, frozen: boolean): Promise<ContainerRecord> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    let after: ContainerRecord;
    if (r) after = await this.freezeLocal(r, rec, frozen);
    else {
      if (rec.state !== 'running' && rec.state !== 'paused') throw new SkiffError('CONFLICT', `Container ${rec.id} is not running`);
      await (await reach(this.remote, rec)).freeze(frozen);
      after = await this.inspect(rec.id);
    }
    this.events.container(rec, frozen ? 'pause' : 'unpause');
    return after;
  }

  /** Pause/unpause here; a pause stops the healthcheck's probe under way (it would hang in the frozen cgroup). */
  private async freezeLocal(r: Running, rec: ContainerRecord, frozen: boolean): Promise<ContainerRecord> {
    const after = await freezeHere(this.containers, r.runtime, rec, frozen);
    if (frozen) await r.health?.paused();
    return after;
  }

  /**
   * The container's writable layer saved to the store: here, or by the process that runs it (its
   * live overlay holds writes newer than the store's), so a reader in this process sees them all.
   */
  async persistLayer(ref: string): Promise<void> {
    const rec = await this.inspect(ref);
    if (this.running.has(rec.id) || (rec.state !== 'running' && rec.state !== 'paused')) return;
    await (await reach(this.remote, rec)).persist();
  }

  /** A sample of a running container's resource use. */
  async stats(ref: string): Promise<ResourceStats> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    if (r) return statsHere(r.runtime, rec);
    if (rec.state !== 'running' && rec.state !== 'paused') throw new SkiffError('CONFLICT', `Container ${rec.id} is not running`);
    return (await reach(this.remote, rec)).stats();
  }

  /** `docker update`: a running container's limits now, and the record's for later starts. */
  async update(ref: string, limits: LimitUpdate): Promise<ContainerRecord> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    let after: ContainerRecord;
    if (r || (rec.state !== 'running' && rec.state !== 'paused')) after = await updateHere(this.containers, r?.runtime, rec, limits);
    else {
      await (await reach(this.remote, rec)).update(limits);
      after = await this.inspect(rec.id);
    }
    this.events.container(rec, 'update');
    return after;
  }

  async exec(ref: string, o: ExecOptions): Promise<RuntimeProcess> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    if (!r && rec.state === 'running') {
      const { io, cmd, env, workdir, user, tty, openStdin, consoleSize } = o;
      return remoteExec(this.remote, rec, {
        cmd, ...(env ? { env } : {}), ...(workdir ? { workdir } : {}), ...(user ? { user } : {}),
        ...(tty !== undefined ? { tty } : {}), ...(openStdin !== undefined ? { openStdin } : {}), ...(consoleSize ? { consoleSize } : {}),
      }, io ?? NO_IO);
    }
    if (!r) throw new SkiffError('CONFLICT', `container ${rec.name} is not running`);
    // Docker's exec events name the command in their action ("exec_start: sh -c ...").
    const execID = randomHex();
    const cmd = o.cmd.join(' ');
    this.events.container(rec, `exec_create: ${cmd}`, { execID });
    const proc = await r.runtime.exec({
      id: rec.id, args: o.cmd, tty: o.tty ?? false, openStdin: o.openStdin ?? false,
      io: o.io ?? NO_IO,
      ...(o.env ? { env: o.env } : {}), ...(o.workdir ? { workdir: o.workdir } : {}), ...(o.user ? { user: o.user } : {}),
      ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
    });
    this.events.container(rec, `exec_start: ${cmd}`, { execID });
    void proc.wait().then((s) => this.events.container(rec, 'exec_die', { execID, exitCode: String(s.exitCode) }), () => {});
    return proc;
  }

  async logs(ref: string): Promise<LogEntry[]> {
    const rec = await this.containers.get(ref);
    const r = this.running.get(rec.id);
    if (r) return [...r.logs.entries];
    // Another process runs it: its live log, else what it last stored.
    const live = rec.state === 'running' ? await remoteLogs(this.remote, rec).catch(() => undefined) : undefined;
    if (live) return live.entries;
    return this.containers.readLog(rec);
  }

  /**
   * `logs -f`: the log so far, then each new entry (`onEntry`) until the container exits, here or
   * in the process that runs it (`done`).
   */
  async followLogs(ref: string, onEntry: (e: LogEntry) => void): Promise<{ entries: LogEntry[]; done: Promise<void> }> {
    const rec = await this.inspect(ref);
    const r = this.running.get(rec.id);
    if (r) {
      r.logs.listeners.add(onEntry);
      const done = r.exited.then(() => {}, () => {}).finally(() => r.logs.listeners.delete(onEntry));
      return { entries: [...r.logs.entries], done };
    }
    const live = rec.state === 'running' ? await remoteLogs(this.remote, rec, onEntry).catch(() => undefined) : undefined;
    return live ?? { entries: await this.logs(rec.id), done: Promise.resolve() };
  }

  async shutdown(): Promise<void> {
    for (const [id, r] of this.running) await r.proc.kill('SIGKILL').catch(() => {}), void id;
    await Promise.allSettled([...this.running.values()].map((r) => r.exited));
    await this.runtimes.shutdown();
    this.control?.close();
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
      if (chunk.length) proc.writeStdin(chunk);
    }
    if (!ended) proc.closeStdin();
  })().catch(() => {});
}

/** Docker's kill event gives the signal as a number. */
function signalNumber(signal: string | number): number | string {
  try {
    return parseSignal(signal);
  } catch {
    return signal;
  }
}

function randomHex(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
