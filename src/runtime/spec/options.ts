/**
 * `docker run` flags as a typed object. `RunFlags` is what a command line gives (strings, Docker's
 * flag names); `parseRunFlags` turns it into `RunOptions` (parsed values) with Docker's errors,
 * each naming the flag the way pflag does: `invalid argument "64x" for "-m, --memory" flag: ...`.
 * Engine API callers may build `RunOptions` directly and call `validateRunOptions`.
 */
import { SkiffError } from '../../errors.ts';
import {
  parseCpus, parseEnvFile, parseEnvFlag, parseInteger, parseLabel, parseLabelFile, parseMemory,
  parseMemorySwap, type HostEnv,
} from './flags.ts';
import { capabilitySet } from './capabilities.ts';
import { parseSignal, type SignalNumber } from './signals.ts';
import type { Bytes, NanoCpus } from './types.ts';
import { cleanPath, parseTmpfs, parseVolumeSpec, type TmpfsSpec, type VolumeSpec } from './volumes.ts';
import { parseAddHosts, resolveNetworkOptions, type NetworkRunOptions } from './network.ts';
import { parseExpose, parsePublish, type PortMapping } from './ports.ts';
import { parseHealthFlags, validateHealthConfig, type HealthConfig, type HealthFlags } from './health.ts';

/** The network part (network.ts): `--network`, `--network-alias`, `--ip`, `--add-host`, `--dns*`. */
export interface RunOptions extends NetworkRunOptions {
  /** `KEY=VALUE`, env files first then `-e`, later keys overriding. */
  env?: string[];
  workdir?: string;
  /** Unresolved `user[:group]`; process.ts resolves it against the image. */
  user?: string;
  /** Replaces the image's Entrypoint (and drops its Cmd); `[]` clears it (`--entrypoint ""`). */
  entrypoint?: string[];
  /** Replaces the image's Cmd. */
  cmd?: string[];
  hostname?: string;
  memory?: Bytes;
  /** Memory plus swap; -1 unlimited. */
  memorySwap?: Bytes | -1;
  cpus?: NanoCpus;
  /** <= 0 means unlimited, as Docker. */
  pidsLimit?: number;
  readOnly?: boolean;
  tmpfs?: TmpfsSpec[];
  volumes?: VolumeSpec[];
  init?: boolean;
  /** Seconds to wait after the stop signal before SIGKILL (Docker's default 10). */
  stopTimeout?: number;
  stopSignal?: SignalNumber;
  /** `-p`: ports to publish (ports.ts). */
  publish?: PortMapping[];
  /** `-P`: publish every exposed port on a free host port. */
  publishAll?: boolean;
  /** `--expose`: more exposed ports, as Config.ExposedPorts keys ("8000/tcp"; ports.ts parseExpose). */
  expose?: string[];
  tty?: boolean;
  interactive?: boolean;
  name?: string;
  rm?: boolean;
  labels?: Record<string, string>;
  /** `--cap-add` / `--cap-drop`: names with or without CAP_, any case, or ALL. */
  capAdd?: string[];
  capDrop?: string[];
  /** `--group-add`: extra groups, names (through the image's /etc/group) or gids. */
  groupAdd?: string[];
  /** `--security-opt seccomp=unconfined` turns the default profile off. */
  seccomp?: 'default' | 'unconfined';
  /** `--security-opt no-new-privileges=false`; skiff defaults to true (Docker to false). */
  noNewPrivileges?: boolean;
  /**
   * `--storage-opt size=`: most bytes the writable layer may hold (fs/quota.ts); past it writes fail
   * with ENOSPC. Absent or 0: the engine's default quota (EngineOptions.storageQuota).
   */
  storageSize?: Bytes;
  /**
   * `--health-*` / `--no-healthcheck` or the API's Config.Healthcheck (health.ts): merged over the
   * image's at create (an empty Test or a zero field takes the image's).
   */
  healthcheck?: HealthConfig;
}

/** Raw flag values, as the command table's parser (or a form) hands them over. */
export interface RunFlags extends HealthFlags {
  env?: string[];
  /** `--env-file` contents in flag order; a name makes errors point at the file. */
  envFile?: (string | Uint8Array | { name: string; text: string | Uint8Array })[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  cmd?: string[];
  hostname?: string;
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  pidsLimit?: string | number;
  readOnly?: boolean;
  tmpfs?: string[];
  volume?: string[];
  init?: boolean;
  stopTimeout?: string | number;
  stopSignal?: string;
  tty?: boolean;
  interactive?: boolean;
  name?: string;
  rm?: boolean;
  label?: string[];
  capAdd?: string[];
  capDrop?: string[];
  groupAdd?: string[];
  securityOpt?: string[];
  storageOpt?: string[];
  labelFile?: (string | Uint8Array | { name: string; text: string | Uint8Array })[];
  network?: string;
  networkAlias?: string[];
  ip?: string;
  link?: string[];
  addHost?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
}

export const DEFAULT_STOP_TIMEOUT = 10;
export const MIN_MEMORY = 6 * 1024 * 1024;

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

function flag<T>(value: string, name: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof SkiffError) throw invalid(`invalid argument "${value}" for "${name}" flag: ${err.message}`);
    throw err;
  }
}

