/**
 * `POST /containers/create`'s body (Docker's Config + HostConfig) into the engine's create
 * options. Every field is type-checked first: a wrong type is a 400 naming the field, the way
 * Go's JSON decoder names it ("HostConfig.Memory"). What the API itself keeps (restart policy,
 * port bindings as asked) is recorded in runtimeData so inspect shows it back.
 */
import type { CreateContainerOptions } from '../engine/containers.ts';
import { parseStorageOpt, type RunOptions } from '../runtime/spec/options.ts';
import { parseSignal } from '../runtime/spec/signals.ts';
import type { HealthConfig } from '../runtime/spec/health.ts';
import { cleanPath, parseTmpfs, parseVolumeSpec } from '../runtime/spec/volumes.ts';
import { parseAddHosts } from '../runtime/spec/network.ts';
import { parseExpose, type PortMapping } from '../runtime/spec/ports.ts';
import { badRequest } from './errors.ts';

type Json = Record<string, unknown>;
type Kind = 'string' | 'number' | 'boolean' | 'object' | 'strings' | 'strslice' | 'array';

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** The value at `obj[key]` checked against `kind` (null/absent: undefined); 400 naming `path` otherwise. */
export function field<T>(obj: Json, key: string, kind: Kind, path: string): T | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  const bad = (): never => {
    throw badRequest(`invalid value for field ${path}: expected ${kind === 'strings' || kind === 'strslice' ? 'an array of strings' : `a ${kind}`}, got ${typeName(v)} ${JSON.stringify(v)}`);
  };
  switch (kind) {
    case 'string': case 'number': case 'boolean':
      if (typeof v !== kind) bad();
      return v as T;
    case 'object':
      if (typeof v !== 'object' || Array.isArray(v)) bad();
      return v as T;
    case 'array':
      if (!Array.isArray(v)) bad();
      return v as T;
    case 'strslice':
    case 'strings':
      // Docker's StrSlice: a string is a one-element list.
      if (kind === 'strslice' && typeof v === 'string') return [v] as T;
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) bad();
      return v as T;
  }
}

export interface DockerRecorded {
  restartPolicy: { Name: string; MaximumRetryCount: number };
  networkMode: string;
  portBindings: Record<string, unknown>;
  exposedPorts: Record<string, unknown>;
  consoleSize?: { rows: number; cols: number };
  attachStdin: boolean;
  stdinOnce: boolean;
  domainname: string;
  publishAllPorts?: boolean;
  /** Restarts by the policy since the last start by hand (restart.ts). */
  restartCount?: number;
  /** Stopped or killed through the API: policies leave it stopped (restart.ts). */
  manuallyStopped?: boolean;
}

/** The key in a container's runtimeData under which the API keeps what it recorded. */
export const RECORDED = 'dockerApi';

/** Config.Healthcheck, each field type-checked (durations: nanoseconds); the daemon's checks follow at create. */
function healthcheckOf(hc: Json): HealthConfig {
  const out: HealthConfig = { Test: field<string[]>(hc, 'Test', 'strings', 'Config.Healthcheck.Test') ?? [] };
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    const v = field<number>(hc, k, 'number', `Config.Healthcheck.${k}`);
    if (v !== undefined && !Number.isSafeInteger(v)) throw badRequest(`invalid value for field Config.Healthcheck.${k}: expected a whole number, got ${v}`);
    if (v) out[k] = v;
  }
  return out;
}

