/**
 * The OCI runtime-spec config.json for one container, as crun 1.8.1 takes it. Namespaces: pid,
 * mount, ipc, uts, network (only loopback, which crun brings up) and cgroup; no user namespace (the
 * guest is ours and crun runs as its root). Security posture as Docker's defaults: capabilities,
 * no_new_privs, RLIMIT_NOFILE 1024:1024, masked and read-only /proc paths, device allow list, and a
 * small seccomp deny list (seccomp.ts).
 *
 * Paths the guest must provide before `crun run` (all guest paths, chosen by the caller):
 *   - `rootPath`: the container root (the 9P overlay export, mounted);
 *   - `etcDir`/{hosts,hostname,resolv.conf}: written from buildEtcFiles();
 *   - each bind mount's `source` (a 9P volume export or a host directory export, mounted);
 *   - `init.path` when `init` is set.
 */
import { ociCapabilities, capabilitySet } from './capabilities.ts';
import { initMount, requireInit, wrapWithInit, type InitBinary } from './init.ts';
import {
  bindMount, defaultMounts, etcMounts, MASKED_PATHS, mergeMounts, READONLY_PATHS, tmpfsMount, type BindMount,
} from './mounts.ts';
import { buildResources, type ResourceLimits } from './resources.ts';
import { defaultSeccompProfile } from './seccomp.ts';
import type { OciMount, OciNamespace, OciProcess, OciRlimit, OciSeccomp, RuntimeSpec } from './types.ts';
import type { TmpfsSpec } from './volumes.ts';
import { assertValidRuntimeSpec } from './validate.ts';

export const OCI_VERSION = '1.0.2';

export const DEFAULT_RLIMITS: readonly OciRlimit[] = [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }];

export const NAMESPACES: readonly OciNamespace['type'][] = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'];

export interface RuntimeSpecOptions {
  /** From buildProcess(); capabilities, rlimits and noNewPrivileges are filled in here. */
  process: OciProcess;
  /** Guest path of the container root filesystem. */
  rootPath: string;
  hostname: string;
  readOnly?: boolean;
  tty?: boolean;
  consoleSize?: { height: number; width: number };
  resources?: ResourceLimits;
  /** Volumes and host directories, already mounted in the guest. */
  binds?: BindMount[];
  tmpfs?: TmpfsSpec[];
  /** Guest directory with the generated hosts, hostname, resolv.conf; omitted: the image's own. */
  etcDir?: string;
  /** Run the command under an init (Docker's --init); the binary must exist in the guest. */
  init?: boolean;
  initBinary?: InitBinary;
  capAdd?: string[];
  capDrop?: string[];
  /** Default true (Docker's --security-opt no-new-privileges). */
  noNewPrivileges?: boolean;
  /** true (default): seccomp.ts's profile; false: unconfined; or a profile of your own. */
  seccomp?: boolean | OciSeccomp;
  rlimits?: OciRlimit[];
  /** crun's cgroup, e.g. "/skiff/<id>". */
  cgroupsPath?: string;
  /** Size of /dev/shm in bytes (Docker's default 64 MiB). */
  shmSize?: number;
  annotations?: Record<string, string>;
  /** A network namespace path to join, or "host" for none of its own; absent: a new one (loopback only). */
  networkNamespace?: string;
}

function namespaces(net: string | undefined): OciNamespace[] {
  if (net === 'host') return NAMESPACES.filter((t) => t !== 'network').map((type) => ({ type }));
  return NAMESPACES.map((type) => (type === 'network' && net !== undefined ? { type, path: net } : { type }));
}

export function buildRuntimeSpec(o: RuntimeSpecOptions): RuntimeSpec {
  const readOnly = o.readOnly === true;
  const user: OciMount[] = [];
  if (o.etcDir !== undefined) user.push(...etcMounts({ dir: o.etcDir }, readOnly));
  for (const b of o.binds ?? []) user.push(bindMount(b));
  for (const t of o.tmpfs ?? []) user.push(tmpfsMount(t));
  let args = [...o.process.args];
  if (o.init) {
    const init = requireInit(o.initBinary);
    user.push(initMount(init));
    args = wrapWithInit(args);
  }
  const caps = capabilitySet({ add: o.capAdd ?? [], drop: o.capDrop ?? [] });
  const process: OciProcess = {
    ...o.process,
    terminal: o.tty ?? o.process.terminal ?? false,
    args,
    capabilities: ociCapabilities(caps),
    rlimits: (o.rlimits ?? DEFAULT_RLIMITS).map((r) => ({ ...r })),
    noNewPrivileges: o.noNewPrivileges ?? true,
  };
  if (process.terminal && o.consoleSize) process.consoleSize = { ...o.consoleSize };
  else delete process.consoleSize;

  const spec: RuntimeSpec = {
    ociVersion: OCI_VERSION,
    process,
    root: { path: o.rootPath, readonly: readOnly },
    hostname: o.hostname,
    mounts: mergeMounts(defaultMounts(o.shmSize === undefined ? {} : { shmSize: o.shmSize }), user),
    linux: {
      namespaces: namespaces(o.networkNamespace),
      resources: buildResources(o.resources ?? {}),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (o.cgroupsPath !== undefined) spec.linux.cgroupsPath = o.cgroupsPath;
  const seccomp = o.seccomp ?? true;
  if (seccomp === true) spec.linux.seccomp = defaultSeccompProfile();
  else if (seccomp !== false) spec.linux.seccomp = seccomp;
  if (o.annotations && Object.keys(o.annotations).length > 0) spec.annotations = { ...o.annotations };
  // A bad value from an API caller (relative path, custom seccomp profile) fails here, naming the
  // field, instead of as a crun error inside the guest.
  assertValidRuntimeSpec(spec);
  return spec;
}
