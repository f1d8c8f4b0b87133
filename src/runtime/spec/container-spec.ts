/**
 * A container's spec: everything `docker create` fixes about the container, resolved ONCE from the
 * image config and the run options by Docker's rules (process.ts for argv/env/cwd, options.ts for
 * the daemon's checks), with Docker's errors at create time. The engine stores it on the container
 * record, as containerd stores the OCI spec; runtimes turn it into what they run (the VM runtime
 * into config.json through container.ts, the WASI runtime into argv/env/preopens) and never look at
 * the image config again.
 *
 * Two things stay for start, because they depend on the container's filesystem as it is then (as
 * runc/crun resolve them at exec time): the user name's uid/gid/groups through /etc/passwd and
 * /etc/group, and HOME when the env has none.
 */
import { SkiffError } from '../../errors.ts';
import { DEFAULT_STOP_TIMEOUT, validateRunOptions, type RunOptions } from './options.ts';
import { configEnv, imageVolumes, resolveWorkdir, splitArgs, type ImageRunConfig } from './process.ts';
import { parseSignal, type SignalNumber } from './signals.ts';
import type { Bytes, NanoCpus } from './types.ts';
import type { Propagation, TmpfsSpec } from './volumes.ts';
import { resolveNetworkOptions, type SpecNetwork } from './network.ts';
import { mergeExposedPorts, resolvePorts, type PortMapping } from './ports.ts';
import { resolveHealthcheck, type SpecHealthcheck } from './health.ts';

/** A volume or host directory in the container, in mount order. Every volume has its name by now. */
export type SpecMount =
  | { type: 'volume'; name: string; destination: string; readOnly: boolean; anonymous: boolean; copyData: boolean }
  | { type: 'bind'; source: string; destination: string; readOnly: boolean; propagation: Propagation };

export interface ContainerSpec {
  /** argv: Entrypoint + Cmd after Docker's merge; never empty. */
  args: string[];
  /** How `args` splits, as Docker records it (inspect's Entrypoint and Cmd, `ps`, commit history). */
  entrypoint: string[];
  cmd: string[];
  /**
   * Docker's Config.Env: `-e` over the image's Env. The process gets it over PATH, HOSTNAME and
   * TERM defaults (process.ts daemonEnv, as Docker's daemon adds them at start) and HOME.
   */
  env: string[];
  /** Absolute and clean. */
  cwd: string;
  /** `user[:group]` as given (or the image's User); "" is root. Resolved at start. */
  user: string;
  /** `--group-add`: names or gids, resolved at start. */
  groupAdd: string[];
  hostname: string;
  tty: boolean;
  openStdin: boolean;
  /** `-v` mounts, then the image's Volumes not covered by `-v`/`--tmpfs` (anonymous volumes). */
  mounts: SpecMount[];
  tmpfs: TmpfsSpec[];
  /** `storageSize`: `--storage-opt size=` (the writable layer's byte quota); absent: the engine's default. */
  limits: { memory?: Bytes; memorySwap?: Bytes | -1; cpus?: NanoCpus; pidsLimit?: number; storageSize?: Bytes };
  security: {
    readOnlyRootfs: boolean;
    capAdd: string[];
    capDrop: string[];
    seccomp: 'default' | 'unconfined';
    /** Absent: the runtime's default (skiff: true). */
    noNewPrivileges?: boolean;
  };
  /** `--init`: a reaping init as PID 1. */
  init: boolean;
  stopSignal: SignalNumber;
  /** Seconds between the stop signal and SIGKILL. */
  stopTimeout: number;
  /**
   * `--network`, aliases, `--ip`, `--add-host`, `--dns`: network.ts. Absent (records from before
   * networks): loopback only. Endpoints get their addresses from the engine (engine/networks.ts).
   */
  network?: SpecNetwork;
  /** `-p` and `-P` (ports.ts); absent: nothing published. */
  ports?: PortMapping[];
  /**
   * Docker's Config.ExposedPorts ("5432/tcp"): the image's EXPOSE, `--expose` and the published
   * ports (ports.ts mergeExposedPorts); what a legacy link's variables list. Absent: none (or a
   * record from before it was kept).
   */
  exposedPorts?: string[];
  /** The image's HEALTHCHECK merged with `--health-*` (health.ts); absent: none configured. */
  healthcheck?: SpecHealthcheck;
}

