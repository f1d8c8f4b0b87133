/**
 * What every lifecycle operation works over: the parts it was given (stores, runtimes, control
 * plane, events), the containers this engine runs (`running`), and the one way a record is read
 * (`inspectContainer`: a record left "running" by a skiff process that is gone reads as exited).
 * The operations (container-start.ts, container-signals.ts, container-remove.ts, ...) each take
 * this core; none of them imports the Lifecycle class (lifecycle.ts), which only assembles them.
 */
import type { FileSystem } from '../fs/types.ts';
import type { ContainerRuntime, ExitStatus, ProcessIO, RuntimeNetwork, RuntimeProcess } from '../runtime/types.ts';
import type { ContainerStore } from './container-store.ts';
import type { RemoteContext } from './control/remote.ts';
import type { ControlPlane, Owner } from './control/types.ts';
import { NO_EVENTS, type EventRecorder } from './events/recorder.ts';
import type { HealthMonitor } from './health.ts';
import type { ImageStore } from './image-store.ts';
import type { ContainerLog } from './logs.ts';
import { localOwner, ownerAlive, ownerOf } from './owner.ts';
import type { RuntimePool } from './runtime-pool.ts';
import type { ContainerRecord } from './types.ts';

/** Opens a directory of the host for a bind mount (src/node.ts); absent where there is none (browsers). */
export type HostDirFactory = (o: { path: string; readOnly: boolean }) => FileSystem;

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

/** A container this engine runs. */
export interface Running {
  proc: RuntimeProcess;
  runtime: ContainerRuntime;
  exited: Promise<ExitStatus>;
  logs: ContainerLog;
  /** Attached outputs beyond the starter's (`attach`). */
  outputs: Set<ProcessIO>;
  /** Its healthcheck's probes (engine/health.ts), while it runs. */
  health?: HealthMonitor;
}

export interface LifecycleCore {
  /** The containers this engine runs (its VM or worker is in this process/page), by id. */
  readonly running: Map<string, Running>;
  readonly containers: ContainerStore;
  readonly images: ImageStore;
  readonly runtimes: RuntimePool;
  readonly hostDir: HostDirFactory | undefined;
  readonly control: ControlPlane | undefined;
  readonly networkFor: LifecycleParts['networkFor'];
  readonly events: EventRecorder;
  /** This engine's identity on the records of the containers it runs. */
  readonly self: Owner;
  /** How other processes' containers are reached (see control/remote.ts). */
  readonly remote: RemoteContext;
}

export function lifecycleCore(parts: LifecycleParts): LifecycleCore {
  const core: LifecycleCore = {
    running: new Map(),
    containers: parts.containers,
    images: parts.images,
    runtimes: parts.runtimes,
    hostDir: parts.hostDir,
    control: parts.control,
    networkFor: parts.networkFor,
    events: parts.events ?? NO_EVENTS,
    self: parts.control?.self ?? localOwner(),
    remote: { plane: parts.control, reread: (id) => inspectContainer(core, id) },
  };
  return core;
}

export const NO_IO: ProcessIO = { onStdout: () => {}, onStderr: () => {} };

/** The record; one left "running" by a skiff process that is gone reads as exited. */
export async function inspectContainer(core: LifecycleCore, ref: string): Promise<ContainerRecord> {
  return reconcile(core, await core.containers.get(ref));
}

/**
 * A record that says "running" while no live engine runs it (the skiff process that did was
 * killed) is rewritten as exited, as Docker shows a container whose daemon died.
 */
export async function reconcile(core: LifecycleCore, rec: ContainerRecord): Promise<ContainerRecord> {
  if ((rec.state !== 'running' && rec.state !== 'paused') || core.running.has(rec.id)) return rec;
  const owner = ownerOf(rec);
  if (ownerAlive(rec, core.self, core.running.has(rec.id), core.control)) return rec;
  const { owner: _o, pid: _p, execSocket: _x, ...runtimeData } = rec.runtimeData ?? {};
  const error = `the skiff process that ran it${owner?.pid ? ` (pid ${owner.pid})` : ''} ended while it was running`;
  return core.containers.update(rec.id, { state: 'exited', exitCode: 137, finishedAt: core.containers.now().toISOString(), exit: { oomKilled: false, signal: 'SIGKILL', error }, runtimeData, ...(rec.health ? { health: { ...rec.health, Status: 'unhealthy' as const } } : {}) });
}
