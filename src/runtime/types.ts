/**
 * The contract between the engine (src/engine/) and a container runtime (the VM backend in
 * src/runtime/vm/, the WASI backend in src/runtime/wasi/). The engine owns records, images, the
 * container's overlay and volumes; a runtime only turns "this filesystem + this spec" into a
 * running process and reports how it ended. The spec was resolved at create (runtime/spec
 * container-spec.ts): runtimes translate it, they never merge the image config again, and they
 * never touch the state store.
 */
import type { PortMapping } from './spec/ports.ts';
import type { FileSystem } from '../fs/types.ts';
import type { ContainerSpec } from './spec/container-spec.ts';

export type RuntimeName = 'vm' | 'wasi';

/** How a process ended, Docker's way: a killing signal n gives exitCode 128 + n. */
export interface ExitStatus {
  exitCode: number;
  /** Name of the signal that killed it ("SIGKILL"), if one did. */
  signal?: string;
  oomKilled: boolean;
  /** A runtime-level failure (trap, missing executable ...), in words for `inspect` and stderr. */
  error?: string;
}

/**
 * stdio wiring. With a TTY, stdout carries the terminal's output and stderr is unused. A sink
 * that cannot take more yet returns a promise (backpressure; any other return value is ignored):
 * a runtime that can pause its producer waits for it (the WASI worker does, every
 * OUTPUT_SYNC_BYTES).
 */
export interface ProcessIO {
  onStdout(chunk: Uint8Array): unknown;
  onStderr(chunk: Uint8Array): unknown;
}

export interface RuntimeProcess {
  /**
   * Write to the process's stdin (only when started with `openStdin`). A promise when the runtime
   * holds STDIN_HIGH_WATER or more bytes the process has not read (runtime/stdin-gate.ts): the
   * writer stops reading its source until it settles (the queue is under the mark again, or the
   * process is gone). A writer that goes on regardless is refused (throws) past STDIN_QUEUED_MAX.
   */
  writeStdin(chunk: Uint8Array): void | Promise<void>;
  /** EOF on stdin. */
  closeStdin(): void;
  /** Deliver a signal (name "SIGTERM" or number). Resolves once delivered, not once exited. */
  kill(signal: string | number): Promise<void>;
  /** TTY window size; a no-op without a TTY. */
  resize(size: { cols: number; rows: number }): Promise<void>;
  /** Resolves once, when the process (and, for a container, its whole tree) has ended. */
  wait(): Promise<ExitStatus>;
}

/** A volume or host directory the engine has resolved to a filesystem. */
export interface MountedVolume {
  /** Volume name, or the host path for a bind. */
  source: string;
  destination: string;
  readOnly: boolean;
  fs: FileSystem;
  /** Mount this file of `fs` (a name in its root) rather than its root (a secret file, runtime/secrets.ts). */
  file?: string;
}

/** One interface a container gets on a bridge in the guest (engine/network-runtime.ts builds it). */
export interface RuntimeInterface {
  /** The network's name and id (for messages and inspect). */
  network: string;
  networkId: string;
  /** The guest bridge ("docker0", "br-<12 hex>"); created by the runtime on first use. */
  bridge: string;
  /** "172.18.0.0/16" and the bridge's address in it. */
  subnet: string;
  gateway: string;
  /** The container's address, prefix and MAC. */
  ip: string;
  prefixLen: number;
  mac: string;
  /** `--internal`: nothing leaves the guest from this network. */
  internal: boolean;
}

/**
 * The container's network as a runtime needs it. `none`: its own namespace with loopback only;
 * `bridge`: its own namespace with `interfaces` (eth0, eth1 ... in order; the first non-internal
 * one carries the default route); `container`: the namespace of container `container` (running in
 * the same runtime); `host`: the runtime's own network (the guest VM's namespace).
 */
export interface RuntimeNetwork {
  mode: 'none' | 'bridge' | 'container' | 'host';
  container?: string;
  interfaces: RuntimeInterface[];
  /** /etc/hosts extra lines and resolv.conf servers (`host-gateway` already replaced). */
  extraHosts: { host: string; ip: string }[];
  nameservers: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /**
   * Docker's legacy link variables (engine/network-links.ts): the process env gets them after
   * PATH/HOSTNAME/TERM and before the container's own Env, which wins on a clash.
   */
  linkEnv?: string[];
}

export interface StartContainerRequest {
  /** 64-hex container id. */
  id: string;
  /** Absent: loopback only (as `none`), what every container had before networks. */
  network?: RuntimeNetwork;
  /** `-p`/`-P` (spec.ports): bound by the runtime before the process starts; a port in use fails the start. */
  ports?: PortMapping[];
  /** The container's root: its overlay (writable upper over the image's layers). */
  rootfs: FileSystem;
  spec: ContainerSpec;
  /** `spec.mounts` as filesystems, in the same order. */
  volumes: MountedVolume[];
  consoleSize?: { cols: number; rows: number };
  io: ProcessIO;
  /**
   * Process-only variables and in-memory files (build secrets): for this run only, never in the
   * stored spec; a runtime merges them with runtime/secrets.ts withSecrets.
   */
  secrets?: StartSecrets;
}

