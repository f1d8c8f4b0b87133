/**
 * One call from "image config + run options" to everything the guest needs for `crun run`: the
 * config.json object, the /etc files to write, the volumes to mount, and what stop/kill use.
 * The caller (engine) chooses guest paths; nothing here does IO except reading (and, with
 * `createWorkdir`, creating) directories in the container's own root `FileSystem`.
 */
import { SkiffError } from '../../errors.ts';
import type { FileSystem } from '../../fs/types.ts';
import { buildRuntimeSpec } from './bundle.ts';
import { buildEtcFiles, type EtcFiles } from './etc.ts';
import type { InitBinary } from './init.ts';
import type { BindMount } from './mounts.ts';
import { validateRunOptions, DEFAULT_STOP_TIMEOUT, type RunOptions } from './options.ts';
import { buildProcess, ensureWorkingDirectory, imageVolumes, type ImageRunConfig } from './process.ts';
import { parseSignal, type SignalNumber } from './signals.ts';
import type { OciSeccomp, RuntimeSpec } from './types.ts';
import type { ResolvedUser } from './users.ts';
import type { VolumeSpec } from './volumes.ts';

export const SIGTERM = 15;

export type GuestPaths = ContainerBundleOptions['paths'] & { bundle: string };

/**
 * A conventional guest layout (any other works): per container /run/skiff/c/<id>/{rootfs,etc},
 * named volumes at /run/skiff/volumes/<name>, host directories at /run/skiff/c/<id>/binds/<n>.
 */
export function defaultGuestPaths(id: string, options: { init?: string } = {}): GuestPaths {
  const base = `/run/skiff/c/${id}`;
  const binds = new Map<string, number>();
  const paths: GuestPaths = {
    bundle: base,
    root: `${base}/rootfs`,
    etcDir: `${base}/etc`,
    volume: (v) => {
      if (v.type === 'volume') {
        if (v.name === undefined) throw new SkiffError('INTERNAL', `anonymous volume at ${v.destination} has no name yet`);
        return `/run/skiff/volumes/${v.name}`;
      }
      const key = `${v.source}\0${v.destination}`;
      if (!binds.has(key)) binds.set(key, binds.size);
      return `${base}/binds/${binds.get(key)}`;
    },
  };
  if (options.init !== undefined) paths.init = options.init;
  return paths;
}

export interface ContainerBundleOptions {
  /** Container id; the default hostname is its first 12 characters, as Docker. */
  id: string;
  image: ImageRunConfig;
  run?: RunOptions;
  /** The container root (overlay): user names resolve through it; workdir is created in it. */
  rootfs?: FileSystem;
  /** Create a missing working directory in `rootfs` (Docker does). Default true with a rootfs. */
  createWorkdir?: boolean;
  /** Guest paths. */
  paths: {
    /** Where the container root is mounted in the guest. */
    root: string;
    /** Where the guest writes `etcFiles` (hosts, hostname, resolv.conf). */
    etcDir: string;
    /** Where the guest has mounted a volume or host directory (anonymous volumes are named by then). */
    volume: (spec: VolumeSpec) => string;
    /** The init binary for --init. */
    init?: string;
  };
  /** Names anonymous volumes (`-v /dest` and the image's Volumes); default 64 random hex digits, as Docker. */
  anonymousVolumeName?: (destination: string) => string;
  cgroupsPath?: string;
  availableCpus?: number;
  consoleSize?: { height: number; width: number };
  seccomp?: boolean | OciSeccomp;
  capAdd?: string[];
  capDrop?: string[];
}

export interface ContainerBundle {
  spec: RuntimeSpec;
  etcFiles: EtcFiles;
  hostname: string;
  user: ResolvedUser;
  /** Every volume to mount, in spec order: `-v` ones, then the image's Volumes; all named. */
  volumes: VolumeSpec[];
  stopSignal: SignalNumber;
  stopTimeout: number;
}

function randomVolumeName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function buildContainerBundle(o: ContainerBundleOptions): ContainerBundle {
  const run = o.run ?? {};
  validateRunOptions(run, o.availableCpus === undefined ? {} : { availableCpus: o.availableCpus });
  const hostname = run.hostname || o.id.slice(0, 12);
  const { process, user } = buildProcess({ image: o.image, run, hostname, ...(o.rootfs ? { rootfs: o.rootfs } : {}) });
  if (o.rootfs && (o.createWorkdir ?? true) && !o.rootfs.readOnly) {
    ensureWorkingDirectory(o.rootfs, process.cwd, { uid: user.uid, gid: user.gid });
  }
  const explicit = run.volumes ?? [];
  const covered = [...explicit.map((v) => v.destination), ...(run.tmpfs ?? []).map((t) => t.destination)];
  const anonymous: VolumeSpec[] = imageVolumes(o.image, covered).map((destination) => ({
    type: 'volume', destination, readOnly: false, copyData: true,
  }));
  const nameFor = o.anonymousVolumeName ?? randomVolumeName;
  const volumes = [...explicit, ...anonymous].map((v) =>
    v.type === 'volume' && v.name === undefined ? { ...v, name: nameFor(v.destination) } : v,
  );
  const binds: BindMount[] = volumes.map((v) => ({
    source: o.paths.volume(v),
    destination: v.destination,
    readOnly: v.readOnly,
    ...(v.type === 'bind' ? { propagation: v.propagation } : {}),
  }));
  const initBinary: InitBinary | undefined = o.paths.init === undefined ? undefined : { path: o.paths.init };
  const spec = buildRuntimeSpec({
    process,
    rootPath: o.paths.root,
    hostname,
    readOnly: run.readOnly === true,
    tty: run.tty === true,
    ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
    resources: {
      ...(run.memory !== undefined ? { memory: run.memory } : {}),
      ...(run.memorySwap !== undefined ? { memorySwap: run.memorySwap } : {}),
      ...(run.cpus !== undefined ? { cpus: run.cpus } : {}),
      ...(run.pidsLimit !== undefined ? { pidsLimit: run.pidsLimit } : {}),
    },
    binds,
    tmpfs: run.tmpfs ?? [],
    etcDir: o.paths.etcDir,
    init: run.init === true,
    ...(initBinary ? { initBinary } : {}),
    capAdd: [...(run.capAdd ?? []), ...(o.capAdd ?? [])],
    capDrop: [...(run.capDrop ?? []), ...(o.capDrop ?? [])],
    seccomp: o.seccomp ?? run.seccomp !== 'unconfined',
    ...(run.noNewPrivileges !== undefined ? { noNewPrivileges: run.noNewPrivileges } : {}),
    ...(o.cgroupsPath !== undefined ? { cgroupsPath: o.cgroupsPath } : {}),
  });
  let stopSignal = run.stopSignal ?? SIGTERM;
  if (run.stopSignal === undefined && o.image.StopSignal) {
    try {
      stopSignal = parseSignal(o.image.StopSignal);
    } catch (err) {
      throw SkiffError.wrap(err, 'image config StopSignal');
    }
  }
  return {
    spec,
    etcFiles: buildEtcFiles({ hostname }),
    hostname,
    user,
    volumes,
    stopSignal,
    stopTimeout: run.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
  };
}
