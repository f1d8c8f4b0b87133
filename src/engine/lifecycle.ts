/**
 * The container lifecycle over the runtime contract (runtime/types.ts): the engine owns the record,
 * the overlay, volumes and logs; a `ContainerRuntime` ('vm' or 'wasi', created on first use) only
 * runs the process. start → running; when the process ends, its runtime releases it, the writable
 * layer, volumes and logs are saved, the record says how it ended, and `--rm` removes it.
 */
import { SkiffError } from '../errors.ts';
import type { FileSystem, FsNode } from '../fs/types.ts';
import { signalName } from '../runtime/spec/signals.ts';
import type { ContainerRuntime, ExitStatus, MountedVolume, ProcessIO, RuntimeName, RuntimeProcess } from '../runtime/types.ts';
import type { Engine, HostDirFactory } from './engine.ts';
import { ContainerLog, readLogs, saveLogs, type LogEntry } from './logs.ts';
import { reach, remoteExec, remoteKill, remoteLogs, remoteStop, remoteWait, type RemoteContext } from './control/remote.ts';
import type { ControlPlane, ControlTarget, LogRecord } from './control/types.ts';
import { startFailureExitCode } from '../runtime/start-failure.ts';
import { localOwner, ownerAlive, ownerOf } from './owner.ts';
import type { ContainerRecord, MountRecord } from './types.ts';

export type RuntimeFactories = Partial<Record<RuntimeName, () => ContainerRuntime | Promise<ContainerRuntime>>>;

export interface StartOptions {
  io?: ProcessIO;
  consoleSize?: { cols: number; rows: number };
}

export interface ExecOptions extends StartOptions {
  cmd: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  tty?: boolean;
  openStdin?: boolean;
}

export { decodeLogs, type LogEntry } from './logs.ts';

/** Copy the tree at `path` in `from` (if it is a directory) into the root of `to`. */
export function copyInto(from: FileSystem, path: string, to: FileSystem): void {
  let src: FsNode;
  try {
    src = from.root();
    for (const part of path.split('/').filter(Boolean)) src = from.lookup(src, part);
  } catch {
    return; // nothing at the mount point
  }
  if (from.stat(src).kind !== 'directory') return;
  const copy = (s: FsNode, d: FsNode): void => {
    for (const ent of from.readdir(s)) {
      if (ent.name === '.' || ent.name === '..') continue;
      const n = from.lookup(s, ent.name);
      const st = from.stat(n);
      const attr = { mode: st.mode, uid: st.uid, gid: st.gid };
      let made: FsNode;
      if (st.kind === 'directory') {
        made = to.mkdir(d, ent.name, attr);
        copy(n, made);
      } else if (st.kind === 'symlink') {
        made = to.symlink(d, ent.name, from.readlink(n), { uid: st.uid, gid: st.gid });
        continue;
      } else if (st.kind === 'file') {
        made = to.create(d, ent.name, attr);
        for (let off = 0; off < st.size; off += 1 << 20) to.write(made, off, from.read(n, off, Math.min(1 << 20, st.size - off)));
      } else {
        made = to.mknod(d, ent.name, st.kind, st.rdevMajor, st.rdevMinor, attr);
      }
      to.setattr(made, { mtimeMs: st.mtimeMs });
    }
  };
  const rootSt = from.stat(src);
  to.setattr(to.root(), { mode: rootSt.mode, uid: rootSt.uid, gid: rootSt.gid });
  copy(src, to.root());
}

interface Running {
  proc: RuntimeProcess;
  runtime: ContainerRuntime;
  exited: Promise<ExitStatus>;
  logs: ContainerLog;
}

export class Lifecycle {
  private readonly runtimes = new Map<RuntimeName, Promise<ContainerRuntime>>();
  private readonly running = new Map<string, Running>();

