/**
 * A container's run on its runtime, from start to the recorded exit: `start` opens its mounts and
 * log, hands `{rootfs, spec, volumes, io}` to the runtime, enters it in the running map before the
 * record says "running" (and serves it on the control channel), and starts its healthcheck; when
 * the process ends, `finish` releases it, saves the writable layer, volumes and log, records how it
 * ended, and `--rm` removes it. A start that fails is recorded as an exit too.
 */
import { SkiffError } from '../errors.ts';
import type { FileSystem } from '../fs/types.ts';
import { startFailureExitCode } from '../runtime/start-failure.ts';
import type { ContainerRuntime, ExitStatus, MountedVolume, ProcessIO, RuntimeProcess } from '../runtime/types.ts';
import { removeWithVolumes } from './container-remove.ts';
import { HealthMonitor } from './health.ts';
import { controlTarget } from './lifecycle-control.ts';
import { inspectContainer, type LifecycleCore } from './lifecycle-core.ts';
import type { StartOptions } from './lifecycle-options.ts';
import type { ContainerLog } from './logs.ts';
import type { ContainerRecord, MountRecord } from './types.ts';
import { copyInto } from './volume-seed.ts';

/** Starts the container's process on its runtime; `wait()` resolves after the exit is recorded. */
export async function startContainer(core: LifecycleCore, ref: string, o: StartOptions = {}): Promise<RuntimeProcess> {
  const store = core.containers;
  const rec = await inspectContainer(core, ref);
  if (core.running.has(rec.id)) throw new SkiffError('CONFLICT', `container ${rec.name} is already running`);
  const runtime = await core.runtimes.get(rec.runtime);
  const rootfs = await store.fs(rec.id);
  const volumes: MountedVolume[] = [];
  for (const m of rec.spec.mounts) {
    const fs = await mountFs(core, m);
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
    const network = await core.networkFor?.(rec, (id) => core.running.has(id));
    proc = await runtime.start({
      id: rec.id, rootfs, spec: rec.spec, volumes, io, ...(network ? { network } : {}), ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
      ...(rec.spec.ports?.length ? { ports: rec.spec.ports } : {}), ...(o.secrets ? { secrets: o.secrets } : {}),
    });
  } catch (err) {
    await logs.close().catch(() => {});
    const msg = err instanceof Error ? err.message : String(err);
    await store.update(rec.id, { state: 'exited', exitCode: startFailureExitCode(err), finishedAt: store.now().toISOString(), exit: { oomKilled: false, error: msg } }).catch(() => {});
    // docker run --rm removes a container that could not start, too.
    if (rec.autoRemove) await removeWithVolumes(core, rec).catch(() => {});
    throw SkiffError.wrap(err, `starting container ${rec.name}`);
  }
  const pid = (proc as { pid?: number }).pid;
  // The published ports as bound (a host port 0 became a real one): `port` and `ps` read them.
  const ports = (proc as { ports?: unknown[] }).ports;
  // In the map before the record says "running" (so no reconcile sees it orphaned), and the
  // exit handled only after that write (so a quick exit's record is not overwritten).
  let release!: () => void;
  const recorded = new Promise<void>((r) => (release = r));
  const exited = recorded.then(() => proc.wait()).then((status) => finish(core, rec, runtime, status, logs), async (err: unknown) => {
    await finish(core, rec, runtime, { exitCode: 125, oomKilled: false, error: String(err) }, logs);
    throw err;
  });
  core.running.set(rec.id, { proc, runtime, exited, logs, outputs });
  // While it runs, the log saves what is new every ~250 ms (logs.ts): `logs` from another process sees it.
  try {
    // Reachable from other processes (stop, kill, exec, logs) before the record says so.
    const owner = core.control ? await core.control.serve(controlTarget(core)).catch(() => core.self) : core.self;
    // Reported before the record says running: whoever waits for that (a restart) reports after.
    attachments(core, await store.get(rec.id).catch(() => rec), 'mount', 'connect');
    core.events.container(rec, 'start');
    // A healthcheck starts over at each start (Docker's initHealthMonitor); its log carries on.
    const probe = rec.spec.healthcheck?.probe;
    const now = await store.update(rec.id, (cur) => ({
      state: 'running', startedAt: store.now().toISOString(), runtimeData: { ...cur.runtimeData, owner, ...(pid ? { pid } : {}), ports: ports ?? [] },
      ...(probe ? { health: { Status: 'starting' as const, FailingStreak: 0, Log: cur.health?.Log ?? [] } } : {}),
    }));
    const entry = core.running.get(rec.id);
    if (probe && entry) entry.health = monitorHealth(core, now, runtime, probe);
  } finally {
    release();
  }
  return { ...proc, wait: () => exited };
}

