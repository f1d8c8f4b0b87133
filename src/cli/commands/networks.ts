/** network create, ls, inspect, rm, prune, connect, disconnect (engine/networks.ts). */
import { SkiffError } from '../../errors.ts';
import type { NetworkRecord, PruneNetworkFilters } from '../../engine/networks.ts';
import { parseEventTime } from '../../engine/events/filter.ts';
import { networkView } from '../../engine/network-views.ts';
import { displayText } from '../present/escape.ts';
import { labelFields, NETWORK_HEADERS } from '../present/headers.ts';
import { formatRows, table } from '../present/format.ts';
import { list, out, str, type Command } from './context.ts';
import { each, printDocs } from './images.ts';
import { consolidateIpam } from './network-ipam-flags.ts';
import { NO_IPV6 } from '../../engine/network-ipam.ts';
import { isIpv4 } from '../../runtime/spec/network.ts';

function keyValues(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of items) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

/** Go's string/IP slice flags: repeated, and each value split at commas. */
function commaList(v: Parameters<typeof list>[0]): string[] {
  return list(v).flatMap((x) => x.split(',')).filter((x) => x !== '');
}

function row(n: NetworkRecord): Record<string, unknown> {
  return {
    ID: n.id.slice(0, 12), Name: n.name, Driver: n.driver, Scope: 'local', IPv6: 'false', Internal: String(n.internal),
    CreatedAt: n.created, ...labelFields(n.labels),
  };
}