export function createOptions(body: Json, name: string | undefined): CreateContainerOptions {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object (Docker\'s container Config)');
  const image = field<string>(body, 'Image', 'string', 'Config.Image');
  if (!image) throw badRequest('field Image is required: name the image the container runs');
  const host = field<Json>(body, 'HostConfig', 'object', 'HostConfig') ?? {};
  const h = <T>(key: string, kind: Kind): T | undefined => field<T>(host, key, kind, `HostConfig.${key}`);
  const c = <T>(key: string, kind: Kind): T | undefined => field<T>(body, key, kind, `Config.${key}`);
  const run: RunOptions = {};
  const env = c<string[]>('Env', 'strings');
  if (env?.length) run.env = env;
  const workdir = c<string>('WorkingDir', 'string');
  if (workdir) run.workdir = workdir;
  const user = c<string>('User', 'string');
  if (user) run.user = user;
  const entrypoint = c<string[]>('Entrypoint', 'strslice');
  if (entrypoint) run.entrypoint = entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint;
  const cmd = c<string[]>('Cmd', 'strslice');
  if (cmd?.length) run.cmd = cmd;
  const hostname = c<string>('Hostname', 'string');
  if (hostname) run.hostname = hostname;
  const tty = c<boolean>('Tty', 'boolean') ?? false;
  const openStdin = c<boolean>('OpenStdin', 'boolean') ?? false;
  if (tty) run.tty = true;
  if (openStdin) run.interactive = true;
  const labels = c<Record<string, string>>('Labels', 'object');
  if (labels && Object.keys(labels).length) {
    for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') throw badRequest(`invalid value for field Config.Labels.${k}: expected a string`);
    run.labels = labels;
  }
  const stopSignal = c<string>('StopSignal', 'string');
  if (stopSignal) run.stopSignal = parseSignal(stopSignal);
  const stopTimeout = c<number>('StopTimeout', 'number');
  if (stopTimeout !== undefined) run.stopTimeout = stopTimeout;
  const health = c<Json>('Healthcheck', 'object');
  if (health) run.healthcheck = healthcheckOf(health);

  const memory = h<number>('Memory', 'number');
  if (memory) run.memory = memory as RunOptions['memory'] & number;
  const swap = h<number>('MemorySwap', 'number');
  if (swap) run.memorySwap = swap as NonNullable<RunOptions['memorySwap']>;
  const nano = h<number>('NanoCpus', 'number');
  const quota = h<number>('CpuQuota', 'number');
  const period = h<number>('CpuPeriod', 'number') || 100_000;
  if (nano) run.cpus = nano as NonNullable<RunOptions['cpus']>;
  else if (quota && quota > 0) run.cpus = Math.round((quota / period) * 1e9) as NonNullable<RunOptions['cpus']>;
  const pids = h<number>('PidsLimit', 'number');
  if (pids) run.pidsLimit = pids;
  if (h<boolean>('ReadonlyRootfs', 'boolean')) run.readOnly = true;
  // {"size": "64m"}: the writable layer's quota, as `--storage-opt size=`; other keys are refused by name.
  for (const [k, v] of Object.entries(h<Json>('StorageOpt', 'object') ?? {})) {
    if (typeof v !== 'string') throw badRequest(`invalid value for field HostConfig.StorageOpt.${k}: expected a string`);
    try {
      Object.assign(run, parseStorageOpt(`${k}=${v}`));
    } catch (err) {
      throw badRequest(`invalid value for field HostConfig.StorageOpt.${k}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (h<boolean>('Init', 'boolean')) run.init = true;
  if (h<boolean>('AutoRemove', 'boolean')) run.rm = true;
  const capAdd = h<string[]>('CapAdd', 'strings');
  if (capAdd?.length) run.capAdd = capAdd;
  const capDrop = h<string[]>('CapDrop', 'strings');
  if (capDrop?.length) run.capDrop = capDrop;
  const groupAdd = h<string[]>('GroupAdd', 'strings');
  if (groupAdd?.length) run.groupAdd = groupAdd;
  for (const opt of h<string[]>('SecurityOpt', 'strings') ?? []) {
    const [k, v = 'true'] = opt.split(/[=:]/, 2) as [string, string?];
    if (k === 'seccomp') run.seccomp = v === 'unconfined' ? 'unconfined' : 'default';
    else if (k === 'no-new-privileges') run.noNewPrivileges = v !== 'false';
    else throw badRequest(`invalid value for field HostConfig.SecurityOpt: unsupported option "${opt}"`);
  }

  // Binds ("src:dst[:opts]"), Mounts (typed) and the image-style Config.Volumes all become -v specs.
  const volumes: string[] = [...(h<string[]>('Binds', 'strings') ?? [])];
  const tmpfs: string[] = Object.entries(h<Record<string, string>>('Tmpfs', 'object') ?? {}).map(([p, o]) => (o ? `${p}:${o}` : p));
  (h<Json[]>('Mounts', 'array') ?? []).forEach((m, i) => {
    const at = `HostConfig.Mounts[${i}]`;
    if (typeof m !== 'object' || m === null) throw badRequest(`invalid value for field ${at}: expected an object`);
    const type = field<string>(m, 'Type', 'string', `${at}.Type`) ?? 'volume';
    const target = field<string>(m, 'Target', 'string', `${at}.Target`);
    if (!target) throw badRequest(`field ${at}.Target is required`);
    const source = field<string>(m, 'Source', 'string', `${at}.Source`) ?? '';
    const ro = field<boolean>(m, 'ReadOnly', 'boolean', `${at}.ReadOnly`) ? ':ro' : '';
    if (type === 'tmpfs') {
      const t = field<Json>(m, 'TmpfsOptions', 'object', `${at}.TmpfsOptions`) ?? {};
      const size = field<number>(t, 'SizeBytes', 'number', `${at}.TmpfsOptions.SizeBytes`);
      const mode = field<number>(t, 'Mode', 'number', `${at}.TmpfsOptions.Mode`);
      const opts = [...(size ? [`size=${size}`] : []), ...(mode ? [`mode=${mode.toString(8)}`] : []), ...(ro ? ['ro'] : [])];
      tmpfs.push(opts.length ? `${target}:${opts.join(',')}` : target);
    } else if (type === 'bind' || type === 'volume') {
      if (type === 'bind' && !source) throw badRequest(`field ${at}.Source is required for a bind mount`);
      volumes.push(source ? `${source}:${target}${ro}` : target);
    } else {
      throw badRequest(`invalid value for field ${at}.Type: mount type "${type}" is not supported (bind, volume, tmpfs)`);
    }
  });
  const specs = volumes.map(parseVolumeSpec);
  // Config.Volumes declares anonymous volumes, but a bind or mount at the same place wins, as dockerd
  // skips a destination already mounted: docker-compose (v1) sends both for `volumes: [name:/dir]`.
  const mounted = new Set(specs.map((v) => cleanPath(v.destination)));
  for (const dest of Object.keys(c<Json>('Volumes', 'object') ?? {})) {
    if (!mounted.has(cleanPath(dest))) specs.push(parseVolumeSpec(dest)), mounted.add(cleanPath(dest));
  }
  if (specs.length) run.volumes = specs;
  if (tmpfs.length) run.tmpfs = tmpfs.map(parseTmpfs);
  if (name) run.name = name.replace(/^\//, '');
  networkOptions(run, body, host);
  portOptions(run, host);
  // Config.ExposedPorts: docker/cli puts --expose and the published ports there; the daemon adds the image's.
  const expose = Object.keys(c<Json>('ExposedPorts', 'object') ?? {}).flatMap((k) => {
    if (!/^\d{1,5}(\/[a-zA-Z]+)?$/.test(k)) throw badRequest(`invalid value for field Config.ExposedPorts: "${k}" is not a port ("80/tcp")`);
    try {
      return parseExpose(k);
    } catch (err) {
      throw badRequest(`invalid value for field Config.ExposedPorts: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  if (expose.length) run.expose = [...new Set(expose)];

  const cs = h<number[]>('ConsoleSize', 'array');
  const recorded: DockerRecorded = {
    restartPolicy: restartPolicyOf(h<Json>('RestartPolicy', 'object') ?? {}, 'HostConfig.RestartPolicy'),
    networkMode: h<string>('NetworkMode', 'string') || 'default',
    portBindings: h<Json>('PortBindings', 'object') ?? {},
    exposedPorts: c<Json>('ExposedPorts', 'object') ?? {},
    ...(h<boolean>('PublishAllPorts', 'boolean') ? { publishAllPorts: true } : {}),
    attachStdin: c<boolean>('AttachStdin', 'boolean') ?? false,
    stdinOnce: c<boolean>('StdinOnce', 'boolean') ?? false,
    domainname: c<string>('Domainname', 'string') ?? '',
    ...(cs && cs.length === 2 && cs[0]! > 0 && cs[1]! > 0 ? { consoleSize: { rows: cs[0]!, cols: cs[1]! } } : {}),
  };
  if (recorded.restartPolicy.Name !== 'no' && run.rm) throw badRequest('conflicting options: cannot combine HostConfig.AutoRemove with HostConfig.RestartPolicy');
  return { image, run, tty, openStdin, runtimeData: { [RECORDED]: recorded } };
}

/** Docker's RestartPolicy object, checked: no | always | unless-stopped | on-failure (with MaximumRetryCount). */
export function restartPolicyOf(o: Json, path: string): DockerRecorded['restartPolicy'] {
  const name = field<string>(o, 'Name', 'string', `${path}.Name`) || 'no';
  const max = field<number>(o, 'MaximumRetryCount', 'number', `${path}.MaximumRetryCount`) ?? 0;
  if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(name)) throw badRequest(`invalid value for field ${path}.Name: invalid restart policy "${name}"`);
  if (!Number.isInteger(max) || max < 0) throw badRequest(`invalid value for field ${path}.MaximumRetryCount: must be a whole number from 0 up`);
  if (max > 0 && name !== 'on-failure') throw badRequest(`invalid value for field ${path}.MaximumRetryCount: maximum retry count can only be used with 'on-failure'`);
  return { Name: name, MaximumRetryCount: max };
}

/**
 * The network part: HostConfig.NetworkMode ("default" is the bridge), the endpoint of that
 * network in NetworkingConfig.EndpointsConfig (aliases, a fixed IPv4 address), ExtraHosts and DNS.
 */
function networkOptions(run: RunOptions, body: Json, host: Json): void {
  const mode = field<string>(host, 'NetworkMode', 'string', 'HostConfig.NetworkMode');
  if (mode && mode !== 'default') run.network = mode;
  const eps = field<Json>(field<Json>(body, 'NetworkingConfig', 'object', 'NetworkingConfig') ?? {}, 'EndpointsConfig', 'object', 'NetworkingConfig.EndpointsConfig') ?? {};
  const names = Object.keys(eps);
  if (names.length > 1) throw badRequest('invalid value for field NetworkingConfig.EndpointsConfig: a container is created on one network (connect it to more afterwards), as API 1.43');
  const epName = names[0];
  if (epName !== undefined) {
    const at = `NetworkingConfig.EndpointsConfig.${epName}`;
    const ep = field<Json>(eps, epName, 'object', at) ?? {};
    if (!run.network && epName !== 'bridge') run.network = epName;
    const aliases = field<string[]>(ep, 'Aliases', 'strings', `${at}.Aliases`);
    if (aliases?.length) run.networkAliases = aliases;
    const ip = field<string>(field<Json>(ep, 'IPAMConfig', 'object', `${at}.IPAMConfig`) ?? {}, 'IPv4Address', 'string', `${at}.IPAMConfig.IPv4Address`);
    if (ip) run.ip = ip;
    const links = field<string[]>(ep, 'Links', 'strings', `${at}.Links`);
    if (links?.length) run.links = links;
  }
  // docker run --link sends HostConfig.Links, and on a user network the endpoint's Links too: one list.
  const hostLinks = field<string[]>(host, 'Links', 'strings', 'HostConfig.Links');
  if (hostLinks?.length) run.links = [...new Set([...(run.links ?? []), ...hostLinks])];
  const extra = field<string[]>(host, 'ExtraHosts', 'strings', 'HostConfig.ExtraHosts');
  if (extra?.length) run.extraHosts = parseAddHosts(extra);
  const dns = field<string[]>(host, 'Dns', 'strings', 'HostConfig.Dns');
  if (dns?.length) run.dns = dns;
  const search = field<string[]>(host, 'DnsSearch', 'strings', 'HostConfig.DnsSearch');
  if (search?.length) run.dnsSearch = search;
  const opts = field<string[]>(host, 'DnsOptions', 'strings', 'HostConfig.DnsOptions');
  if (opts?.length) run.dnsOptions = opts;
}

/** HostConfig.PortBindings ({"80/tcp": [{HostIp, HostPort}]}) and PublishAllPorts as `-p` / `-P`. */
function portOptions(run: RunOptions, host: Json): void {
  const publish: PortMapping[] = [];
  for (const [key, list] of Object.entries(field<Json>(host, 'PortBindings', 'object', 'HostConfig.PortBindings') ?? {})) {
    const at = `HostConfig.PortBindings.${key}`;
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(key);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw badRequest(`invalid value for field ${at}: "${key}" is not a port ("80/tcp")`);
    const bindings = list === null ? [] : field<Json[]>({ list }, 'list', 'array', at) ?? [];
    // A port named with no binding still publishes it, on any free host port (Docker).
    for (const [i, b] of (bindings.length ? bindings : [{}]).entries()) {
      if (typeof b !== 'object' || b === null) throw badRequest(`invalid value for field ${at}[${i}]: expected an object`);
      const hostPort = field<string>(b, 'HostPort', 'string', `${at}[${i}].HostPort`) ?? '';
      if (hostPort !== '' && !/^\d{1,5}$/.test(hostPort)) throw badRequest(`invalid value for field ${at}[${i}].HostPort: "${hostPort}" is not a port`);
      publish.push({ hostIp: field<string>(b, 'HostIp', 'string', `${at}[${i}].HostIp`) ?? '', hostPort: hostPort === '' ? 0 : Number(hostPort), containerPort: Number(m[1]), proto: (m[2] ?? 'tcp') as 'tcp' | 'udp' });
    }
  }
  if (publish.length) run.publish = publish;
  if (field<boolean>(host, 'PublishAllPorts', 'boolean', 'HostConfig.PublishAllPorts')) run.publishAll = true;
}