export interface ParseRunFlagsOptions {
  /** For `-e KEY` / env-file `KEY` pass-through; omitted in the browser. */
  hostEnv?: HostEnv;
  /** CPUs in the VM, the upper bound of `--cpus` (default 1: v86 emulates one CPU). */
  availableCpus?: number;
}

export function parseRunFlags(flags: RunFlags, options: ParseRunFlagsOptions = {}): RunOptions {
  const hostEnv = options.hostEnv ?? {};
  const out: RunOptions = {};
  if (flags.envFile?.length || flags.env?.length) {
    const env: string[] = [];
    for (const f of flags.envFile ?? []) {
      const { name, text } = typeof f === 'string' || f instanceof Uint8Array ? { name: undefined, text: f } : f;
      env.push(...parseEnvFile(text, name === undefined ? { hostEnv } : { hostEnv, fileName: name }));
    }
    for (const e of flags.env ?? []) {
      const v = flag(e, '-e, --env', (x) => parseEnvFlag(x, hostEnv));
      if (v !== undefined) env.push(v);
    }
    out.env = env;
  }
  if (flags.workdir !== undefined) out.workdir = flags.workdir;
  if (flags.user !== undefined) out.user = flags.user;
  if (flags.entrypoint !== undefined) out.entrypoint = flags.entrypoint === '' ? [] : [flags.entrypoint];
  if (flags.cmd !== undefined && flags.cmd.length > 0) out.cmd = [...flags.cmd];
  if (flags.hostname !== undefined) out.hostname = flags.hostname;
  if (flags.memory !== undefined) out.memory = flag(flags.memory, '-m, --memory', parseMemory);
  if (flags.memorySwap !== undefined) out.memorySwap = flag(flags.memorySwap, '--memory-swap', parseMemorySwap);
  if (flags.cpus !== undefined) out.cpus = flag(flags.cpus, '--cpus', parseCpus);
  if (flags.pidsLimit !== undefined) out.pidsLimit = flag(String(flags.pidsLimit), '--pids-limit', parseInteger);
  if (flags.readOnly) out.readOnly = true;
  if (flags.tmpfs?.length) out.tmpfs = flags.tmpfs.map(parseTmpfs);
  if (flags.volume?.length) out.volumes = flags.volume.map(parseVolumeSpec);
  if (flags.init) out.init = true;
  if (flags.stopTimeout !== undefined) out.stopTimeout = flag(String(flags.stopTimeout), '--stop-timeout', parseInteger);
  if (flags.stopSignal !== undefined) out.stopSignal = parseSignal(flags.stopSignal);
  if (flags.tty) out.tty = true;
  if (flags.interactive) out.interactive = true;
  if (flags.name !== undefined) out.name = flags.name;
  if (flags.rm) out.rm = true;
  if (flags.label?.length || flags.labelFile?.length) {
    const labels: Record<string, string> = {};
    for (const f of flags.labelFile ?? []) {
      const { name, text } = typeof f === 'string' || f instanceof Uint8Array ? { name: undefined, text: f } : f;
      Object.assign(labels, parseLabelFile(text, name));
    }
    for (const l of flags.label ?? []) Object.assign(labels, flag(l, '-l, --label', parseLabel));
    out.labels = labels;
  }
  if (flags.capAdd?.length) out.capAdd = [...flags.capAdd];
  if (flags.capDrop?.length) out.capDrop = [...flags.capDrop];
  if (flags.groupAdd?.length) out.groupAdd = [...flags.groupAdd];
  for (const opt of flags.securityOpt ?? []) Object.assign(out, parseSecurityOpt(opt));
  for (const opt of flags.storageOpt ?? []) Object.assign(out, parseStorageOpt(opt));
  if (flags.network !== undefined && flags.network !== '') out.network = flags.network;
  if (flags.networkAlias?.length) out.networkAliases = [...flags.networkAlias];
  if (flags.ip !== undefined && flags.ip !== '') out.ip = flags.ip;
  if (flags.link?.length) out.links = [...flags.link];
  if (flags.addHost?.length) out.extraHosts = parseAddHosts(flags.addHost);
  if (flags.dns?.length) out.dns = [...flags.dns];
  if (flags.dnsSearch?.length) out.dnsSearch = [...flags.dnsSearch];
  if (flags.dnsOption?.length) out.dnsOptions = [...flags.dnsOption];
  if (flags.publish?.length) out.publish = flags.publish.flatMap((p) => flag(p, '-p, --publish', parsePublish));
  if (flags.publishAll) out.publishAll = true;
  if (flags.expose?.length) out.expose = [...new Set(flags.expose.flatMap(parseExpose))];
  const health = parseHealthFlags(flags);
  if (health) out.healthcheck = health;
  validateRunOptions(out, options.availableCpus === undefined ? {} : { availableCpus: options.availableCpus });
  return out;
}