export interface ExecRequest {
  /** Id of a container this runtime is running. */
  id: string;
  args: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  tty: boolean;
  openStdin: boolean;
  consoleSize?: { cols: number; rows: number };
  io: ProcessIO;
}

export interface ContainerRuntime {
  readonly name: RuntimeName;
  /** Start the container's main process. Rejects with a SkiffError if it cannot start. */
  start(request: StartContainerRequest): Promise<RuntimeProcess>;
  /** Run an extra process inside a running container. */
  exec(request: ExecRequest): Promise<RuntimeProcess>;
  /**
   * `network connect` / `disconnect` on a running container (the interface appears or goes at
   * once). Absent: the runtime cannot; the change applies at the container's next start.
   */
  connect?(id: string, iface: RuntimeInterface): Promise<void>;
  disconnect?(id: string, iface: RuntimeInterface): Promise<void>;
  /**
   * The engine changed the running container's root filesystem from outside (`cp` into it): a
   * runtime that caches its files (the VM's guest) forgets what may have changed before this
   * returns. Absent: the runtime caches nothing.
   */
  filesChanged?(id: string): Promise<void>;
  /** A running container's generated /etc files (hosts, hostname, resolv.conf at its root) as it sees them now; `cp` goes through them. */
  etcFiles?(id: string): FileSystem | undefined;
  /** Release what the runtime holds for a container after its main process ended. */
  release(id: string): Promise<void>;
  /** Stop everything (VM shutdown, workers terminated). */
  shutdown(): Promise<void>;
  /**
   * Where a runtime with networking (the VM's DNS server at 10.0.2.3) asks for container names:
   * the addresses of `name` as seen from `sourceIp`, undefined when the name is not the engine's.
   */
  setNameResolver?(resolve: (name: string, sourceIp: string) => Promise<string[] | undefined>): void;
  /**
   * Cross-VM networking (Node: every skiff process has its own VM): who runs the containers of
   * other processes, each with a way to hand it packets (engine/peer-directory.ts).
   */
  setPeerDirectory?(dir: { list(): Promise<{ ip: string; networkId: string; deliver(packet: Uint8Array): void }[]>; onChange?(cb: () => void): void }): void;
  /** A packet another process relayed for one of this runtime's containers: injected when allowed. */
  relayIn?(packet: Uint8Array): Promise<boolean>;
  /** Freeze (`true`) or thaw the container's processes (`docker pause`); absent: UNSUPPORTED. */
  freeze?(id: string, frozen: boolean): Promise<void>;
  /** Resource use now, from the container's cgroup; absent: UNSUPPORTED. */
  stats?(id: string): Promise<ResourceStats>;
  /** New limits for a running container (`docker update`); absent: UNSUPPORTED. */
  updateLimits?(id: string, limits: LimitUpdate): Promise<void>;
}

/** A sample of a running container's resource use (cgroup v2 counters and the guest's clock). */
export interface ResourceStats {
  /** CPU time the container used, ns (cpu.stat usage_usec), user and system parts. */
  cpuNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  /** CPU time the whole machine spent (busy + idle), ns, on `onlineCpus` CPUs: the denominator. */
  systemNs: number;
  onlineCpus: number;
  /** Throttling under a CPU quota (cpu.stat nr_periods, nr_throttled, throttled_usec in ns). */
  throttling: { periods: number; throttledPeriods: number; throttledNs: number };
  /** memory.current, and the limit (memory.max, or the machine's memory when unlimited). */
  memoryBytes: number;
  memoryLimitBytes: number;
  /** memory.stat's counters (anon, file, inactive_file ...). */
  memoryStat: Record<string, number>;
  pids: number;
  /** pids.max; undefined when unlimited. */
  pidsLimit?: number;
  /** Bytes the container read and wrote through its root filesystem (volumes are exports shared between containers). */
  io: { readBytes: number; writeBytes: number; reads: number; writes: number };
  /** Its network interfaces (without loopback): bytes and packets each way. */
  networks: Record<string, { rxBytes: number; rxPackets: number; rxErrors: number; rxDropped: number; txBytes: number; txPackets: number; txErrors: number; txDropped: number }>;
  frozen: boolean;
}

/** `docker update`: each given field replaces the running container's limit (-1: unlimited). */
export interface LimitUpdate {
  memory?: number;
  /** memory + swap, as Docker counts it; -1 unlimited. */
  memorySwap?: number;
  /** memory.low (Docker's --memory-reservation). */
  memoryReservation?: number;
  /** Nano CPUs (--cpus); 0 removes the quota. */
  cpus?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  /** cgroup v1 shares (Docker's --cpu-shares), converted to cpu.weight. */
  cpuShares?: number;
  pidsLimit?: number;
}

/** One file for the process only: `path` absolute in the container, its bytes, mode and owner. */
export interface SecretFile {
  path: string;
  data: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
}

/** What `StartOptions.secrets` carries: never persisted, never shown. */
export interface StartSecrets {
  env?: Record<string, string>;
  files?: SecretFile[];
}