async function mountFs(core: LifecycleCore, m: MountRecord): Promise<FileSystem> {
  if (m.type === 'volume') return core.containers.volumeFs(m.name);
  if (!core.hostDir) throw new SkiffError('UNSUPPORTED', `bind mount of ${m.source}: there is no host directory to mount here`);
  return core.hostDir({ path: m.source, readOnly: m.readOnly });
}

/**
 * Docker's events for a container's volumes and networks as it starts (mount, connect) or ends
 * (unmount, disconnect).
 */
function attachments(core: LifecycleCore, rec: ContainerRecord, volume: 'mount' | 'unmount', network: 'connect' | 'disconnect'): void {
  for (const m of rec.spec.mounts) {
    if (m.type === 'volume') core.events.volume(volume, m.name, { container: rec.id, ...(volume === 'mount' ? { destination: m.destination, propagation: '', 'read/write': String(!m.readOnly) } : {}) });
  }
  // A wasm module has no network to connect (runtime/spec/network.ts refuses one).
  for (const [name, e] of Object.entries(rec.runtime === 'wasi' ? {} : rec.spec.network?.endpoints ?? {})) {
    if (e.networkId) core.events.network(network, { id: e.networkId, name, driver: name === 'host' || name === 'none' ? name : 'bridge' }, { container: rec.id });
  }
}

/** The probes of a container this engine runs, through its runtime's exec, recorded on its record. */
function monitorHealth(core: LifecycleCore, rec: ContainerRecord, runtime: ContainerRuntime, probe: string[]): HealthMonitor {
  const store = core.containers;
  return new HealthMonitor({
    id: rec.id, healthcheck: { ...rec.spec.healthcheck!, probe }, startedAt: Date.parse(rec.startedAt ?? '') || Date.now(),
    exec: (args, io) => runtime.exec({ id: rec.id, args, tty: false, openStdin: false, io }),
    read: () => store.get(rec.id).catch(() => undefined),
    update: (next) => store.update(rec.id, (cur) => {
      const health = next(cur);
      return health ? { health } : {};
    }).catch(() => undefined),
    event: (action, attributes) => core.events.container(rec, action, attributes),
  });
}

/** After the process ended: release, save layer + volumes + logs, record the exit, --rm. */
async function finish(core: LifecycleCore, rec: ContainerRecord, runtime: ContainerRuntime, status: ExitStatus, logs: ContainerLog): Promise<ExitStatus> {
  const store = core.containers;
  try {
    // No probe outlives the process or writes after the exit is recorded.
    await core.running.get(rec.id)?.health?.stop();
    await runtime.release(rec.id).catch(() => {});
    await store.persist(rec.id);
    for (const m of rec.spec.mounts) if (m.type === 'volume') await store.persistVolume(m.name).catch(() => {});
    const exit = { oomKilled: status.oomKilled, ...(status.signal ? { signal: status.signal } : {}), ...(status.error ? { error: status.error } : {}) };
    if (status.oomKilled) core.events.container(rec, 'oom');
    const started = Date.parse((await store.get(rec.id).catch(() => rec)).startedAt ?? '');
    const ran: Record<string, string> = Number.isNaN(started) ? {} : { execDuration: String(Math.max(0, Math.round((Date.now() - started) / 1000))) };
    core.events.container(rec, 'die', { exitCode: String(status.exitCode), ...ran });
    attachments(core, await store.get(rec.id).catch(() => rec), 'unmount', 'disconnect');
    await store.saveLog(rec.id, logs, (cur) => {
      const { owner: _o, pid: _p, execSocket: _x, ...runtimeData } = cur.runtimeData ?? {};
      // Docker marks a stopped monitor's container unhealthy ("for compatibility").
      return { state: 'exited', exitCode: status.exitCode, finishedAt: store.now().toISOString(), exit, runtimeData, ...(cur.health ? { health: { ...cur.health, Status: 'unhealthy' as const } } : {}) };
    });
    // No longer running: removal below must not wait for this very exit.
    core.running.delete(rec.id);
    if (rec.autoRemove) await removeWithVolumes(core, rec);
  } finally {
    core.running.delete(rec.id);
  }
  return status;
}

/** The outputs' promises (if any) as one: undefined when every output took the chunk at once. */
function backpressure(results: unknown[]): Promise<unknown> | undefined {
  const waiting = results.filter((r): r is Promise<unknown> => r instanceof Promise);
  return waiting.length === 0 ? undefined : waiting.length === 1 ? waiting[0] : Promise.all(waiting);
}