/** `--filter` for `network ls`: name= (substring), id= (prefix), driver=, scope=, type=custom|builtin, label=, label!=, dangling=, until=. */
function networkFilter(filters: string[], used: Set<string>): (n: NetworkRecord) => boolean {
  const groups = new Map<string, Array<(n: NetworkRecord) => boolean>>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const [k, v] = i < 0 ? [f, ''] : [f.slice(0, i), f.slice(i + 1)];
    let t: (n: NetworkRecord) => boolean;
    if (k === 'name') t = (n) => n.name.includes(v);
    else if (k === 'id') t = (n) => n.id.startsWith(v);
    else if (k === 'driver') t = (n) => n.driver === v;
    else if (k === 'scope') t = () => v === 'local';
    else if (k === 'type') {
      if (v !== 'custom' && v !== 'builtin') throw new SkiffError('INVALID_ARGUMENT', `invalid filter: 'type'='${v}'`);
      t = (n) => n.predefined === (v === 'builtin');
    } else if (k === 'dangling') {
      if (!/^(true|false|1|0)$/.test(v)) throw new SkiffError('INVALID_ARGUMENT', 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
      t = (n) => (v === 'true' || v === '1') === (!n.predefined && !used.has(n.id));
    } else if (k === 'label' || k === 'label!') {
      const j = v.indexOf('=');
      const has = j < 0 ? (n: NetworkRecord) => v in n.labels : (n: NetworkRecord) => n.labels[v.slice(0, j)] === v.slice(j + 1);
      t = k === 'label' ? has : (n) => !has(n);
    } else if (k === 'until') {
      const until = parseEventTime(v, Date.now(), 'until');
      t = (n) => Date.parse(n.created) <= until;
    } else throw new SkiffError('INVALID_ARGUMENT', `invalid filter '${k}'`);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  // As Docker: values of one key are alternatives, except labels, which must all match.
  return (n) => [...groups].every(([k, ts]) => (k === 'label' || k === 'label!' ? ts.every((t) => t(n)) : ts.some((t) => t(n))));
}

/** `network prune --filter`: until=<time>, label=k[=v], label!=k[=v]. */
function pruneFilters(filters: string[], now: number): PruneNetworkFilters {
  const out: PruneNetworkFilters = {};
  for (const f of filters) {
    const i = f.indexOf('=');
    const [k, v] = i < 0 ? [f, ''] : [f.slice(0, i), f.slice(i + 1)];
    if (k === 'until') out.until = parseEventTime(v, now, 'until');
    else if (k === 'label') (out.label ??= []).push(v);
    else if (k === 'label!') (out.notLabel ??= []).push(v);
    else throw new SkiffError('INVALID_ARGUMENT', `invalid filter '${k}'`);
  }
  return out;
}

export const networkCommands: readonly Command[] = [
  {
    name: 'network create', usage: '[OPTIONS] NETWORK', summary: 'Create a network', minArgs: 1, maxArgs: 1,
    flags: [
      { name: 'driver', short: 'd', value: 'string', help: 'Driver to manage the Network (bridge only)' },
      { name: 'subnet', value: 'list', repeat: true, help: 'Subnet in CIDR format that represents a network segment' },
      { name: 'ip-range', value: 'list', repeat: true, help: 'Allocate container ip from a sub-range' },
      { name: 'gateway', value: 'list', repeat: true, help: 'IPv4 Gateway for the master subnet' },
      { name: 'aux-address', value: 'list', repeat: true, help: 'Auxiliary IPv4 addresses used by Network driver' },
      { name: 'ipam-driver', value: 'string', help: 'IP Address Management Driver (default "default")' },
      { name: 'ipam-opt', value: 'list', repeat: true, help: 'Set IPAM driver specific options' },
      { name: 'internal', help: 'Restrict external access to the network' },
      { name: 'attachable', help: 'Enable manual container attachment' },
      { name: 'label', value: 'list', repeat: true, help: 'Set metadata on a network' },
      { name: 'opt', short: 'o', value: 'list', repeat: true, help: 'Set driver specific options' },
      { name: 'scope', value: 'string', help: 'Control the network\'s scope (local only)' },
      { name: 'ingress', help: 'Create swarm routing-mesh network (not supported)' },
      { name: 'config-only', help: 'Create a configuration only network (not supported)' },
      { name: 'config-from', value: 'string', help: 'The network from which to copy the configuration (not supported)' },
      { name: 'ipv6', help: 'Enable IPv6 networking (not supported: the guest kernel has no IPv6)' },
    ],
    async run(ctx, f, [name]) {
      for (const l of list(f['label'])) {
        const key = l.split('=')[0]!.replace(/^\s+/, '');
        if (!key) throw new SkiffError('INVALID_ARGUMENT', `invalid argument "${l}" for "--label" flag: invalid label '${l}': empty name`);
        if (/\s/.test(key)) throw new SkiffError('INVALID_ARGUMENT', `invalid argument "${l}" for "--label" flag: label '${key}' contains whitespaces`);
      }
      const config = consolidateIpam({ subnets: commaList(f['subnet']), ipRanges: commaList(f['ip-range']), gateways: commaList(f['gateway']), auxAddresses: list(f['aux-address']) });
      const n = await ctx.engine.createNetwork({
        name: name!, driver: str(f['driver']) ?? 'bridge',
        ipam: { driver: str(f['ipam-driver']) ?? 'default', config, options: keyValues(list(f['ipam-opt'])) },
        internal: f['internal'] === true, attachable: f['attachable'] === true, enableIPv6: f['ipv6'] === true,
        ...(str(f['scope']) ? { scope: str(f['scope'])! } : {}), ingress: f['ingress'] === true,
        configOnly: f['config-only'] === true, ...(str(f['config-from']) ? { configFrom: str(f['config-from'])! } : {}),
        labels: keyValues(list(f['label'])), options: keyValues(list(f['opt'])),
      });
      out(ctx, n.id);
    },
  },
  {
    name: 'network ls', aliases: ['network list'], usage: '[OPTIONS]', summary: 'List networks', maxArgs: 0,
    flags: [
      { name: 'quiet', short: 'q', help: 'Only display network IDs' },
      { name: 'no-trunc', help: 'Do not truncate the output' },
      { name: 'filter', short: 'f', value: 'list', repeat: true, help: 'Provide filter values (e.g. "driver=bridge")' },
      { name: 'format', value: 'string', help: '"table", "json" or a Go-style template' },
    ],
    async run(ctx, f) {
      const containers = await ctx.engine.listContainers({ all: true });
      const used = new Set(containers.flatMap((c) => Object.values(c.spec.network?.endpoints ?? {}).map((e) => e.networkId)));
      const nets = (await ctx.engine.listNetworks()).filter(networkFilter(list(f['filter']), used)).sort((a, b) => a.name.localeCompare(b.name));
      const id = (n: NetworkRecord) => (f['no-trunc'] ? n.id : n.id.slice(0, 12));
      if (f['quiet']) return void out(ctx, nets.map(id).join('\n'));
      const formatted = formatRows(str(f['format']), nets.map(row), NETWORK_HEADERS);
      if (formatted !== undefined) return void ctx.stdout(formatted);
      out(ctx, table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], nets.map((n) => [id(n), n.name, n.driver, 'local'])));
    },
  },
  {
    name: 'network inspect', usage: '[OPTIONS] NETWORK [NETWORK...]', summary: 'Display detailed information on one or more networks', minArgs: 1,
    flags: [
      { name: 'format', short: 'f', value: 'string', help: 'Format the output using a Go-style template' },
      // Docker's verbose output adds swarm services and peers; a local network shows the same document.
      { name: 'verbose', short: 'v', help: 'Verbose output for diagnostics' },
    ],
    async run(ctx, f, names) {
      const containers = await ctx.engine.listContainers({ all: true });
      const docs: Array<Record<string, unknown>> = [];
      for (const id of names) docs.push(networkView(await ctx.engine.inspectNetwork({ id }), containers));
      printDocs(ctx, docs, str(f['format']));
    },
  },
  {
    name: 'network rm', aliases: ['network remove'], usage: '[OPTIONS] NETWORK [NETWORK...]', summary: 'Remove one or more networks', minArgs: 1,
    flags: [{ name: 'force', short: 'f', help: 'Do not error if the network does not exist' }],
    run: (ctx, f, names) => each(ctx, names, async (id) => {
      try {
        await ctx.engine.removeNetwork({ id });
      } catch (err) {
        if (f['force'] && err instanceof Error && (err as SkiffError).code === 'NOT_FOUND') return;
        throw err;
      }
      out(ctx, displayText(id));
    }, 'Error response from daemon: '),
  },
  {
    name: 'network prune', usage: '[OPTIONS]', summary: 'Remove all unused networks', maxArgs: 0,
    flags: [
      { name: 'force', short: 'f', help: 'Do not prompt for confirmation' },
      { name: 'filter', value: 'list', repeat: true, help: 'Provide filter values (e.g. "until=<timestamp>")' },
    ],
    async run(ctx, f) {
      const r = await ctx.engine.pruneNetworks(pruneFilters(list(f['filter']), Date.now()));
      if (r.deleted.length) out(ctx, `Deleted Networks:\n${r.deleted.map((d) => displayText(d)).join('\n')}\n\n`);
    },
  },
  {
    name: 'network connect', usage: '[OPTIONS] NETWORK CONTAINER', summary: 'Connect a container to a network', minArgs: 2, maxArgs: 2,
    flags: [
      { name: 'alias', value: 'list', repeat: true, help: 'Add network-scoped alias for the container' },
      { name: 'ip', value: 'string', help: 'IPv4 address (e.g., "172.30.100.104")' },
      { name: 'ip6', value: 'string', help: 'IPv6 address (not supported: the guest kernel has no IPv6)' },
      { name: 'link', value: 'list', repeat: true, help: 'Add link to another container (NAME[:ALIAS], resolved on user networks)' },
    ],
    async run(ctx, f, [network, container]) {
      if (str(f['ip6'])) throw new SkiffError('UNSUPPORTED', `${str(f['ip6'])}: ${NO_IPV6}`);
      const ip = str(f['ip']);
      if (ip && !isIpv4(ip) && !ip.includes(':')) throw new SkiffError('INVALID_ARGUMENT', `invalid argument "${ip}" for "--ip" flag: invalid string being converted to IP address: ${ip}`);
      await ctx.engine.connectNetwork({
        network: network!, container: container!,
        ...(list(f['alias']).length ? { aliases: list(f['alias']) } : {}), ...(str(f['ip']) ? { ip: str(f['ip'])! } : {}),
        ...(list(f['link']).length ? { links: list(f['link']) } : {}),
      });
    },
  },
  {
    name: 'network disconnect', usage: '[OPTIONS] NETWORK CONTAINER', summary: 'Disconnect a container from a network', minArgs: 2, maxArgs: 2,
    flags: [{ name: 'force', short: 'f', help: 'Force the container to disconnect from a network' }],
    async run(ctx, f, [network, container]) {
      await ctx.engine.disconnectNetwork({ network: network!, container: container!, force: f['force'] === true });
    },
  },
];
