/**
 * One call from a container's spec (container-spec.ts, resolved at create) to everything the guest
 * needs for `crun run`: the config.json object and the /etc files to write. The caller (the VM
 * runtime, or the engine's init layer) chooses guest paths; nothing here does IO except reading
 * (and, with `createWorkdir`, creating) directories in the container's own root `FileSystem`.
 */
import { SkiffError } from '../../errors.ts';
import type { FileSystem } from '../../fs/types.ts';
import { buildRuntimeSpec } from './bundle.ts';
import { buildEtcFiles, type EtcFiles } from './etc.ts';
import type { InitBinary } from './init.ts';
import type { BindMount } from './mounts.ts';
import type { ContainerSpec, SpecMount } from './container-spec.ts';
import { envKey } from './flags.ts';
import { daemonEnv, ensureWorkingDirectory } from './process.ts';
import type { OciProcess, OciSeccomp, OciUser, RuntimeSpec } from './types.ts';
import type { RuntimeNetwork } from '../types.ts';
import { resolveAdditionalGroups, resolveUser, type ResolvedUser } from './users.ts';

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
      if (v.type === 'volume') return `/run/skiff/volumes/${v.name}`;
      const key = `${v.source}\0${v.destination}`;
      if (!binds.has(key)) binds.set(key, binds.size);
      return `${base}/binds/${binds.get(key)}`;
    },
  };
  if (options.init !== undefined) paths.init = options.init;
  return paths;
}

export interface ProcessOptions {
  spec: ContainerSpec;
  /** The container root, to resolve user and group names; without it names are an error. */
  rootfs?: FileSystem;
  /** Docker's legacy link variables (RuntimeNetwork.linkEnv). */
  linkEnv?: readonly string[];
}

export interface ContainerProcess {
  process: OciProcess;
  user: ResolvedUser;
}

/**
 * The OCI `process` object from a container's spec (without capabilities, rlimits: bundle.ts adds
 * the security posture). Only the user and HOME are resolved here, through the rootfs as it is now.
 */
export function buildProcess(options: ProcessOptions): ContainerProcess {
  const { spec } = options;
  const lookup = options.rootfs ? { rootfs: options.rootfs } : {};
  const user = resolveUser(spec.user, lookup);
  for (const gid of resolveAdditionalGroups(spec.groupAdd, lookup)) {
    if (!user.additionalGids.includes(gid)) user.additionalGids.push(gid);
  }
  let env = daemonEnv(spec.env, spec.hostname, spec.tty, options.linkEnv);
  if (!env.some((e) => envKey(e) === 'HOME')) env = [...env, `HOME=${user.home}`];
  const oci: OciUser = { uid: user.uid, gid: user.gid };
  if (user.additionalGids.length > 0) oci.additionalGids = user.additionalGids;
  const process: OciProcess = { terminal: spec.tty, user: oci, args: [...spec.args], env, cwd: spec.cwd };
  return { process, user };
}

export interface ContainerBundleOptions {
  /** Container id (names the cgroup only: the spec already holds the hostname). */
  id: string;
  spec: ContainerSpec;
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
    /** Where the guest has mounted a volume or host directory. */
    volume: (mount: SpecMount) => string;
    /** The init binary for --init. */
    init?: string;
  };
  cgroupsPath?: string;
  consoleSize?: { height: number; width: number };
  seccomp?: boolean | OciSeccomp;
  capAdd?: string[];
  capDrop?: string[];
  /** The container's network (its /etc files); absent: loopback only. */
  network?: RuntimeNetwork;
  /**
   * The network namespace crun joins: a path the runtime prepared, or "host" for the runtime's own
   * namespace; absent: crun makes a new one (loopback only).
   */
  netns?: string;
}

export interface ContainerBundle {
  spec: RuntimeSpec;
  etcFiles: EtcFiles;
  user: ResolvedUser;
}

export function buildContainerBundle(o: ContainerBundleOptions): ContainerBundle {
  const c = o.spec;
  const { process, user } = buildProcess({ spec: c, ...(o.rootfs ? { rootfs: o.rootfs } : {}), ...(o.network?.linkEnv ? { linkEnv: o.network.linkEnv } : {}) });
  if (o.rootfs && (o.createWorkdir ?? true) && !o.rootfs.readOnly) {
    ensureWorkingDirectory(o.rootfs, process.cwd, { uid: user.uid, gid: user.gid });
  }
  const binds: BindMount[] = c.mounts.map((m) => ({
    source: o.paths.volume(m),
    destination: m.destination,
    readOnly: m.readOnly,
    ...(m.type === 'bind' ? { propagation: m.propagation } : {}),
  }));
  const initBinary: InitBinary | undefined = o.paths.init === undefined ? undefined : { path: o.paths.init };
  const spec = buildRuntimeSpec({
    process,
    rootPath: o.paths.root,
    hostname: c.hostname,
    readOnly: c.security.readOnlyRootfs,
    tty: c.tty,
    ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
    resources: { ...c.limits },
    binds,
    tmpfs: c.tmpfs,
    etcDir: o.paths.etcDir,
    init: c.init,
    ...(initBinary ? { initBinary } : {}),
    capAdd: [...c.security.capAdd, ...(o.capAdd ?? [])],
    capDrop: [...c.security.capDrop, ...(o.capDrop ?? [])],
    seccomp: o.seccomp ?? c.security.seccomp !== 'unconfined',
    ...(c.security.noNewPrivileges !== undefined ? { noNewPrivileges: c.security.noNewPrivileges } : {}),
    ...(o.cgroupsPath !== undefined ? { cgroupsPath: o.cgroupsPath } : {}),
    ...(o.netns !== undefined ? { networkNamespace: o.netns } : {}),
  });
  return { spec, etcFiles: etcFilesFor(c.hostname, o.network), user };
}

/** Docker's /etc files for a container on `network` (its first interface's address in hosts). */
export function etcFilesFor(hostname: string, network: RuntimeNetwork | undefined): EtcFiles {
  if (!network) return buildEtcFiles({ hostname });
  const address = network.interfaces[0]?.ip;
  return buildEtcFiles({
    hostname, networked: network.mode !== 'none', extraHosts: network.extraHosts, dns: network.nameservers,
    dnsSearch: network.dnsSearch, dnsOptions: network.dnsOptions, ...(address ? { address } : {}),
  });
}
