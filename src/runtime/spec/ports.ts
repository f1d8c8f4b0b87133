/**
 * Published ports, as `docker run -p` and `-P` write them: `[IP:][HOST:]CONTAINER[/PROTO]`, each
 * side a port or a range of the same length; `-P` publishes every EXPOSE of the image (and every
 * `--expose`) on a free host port. The result is the spec's `ports` list; the VM runtime binds it
 * at start (runtime/vm/network.ts) and reports the real host ports back.
 */
import { SkiffError } from '../../errors.ts';

export interface PortMapping {
  /** Host address to listen on; '' = the default (127.0.0.1: skiff never listens beyond loopback unless asked). */
  hostIp: string;
  /** 0: any free port. */
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

function portRange(text: string, what: string, spec: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw invalid(`invalid ${what} port "${text}" in "${spec}"`);
  return [lo, hi];
}

/** One `-p` value (Docker's syntax, IPv4 only). */
export function parsePublish(spec: string): PortMapping[] {
  let rest = spec.trim();
  let proto: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp') throw invalid(`invalid proto "${p}" in "${spec}" (tcp or udp)`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  const parts = rest.split(':');
  if (parts.length > 3 || rest === '') throw invalid(`invalid publish spec "${spec}": expected [ip:][hostPort:]containerPort[/proto]`);
  const container = parts.pop()!;
  const host = parts.pop() ?? '';
  const ip = parts.pop() ?? '';
  if (ip !== '' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw invalid(`invalid IP address "${ip}" in "${spec}" (IPv4 only)`);
  const [clo, chi] = portRange(container, 'container', spec);
  const [hlo, hhi] = host === '' ? [0, 0] : portRange(host, 'host', spec);
  if (host !== '' && hhi - hlo !== chi - clo && hlo !== hhi) throw invalid(`invalid ranges in "${spec}": host and container ranges differ in length`);
  const out: PortMapping[] = [];
  for (let p = clo; p <= chi; p++) {
    out.push({ hostIp: ip, hostPort: host === '' ? 0 : hlo === hhi ? hlo : hlo + (p - clo), containerPort: p, proto });
  }
  return out;
}

/** An image config's ExposedPorts ("80/tcp": {}) as container ports. */
export function exposedPorts(exposed: Record<string, unknown> | undefined): { port: number; proto: 'tcp' | 'udp' }[] {
  const out: { port: number; proto: 'tcp' | 'udp' }[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(key);
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) out.push({ port: Number(m[1]), proto: (m[2]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp' });
  }
  return out;
}

/** Protocols a port may be exposed with (Docker's; skiff publishes TCP and UDP only). */
const EXPOSE_PROTOS = new Set(['tcp', 'udp', 'sctp']);

/**
 * One `--expose` value, `PORT[-END][/PROTO]` as docker/cli reads it (network.ParsePortRange), as
 * Config.ExposedPorts keys ("8000/tcp", ...). Docker's message: "invalid range format for --expose: ...".
 */
export function parseExpose(value: string): string[] {
  const bad = (why: string): SkiffError => invalid(`invalid range format for --expose: ${why}`);
  if (value === '') throw bad('invalid port range: value is empty');
  const slash = value.indexOf('/');
  const range = slash < 0 ? value : value.slice(0, slash);
  const proto = slash < 0 || value.slice(slash + 1) === '' ? 'tcp' : value.slice(slash + 1).toLowerCase();
  const dash = range.indexOf('-');
  const [start, end] = dash < 0 ? [range, range] : [range.slice(0, dash), range.slice(dash + 1)];
  const num = (s: string, which: string): number => {
    if (s === '') throw bad(`invalid ${which} port '${s}': value is empty`);
    if (!/^\d+$/.test(s)) throw bad(`invalid ${which} port '${s}': invalid syntax`);
    if (Number(s) > 65535) throw bad(`invalid ${which} port '${s}': value out of range`);
    return Number(s);
  };
  const lo = num(start, 'start');
  const hi = start === end ? lo : num(end, 'end');
  if (hi < lo) throw bad(`invalid port range: ${value}`);
  if (!EXPOSE_PROTOS.has(proto)) throw invalid(`invalid protocol "${proto}" for --expose: ${value} (tcp, udp or sctp)`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

/**
 * Docker's Config.ExposedPorts after create: the image's EXPOSE, `--expose` and every published
 * port (docker/cli adds those), as "PORT/PROTO" keys, each once, sorted as Docker's JSON map prints.
 */
export function mergeExposedPorts(image: Record<string, unknown> | undefined, expose: readonly string[], publish: readonly PortMapping[]): string[] {
  const keys = new Set<string>();
  for (const k of Object.keys(image ?? {})) keys.add(k.includes('/') ? k.toLowerCase() : `${k}/tcp`);
  for (const k of expose) keys.add(k);
  for (const p of publish) keys.add(`${p.containerPort}/${p.proto}`);
  return [...keys].sort();
}

/** The spec's ports: every `-p`, then (with `-P`) each exposed port not already published. */
export function resolvePorts(o: { publish?: PortMapping[]; publishAll?: boolean; exposed?: Record<string, unknown> }): PortMapping[] {
  const out = [...(o.publish ?? [])];
  if (o.publishAll) {
    for (const e of exposedPorts(o.exposed)) {
      if (!out.some((p) => p.containerPort === e.port && p.proto === e.proto)) out.push({ hostIp: '', hostPort: 0, containerPort: e.port, proto: e.proto });
    }
  }
  const seen = new Set<string>();
  for (const p of out) {
    if (p.hostPort === 0) continue;
    const k = `${p.hostIp}:${p.hostPort}/${p.proto}`;
    if (seen.has(k)) throw invalid(`host port ${p.hostPort}/${p.proto} is published twice`);
    seen.add(k);
  }
  return out;
}

/** Docker's text for one binding: "80/tcp -> 127.0.0.1:8080". */
export function formatBinding(p: { containerPort: number; proto: string; hostIp: string; hostPort: number }): string {
  return `${p.containerPort}/${p.proto} -> ${p.hostIp || '127.0.0.1'}:${p.hostPort}`;
}

/** A running container's bound ports, as the lifecycle keeps them (runtimeData.ports); none when it is not running. */
export function boundPorts(rec: { state: string; runtimeData?: Record<string, unknown> }): PortMapping[] {
  if (rec.state !== 'running' && rec.state !== 'paused') return [];
  const ports = rec.runtimeData?.['ports'];
  return Array.isArray(ports) ? ports.filter((p): p is PortMapping => typeof p === 'object' && p !== null && typeof (p as PortMapping).hostPort === 'number') : [];
}

/** `ps`'s PORTS column: "127.0.0.1:8080->80/tcp, ...". */
export function portsColumn(ports: PortMapping[]): string {
  return ports.map((p) => `${p.hostIp || '127.0.0.1'}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ');
}