/** The `--security-opt` values skiff honours: seccomp=unconfined|default, no-new-privileges[=bool]. */
export function parseSecurityOpt(value: string): Pick<RunOptions, 'seccomp' | 'noNewPrivileges'> {
  const sep = value.search(/[=:]/);
  const key = sep < 0 ? value : value.slice(0, sep);
  const v = sep < 0 ? undefined : value.slice(sep + 1);
  if (key === 'seccomp' && (v === 'unconfined' || v === 'default')) return { seccomp: v };
  if (key === 'no-new-privileges' && (v === undefined || v === 'true' || v === 'false')) return { noNewPrivileges: v !== 'false' };
  if (key === 'seccomp') throw invalid(`--security-opt seccomp=${v ?? ''}: custom seccomp profiles are not supported (use unconfined or default)`);
  if (key === 'apparmor' || key === 'label') throw invalid(`--security-opt ${key}: not supported (no ${key === 'label' ? 'SELinux' : 'AppArmor'} in the guest)`);
  throw invalid(`invalid --security-opt: "${value}"`);
}

/**
 * `--storage-opt`: `size=` in go-units RAMInBytes syntax (as Docker's overlay2 reads it: "64m",
 * "1.5G", "512MiB"), the one option a writable layer in memory has.
 */
export function parseStorageOpt(value: string): Pick<RunOptions, 'storageSize'> {
  const eq = value.indexOf('=');
  if (eq < 0) throw invalid(`invalid storage option "${value}": want key=value`);
  const key = value.slice(0, eq).trim().toLowerCase();
  if (key !== 'size') throw invalid(`--storage-opt ${value.slice(0, eq)}: unknown option (only size is supported)`);
  return { storageSize: flag(value.slice(eq + 1), '--storage-opt size', parseMemory) };
}

const HOSTNAME = /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9!-/:-@[-`{-~]*[a-zA-Z0-9])\.)*([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9!-/:-@[-`{-~]*[a-zA-Z0-9])$/;
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Linux's HOST_NAME_MAX (the docker CLI's check), then RFC 1123 labels (the daemon's). */
export function validateHostname(hostname: string): void {
  if (hostname.length > 64) throw invalid(`invalid hostname (${hostname}): hostname cannot exceed 64 characters`);
  if (!HOSTNAME.test(hostname)) throw invalid(`invalid hostname format: ${hostname}`);
}

export function validateContainerName(name: string): void {
  if (!CONTAINER_NAME.test(name)) {
    throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
}

/** Cross-flag checks the Docker daemon makes (verifyPlatformContainerResources, mounts). */
export function validateRunOptions(o: RunOptions, limits: { availableCpus?: number } = {}): void {
  if (o.workdir !== undefined && o.workdir !== '' && !o.workdir.startsWith('/')) {
    throw invalid(`the working directory '${o.workdir}' is invalid, it needs to be an absolute path`);
  }
  if (o.hostname !== undefined && o.hostname !== '') validateHostname(o.hostname);
  if (o.name !== undefined && o.name !== '') validateContainerName(o.name);
  const memory = o.memory ?? 0;
  if (memory < 0) throw invalid('invalid memory limit: must not be negative');
  if (memory !== 0 && memory < MIN_MEMORY) throw invalid('Minimum memory limit allowed is 6MB');
  const swap = o.memorySwap ?? 0;
  if (swap > 0 && memory === 0) throw invalid('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (swap > 0 && swap < memory) throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  const cpus = limits.availableCpus ?? 1;
  if (o.cpus !== undefined && o.cpus !== 0 && (o.cpus < 10_000_000 || o.cpus > cpus * 1e9)) {
    throw invalid(`Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
  }
  if (o.storageSize !== undefined && !(Number.isSafeInteger(o.storageSize) && o.storageSize >= 0)) {
    throw invalid(`invalid storage size ${String(o.storageSize)}: a whole number of bytes, not negative`);
  }
  if (o.stopTimeout !== undefined && o.stopTimeout < -1) throw invalid(`invalid stop timeout: ${o.stopTimeout}`);
  // Unknown capability names fail here, before anything runs.
  capabilitySet({ add: o.capAdd ?? [], drop: o.capDrop ?? [] });
  resolveNetworkOptions(o);
  validateHealthConfig(o.healthcheck);
  const seen = new Set<string>();
  for (const dest of [...(o.volumes ?? []), ...(o.tmpfs ?? [])].map((m) => cleanPath(m.destination))) {
    if (seen.has(dest)) throw invalid(`Duplicate mount point: ${dest}`);
    seen.add(dest);
  }
}
