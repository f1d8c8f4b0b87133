/**
 * The variables a legacy link (`--link NAME:ALIAS` on the default bridge) puts in the linking
 * container's environment, as Docker's daemon/links ToEnv writes them (Docker 28 stopped setting
 * them unless asked; the API version skiff serves, 1.43, still sets them):
 *   ALIAS_PORT=PROTO://IP:PORT                  the first port (TCP first, then by number)
 *   ALIAS_PORT_<N>_<PROTO>[_ADDR|_PORT|_PROTO]  for every exposed port
 *   ALIAS_PORT_<N>_<PROTO>_START/_END/_PORT_START/_PORT_END  for a run of consecutive ports
 *   ALIAS_NAME=/PARENT/ALIAS
 *   ALIAS_ENV_<VAR>=value                       for each of the linked container's Config.Env but HOME and PATH
 * ALIAS is the link's last path element, upper-cased, '-' turned into '_'.
 */

export interface LinkEnvOptions {
  /** The link's full name, "/PARENT/ALIAS". */
  name: string;
  /** The linked container's address on the default bridge. */
  ip: string;
  /** The linked container's Config.Env ("K=V"; entries without '=' are skipped). */
  env: readonly string[];
  /** The linked container's Config.ExposedPorts keys ("5432/tcp", "53/udp"; no proto = tcp). */
  exposedPorts: readonly string[];
}

interface Port { num: number; proto: string }

function parsePortKey(key: string): Port | undefined {
  const [num, proto] = key.split('/');
  if (!num || !/^\d{1,5}$/.test(num) || Number(num) > 65535) return undefined;
  return { num: Number(num), proto: (proto || 'tcp').toLowerCase() };
}

/** Docker's withTCPPriority: TCP ports first, then other protocols by name; by number within one. */
export function compareLinkPorts(a: Port, b: Port): number {
  if (a.proto === b.proto) return a.num - b.num;
  if (a.proto === 'tcp') return -1;
  if (b.proto === 'tcp') return 1;
  return a.proto < b.proto ? -1 : 1;
}

/** The legacy link variables, in the order Docker's daemon emits them. */
export function linkEnv(o: LinkEnvOptions): string[] {
  const last = o.name.slice(o.name.lastIndexOf('/') + 1);
  const alias = last.toUpperCase().replaceAll('-', '_');
  const seen = new Set<string>();
  const ports: Port[] = [];
  for (const key of o.exposedPorts) {
    const p = parsePortKey(key);
    if (p && !seen.has(`${p.num}/${p.proto}`)) { seen.add(`${p.num}/${p.proto}`); ports.push(p); }
  }
  ports.sort(compareLinkPorts);
  const url = (p: Port): string => `${p.proto}://${o.ip}:${p.num}`;
  const prefix = (p: Port): string => `${alias}_PORT_${p.num}_${p.proto.toUpperCase()}`;
  const env: string[] = [];
  let start: Port | undefined;
  let end: Port | undefined;
  ports.forEach((p, i) => {
    if (i === 0) {
      start = end = p;
      env.push(`${alias}_PORT=${url(p)}`);
    }
    env.push(`${prefix(p)}=${url(p)}`, `${prefix(p)}_ADDR=${o.ip}`, `${prefix(p)}_PORT=${p.num}`, `${prefix(p)}_PROTO=${p.proto}`);
    // A run of consecutive ports of one protocol gets its bounds once it ends (or at the last port).
    if (p.num === end!.num + 1 && p.proto === end!.proto) {
      end = p;
      if (i < ports.length - 1) return;
    }
    if (end !== start) {
      env.push(
        `${prefix(start!)}_START=${url(start!)}`, `${prefix(start!)}_PORT_START=${start!.num}`,
        `${prefix(start!)}_END=${url(end!)}`, `${prefix(start!)}_PORT_END=${end!.num}`,
      );
    }
    start = end = p;
  });
  env.push(`${alias}_NAME=${o.name}`);
  for (const e of o.env) {
    const eq = e.indexOf('=');
    if (eq < 0) continue;
    const key = e.slice(0, eq);
    // Docker skips these two: what a build sets, not what the linked service offers.
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${alias}_ENV_${key}=${e.slice(eq + 1)}`);
  }
  return env;
}