  /** This engine's identity on the records of the containers it runs. */
  private readonly self;
  /** How other processes' containers are reached (see control/remote.ts). */
  private readonly remote: RemoteContext;

  constructor(private readonly engine: Engine, private readonly factories: RuntimeFactories, private readonly hostDir?: HostDirFactory, private readonly control?: ControlPlane) {
    this.self = control?.self ?? localOwner();
    this.remote = { plane: control, reread: async (id) => this.reconcile(await this.engine.inspectContainer({ id })) };
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
      signal: (id, sig) => get(id).proc.kill(/^\d+$/.test(sig) ? Number(sig) : sig),
      resize: (id, size) => get(id).proc.resize(size),
      wait: (id) => get(id).exited,
      exec: (id, spec, io) => this.exec(id, { ...spec, io }),
      logs: (id, onEntry?: (e: LogRecord) => void) => {
        const logs = get(id).logs;
        if (onEntry) logs.listeners.add(onEntry);
        return { entries: [...logs.entries], unsubscribe: () => void (onEntry && logs.listeners.delete(onEntry)) };
      },
    };
  }

  runtime(name: string): Promise<ContainerRuntime> {
    const key = name as RuntimeName;
    let rt = this.runtimes.get(key);
    if (!rt) {
      const make = this.factories[key];
      if (!make) throw new SkiffError('UNSUPPORTED', `no "${name}" runtime in this engine (it has: ${Object.keys(this.factories).join(', ') || 'none'})`);
      rt = Promise.resolve().then(make);
      this.runtimes.set(key, rt);
      rt.catch(() => this.runtimes.delete(key));
    }
    return rt;
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  async start(ref: string, o: StartOptions = {}): Promise<RuntimeProcess> {
    const e = this.engine;
    const rec = await e.inspectContainer({ id: ref });
    if (this.running.has(rec.id)) throw new SkiffError('CONFLICT', `container ${rec.name} is already running`);
    const runtime = await this.runtime(rec.runtime);
    const rootfs = await e.containerFs({ id: rec.id });
    const volumes: MountedVolume[] = [];
    for (const m of rec.spec.mounts) {
      const fs = await this.mountFs(m);
      // Docker fills a new, empty volume with what the image has at the mount point.
      if (m.type === 'volume' && m.copyData && !(await e.inspectVolume({ name: m.name })).data && fs.readdir(fs.root()).length === 0) {
        copyInto(rootfs, m.destination, fs);
      }
      volumes.push({ source: m.type === 'bind' ? m.source : m.name, destination: m.destination, readOnly: m.readOnly, fs });
    }
    // Like Docker, a restarted container's log continues the earlier runs'.
    const logs = await ContainerLog.open(e.ctx, rec);
    const io: ProcessIO = {
      onStdout: (d) => { logs.push('stdout', d); o.io?.onStdout(d); },
      onStderr: (d) => { logs.push('stderr', d); o.io?.onStderr(d); },
    };
    let proc: RuntimeProcess;
    try {
      proc = await runtime.start({ id: rec.id, rootfs, spec: rec.spec, volumes, io, ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}) });
    } catch (err) {
      await logs.close().catch(() => {});
      const msg = err instanceof Error ? err.message : String(err);
      await e.updateContainer({ id: rec.id, patch: { state: 'exited', exitCode: startFailureExitCode(err), finishedAt: e.ctx.now().toISOString(), exit: { oomKilled: false, error: msg } } }).catch(() => {});
      // docker run --rm removes a container that could not start, too.
      if (rec.autoRemove) await this.removeWithVolumes(rec).catch(() => {});
      throw SkiffError.wrap(err, `starting container ${rec.name}`);
    }
    const pid = (proc as { pid?: number }).pid;
    // In the map before the record says "running" (so no reconcile sees it orphaned), and the
    // exit handled only after that write (so a quick exit's record is not overwritten).
    let release!: () => void;
    const recorded = new Promise<void>((r) => (release = r));
    const exited = recorded.then(() => proc.wait()).then((status) => this.finish(rec, runtime, status, logs), async (err: unknown) => {
      await this.finish(rec, runtime, { exitCode: 125, oomKilled: false, error: String(err) }, logs);
      throw err;
    });
    this.running.set(rec.id, { proc, runtime, exited, logs });
    // While it runs, the log saves what is new every ~250 ms (logs.ts): `logs` from another process sees it.
    try {
      // Reachable from other processes (stop, kill, exec, logs) before the record says so.
      const owner = this.control ? await this.control.serve(this.controlTarget()).catch(() => this.self) : this.self;
      await e.updateContainer({
        id: rec.id,
        patch: { state: 'running', startedAt: e.ctx.now().toISOString(), runtimeData: { ...rec.runtimeData, owner, ...(pid ? { pid } : {}) } },
      });
    } finally {
      release();
    }
    return { ...proc, wait: () => exited };
  }

  private async mountFs(m: MountRecord): Promise<FileSystem> {
    if (m.type === 'volume') return this.engine.volumeFs({ name: m.name });
    if (!this.hostDir) throw new SkiffError('UNSUPPORTED', `bind mount of ${m.source}: there is no host directory to mount here`);
    return this.hostDir({ path: m.source, readOnly: m.readOnly });
  }

  /** After the process ended: release, save layer + volumes + logs, record the exit, --rm. */
  private async finish(rec: ContainerRecord, runtime: ContainerRuntime, status: ExitStatus, logs: ContainerLog): Promise<ExitStatus> {
    const e = this.engine;
    try {
      await runtime.release(rec.id).catch(() => {});
      await e.persistContainer({ id: rec.id });
      for (const m of rec.spec.mounts) if (m.type === 'volume') await e.persistVolume({ name: m.name }).catch(() => {});
      const exit = { oomKilled: status.oomKilled, ...(status.signal ? { signal: status.signal } : {}), ...(status.error ? { error: status.error } : {}) };
      await saveLogs(e.ctx, rec.id, logs, (cur) => {
        const { owner: _o, pid: _p, execSocket: _x, ...runtimeData } = cur.runtimeData ?? {};
        return { state: 'exited', exitCode: status.exitCode, finishedAt: e.ctx.now().toISOString(), exit, runtimeData };
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
    await this.engine.removeContainer({ id: rec.id, force: true });
    for (const m of rec.spec.mounts) if (m.type === 'volume' && m.anonymous) await this.engine.removeVolume({ name: m.name }).catch(() => {});
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
    return this.engine.updateContainer({
      id: rec.id,
      patch: { state: 'exited', exitCode: 137, finishedAt: this.engine.ctx.now().toISOString(), exit: { oomKilled: false, signal: 'SIGKILL', error }, runtimeData },
    });
  }

  async wait(ref: string): Promise<ExitStatus> {
    const rec = await this.reconcile(await this.engine.inspectContainer({ id: ref }));
    const r = this.running.get(rec.id);
    if (r) return r.exited;
    if (rec.state === 'running' || rec.state === 'paused') return remoteWait(this.remote, rec);
    if (rec.state === 'exited' || rec.state === 'dead') {
      return { exitCode: rec.exitCode ?? 0, oomKilled: rec.exit?.oomKilled ?? false, ...(rec.exit?.signal ? { signal: rec.exit.signal } : {}), ...(rec.exit?.error ? { error: rec.exit.error } : {}) };
    }
    throw new SkiffError('CONFLICT', `container ${rec.name} is not running in this engine (state: ${rec.state})`);
  }

  async kill(ref: string, signal: string | number = 'SIGKILL'): Promise<void> {
    const rec = await this.reconcile(await this.engine.inspectContainer({ id: ref }));
    const r = this.running.get(rec.id);
    if (!r && rec.state === 'running') return remoteKill(this.remote, rec, signal);
    if (!r) throw new SkiffError('CONFLICT', `cannot kill container ${rec.name}: container is not running`);
    await r.proc.kill(signal);
  }

  /** The TTY size of the container's main process (`docker container resize`), here or through its owner. */
  async resize(ref: string, size: { cols: number; rows: number }): Promise<void> {
    const rec = await this.reconcile(await this.engine.inspectContainer({ id: ref }));
    const r = this.running.get(rec.id);
    if (r) return r.proc.resize(size);
    if (rec.state !== 'running') throw new SkiffError('CONFLICT', `container ${rec.name} is not running`);
    await (await reach(this.remote, rec)).resize(size);
  }

  /** SIGTERM (or the image's StopSignal), then SIGKILL after `timeout` seconds (default 10). */
  async stop(ref: string, timeout?: number, stopSignal?: string): Promise<ExitStatus | undefined> {
    const rec = await this.reconcile(await this.engine.inspectContainer({ id: ref }));
    const r = this.running.get(rec.id);
    const seconds = timeout ?? rec.spec.stopTimeout;
    const signal = stopSignal ?? signalName(rec.spec.stopSignal);
    if (!r) {
      // Another skiff process runs it: the signals go through that process (control/remote.ts).
      return rec.state === 'running' ? remoteStop(this.remote, rec, String(signal), seconds) : undefined;
    }
    await r.proc.kill(signal).catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((res) => { if (seconds >= 0) timer = setTimeout(() => res('timeout'), seconds * 1000); });
    const first = await Promise.race([r.exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') await r.proc.kill('SIGKILL').catch(() => {});
    return r.exited;
  }

  async exec(ref: string, o: ExecOptions): Promise<RuntimeProcess> {
    const rec = await this.reconcile(await this.engine.inspectContainer({ id: ref }));
    const r = this.running.get(rec.id);
    if (!r && rec.state === 'running') {
      const { io, cmd, env, workdir, user, tty, openStdin, consoleSize } = o;
      return remoteExec(this.remote, rec, {
        cmd, ...(env ? { env } : {}), ...(workdir ? { workdir } : {}), ...(user ? { user } : {}),
        ...(tty !== undefined ? { tty } : {}), ...(openStdin !== undefined ? { openStdin } : {}), ...(consoleSize ? { consoleSize } : {}),
      }, io ?? { onStdout: () => {}, onStderr: () => {} });
    }
    if (!r) throw new SkiffError('CONFLICT', `container ${rec.name} is not running`);
    return r.runtime.exec({
      id: rec.id, args: o.cmd, tty: o.tty ?? false, openStdin: o.openStdin ?? false,
      io: o.io ?? { onStdout: () => {}, onStderr: () => {} },
      ...(o.env ? { env: o.env } : {}), ...(o.workdir ? { workdir: o.workdir } : {}), ...(o.user ? { user: o.user } : {}),
      ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
    });
  }

  async logs(ref: string): Promise<LogEntry[]> {
    const rec = await this.engine.inspectContainer({ id: ref });
    const r = this.running.get(rec.id);
    if (r) return [...r.logs.entries];
    // Another process runs it: its live log, else what it last stored.
    const live = rec.state === 'running' ? await remoteLogs(this.remote, rec).catch(() => undefined) : undefined;
    if (live) return live.entries;
    return readLogs(this.engine.ctx, rec);
  }

  /**
   * `logs -f`: the log so far, then each new entry (`onEntry`) until the container exits, here or
   * in the process that runs it (`done`).
   */
  async followLogs(ref: string, onEntry: (e: LogEntry) => void): Promise<{ entries: LogEntry[]; done: Promise<void> }> {
    const rec = await this.reconcile(await this.engine.inspectContainer({ id: ref }));
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
    for (const rt of this.runtimes.values()) await (await rt).shutdown().catch(() => {});
    this.runtimes.clear();
    this.control?.close();
  }
}