export interface ResolveSpecOptions {
  /** Container id: the default hostname is its first 12 characters, as Docker's. */
  id: string;
  image: ImageRunConfig;
  run?: RunOptions;
  /** Names anonymous volumes; default 64 random hex digits, as Docker. */
  anonymousVolumeName?: (destination: string) => string;
  /** CPUs the runtime has (the upper bound of `--cpus`); default 1. */
  availableCpus?: number;
}

export const SIGTERM = 15;

function randomVolumeName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The one place the image config and the run options are merged. Throws INVALID_ARGUMENT. */
export function resolveContainerSpec(o: ResolveSpecOptions): ContainerSpec {
  const run = o.run ?? {};
  validateRunOptions(run, o.availableCpus === undefined ? {} : { availableCpus: o.availableCpus });
  const hostname = run.hostname || o.id.slice(0, 12);
  const { entrypoint, cmd } = splitArgs(o.image, run);
  const nameFor = o.anonymousVolumeName ?? randomVolumeName;
  const mounts: SpecMount[] = (run.volumes ?? []).map((v) => v.type === 'bind'
    ? { type: 'bind', source: v.source, destination: v.destination, readOnly: v.readOnly, propagation: v.propagation }
    : { type: 'volume', name: v.name ?? nameFor(v.destination), destination: v.destination, readOnly: v.readOnly, anonymous: v.name === undefined, copyData: v.copyData });
  const covered = [...mounts.map((m) => m.destination), ...(run.tmpfs ?? []).map((t) => t.destination)];
  for (const destination of imageVolumes(o.image, covered)) {
    mounts.push({ type: 'volume', name: nameFor(destination), destination, readOnly: false, anonymous: true, copyData: true });
  }
  let stopSignal = run.stopSignal ?? SIGTERM;
  if (run.stopSignal === undefined && o.image.StopSignal) {
    try {
      stopSignal = parseSignal(o.image.StopSignal);
    } catch (err) {
      throw SkiffError.wrap(err, 'image config StopSignal');
    }
  }
  // -P publishes `--expose` ports too: Docker's Config.ExposedPorts holds both.
  const exposed = mergeExposedPorts(o.image.ExposedPorts ?? undefined, run.expose ?? [], []);
  const ports = (run.publish?.length || run.publishAll)
    ? resolvePorts({ publish: run.publish, publishAll: run.publishAll, exposed: Object.fromEntries(exposed.map((k) => [k, {}])) })
    : undefined;
  const exposedPorts = mergeExposedPorts(o.image.ExposedPorts ?? undefined, run.expose ?? [], ports ?? []);
  const healthcheck = resolveHealthcheck(o.image.Healthcheck ?? undefined, run.healthcheck, o.image.Shell);
  return {
    args: [...entrypoint, ...cmd], entrypoint, cmd,
    env: configEnv(o.image, run),
    cwd: resolveWorkdir(o.image, run),
    user: run.user !== undefined && run.user !== '' ? run.user : o.image.User ?? '',
    groupAdd: [...(run.groupAdd ?? [])],
    hostname,
    tty: run.tty === true,
    openStdin: run.interactive === true,
    mounts,
    tmpfs: (run.tmpfs ?? []).map((t) => ({ destination: t.destination, options: [...t.options] })),
    limits: {
      ...(run.memory !== undefined ? { memory: run.memory } : {}),
      ...(run.memorySwap !== undefined ? { memorySwap: run.memorySwap } : {}),
      ...(run.cpus !== undefined ? { cpus: run.cpus } : {}),
      ...(run.pidsLimit !== undefined ? { pidsLimit: run.pidsLimit } : {}),
      ...(run.storageSize ? { storageSize: run.storageSize } : {}),
    },
    security: {
      readOnlyRootfs: run.readOnly === true,
      capAdd: [...(run.capAdd ?? [])],
      capDrop: [...(run.capDrop ?? [])],
      seccomp: run.seccomp ?? 'default',
      ...(run.noNewPrivileges !== undefined ? { noNewPrivileges: run.noNewPrivileges } : {}),
    },
    init: run.init === true,
    stopSignal,
    stopTimeout: run.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
    network: resolveNetworkOptions(run),
    ...(healthcheck ? { healthcheck } : {}),
    ...(ports ? { ports } : {}),
    ...(exposedPorts.length ? { exposedPorts } : {}),
  };
}
