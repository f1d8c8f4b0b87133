/**
 * /networks over the engine's network model (engine/networks.ts: Docker's bridge model with the
 * predefined bridge, host and none): list (with Docker's filters), inspect, create, remove,
 * prune, connect and disconnect, in Docker's JSON shapes (engine/network-views.ts). Plugins: there
 * are none, so listing is empty and inspecting one is Docker's 404.
 */
import type { Engine } from '../engine/engine.ts';
import type { NetworkRecord, PruneNetworkFilters } from '../engine/networks.ts';
import { NO_IPV6, type IpamRequest } from '../engine/network-ipam.ts';
import { SkiffError } from '../errors.ts';
import { parseEventTime } from '../engine/events/filter.ts';
import { networkView } from '../engine/network-views.ts';
import { field } from './create-body.ts';
import { badRequest, notFound } from './errors.ts';
import { filters } from './query.ts';
import type { Router } from './router.ts';

type Json = Record<string, unknown>;

function strings(o: Json | undefined, path: string): Record<string, string> | undefined {
  if (!o) return undefined;
  for (const [k, v] of Object.entries(o)) if (typeof v !== 'string') throw badRequest(`invalid value for field ${path}.${k}: expected a string`);
  return o as Record<string, string>;
}

/** Docker's network filters: name (substring), id (prefix), label, label!, driver, scope, type (custom | builtin), dangling, until. */
function matches(n: NetworkRecord, f: Record<string, string[]>, used: Set<string>): boolean {
  const hasLabel = (v: string) => { const [k, x] = v.split('=', 2) as [string, string?]; return k in n.labels && (x === undefined || n.labels[k] === x); };
  const tests: Record<string, (v: string) => boolean> = {
    name: (v) => n.name.includes(v),
    id: (v) => n.id.startsWith(v),
    driver: (v) => n.driver === v,
    scope: (v) => v === 'local',
    type: (v) => (v === 'custom' ? !n.predefined : v === 'builtin' ? n.predefined : false),
    label: hasLabel,
    'label!': (v) => !hasLabel(v),
    dangling: (v) => (v === 'true' || v === '1') === (!n.predefined && !used.has(n.id)),
    until: (v) => Date.parse(n.created) <= parseEventTime(v, Date.now(), 'until'),
  };
  return Object.entries(f).every(([k, values]) => {
    const t = tests[k];
    if (!t) throw badRequest(`invalid filter '${k}'`);
    return k === 'label' || k === 'label!' ? values.every(t) : values.some(t);
  });
}

/** dockerd's checks of the list filters' values (daemon/network/filter.go), before any match. */
function checkListFilters(f: Record<string, string[]>): void {
  for (const v of f['type'] ?? []) if (v !== 'custom' && v !== 'builtin') throw badRequest(`invalid filter: 'type'='${v}'`);
  const dangling = f['dangling'] ?? [];
  if (dangling.length > 1) throw badRequest('got more than one value for filter key "dangling"');
  if (dangling.length && !/^(true|false|1|0)$/.test(dangling[0]!)) throw badRequest('invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
  if ((f['until'] ?? []).length > 1) throw badRequest('more than one until filter specified');
}

export function networkRoutes(r: Router, engine: Engine): void {
  // The engine's NOT_FOUND ("network X not found") is already Docker's 404 (errors.ts).
  const find = (id: string) => engine.inspectNetwork({ id });

  r.add('GET /networks', async (call) => {
    const f = filters(call.query);
    checkListFilters(f);
    const [nets, containers] = await Promise.all([engine.listNetworks(), engine.listContainers({ all: true })]);
    const used = new Set(containers.flatMap((c) => Object.values(c.spec.network?.endpoints ?? {}).map((e) => e.networkId)));
    call.send(200, nets.filter((n) => matches(n, f, used)).map((n) => networkView(n, containers)));
  });

  r.add('GET /networks/{id}', async (call) => {
    const n = await find(call.params['id']!);
    call.send(200, networkView(n, await engine.listContainers({ all: true })));
  });

  r.add('POST /networks/create', async (call) => {
    const body = await call.json();
    const name = field<string>(body, 'Name', 'string', 'Name');
    if (!name) throw badRequest('field Name is required: name the network');
    // CheckDuplicate is ignored, as by dockerd since API 1.44: a name is always checked.
    field<boolean>(body, 'CheckDuplicate', 'boolean', 'CheckDuplicate');
    const ipam = field<Json>(body, 'IPAM', 'object', 'IPAM');
    const configs = ipam ? field<Json[]>(ipam, 'Config', 'array', 'IPAM.Config') ?? [] : [];
    const config: IpamRequest[] = configs.map((c, i) => {
      const at = `IPAM.Config[${i}]`;
      if (typeof c !== 'object' || c === null || Array.isArray(c)) throw badRequest(`invalid value for field ${at}: expected an object`);
      const subnet = field<string>(c, 'Subnet', 'string', `${at}.Subnet`);
      const ipRange = field<string>(c, 'IPRange', 'string', `${at}.IPRange`);
      const gateway = field<string>(c, 'Gateway', 'string', `${at}.Gateway`);
      const aux = strings(field<Json>(c, 'AuxiliaryAddresses', 'object', `${at}.AuxiliaryAddresses`), `${at}.AuxiliaryAddresses`);
      return { ...(subnet ? { subnet } : {}), ...(ipRange ? { ipRange } : {}), ...(gateway ? { gateway } : {}), ...(aux && Object.keys(aux).length ? { auxAddresses: aux } : {}) };
    });
    const ipamDriver = ipam ? field<string>(ipam, 'Driver', 'string', 'IPAM.Driver') : undefined;
    const ipamOptions = ipam ? strings(field<Json>(ipam, 'Options', 'object', 'IPAM.Options'), 'IPAM.Options') : undefined;
    const driver = field<string>(body, 'Driver', 'string', 'Driver');
    const labels = strings(field<Json>(body, 'Labels', 'object', 'Labels'), 'Labels');
    const options = strings(field<Json>(body, 'Options', 'object', 'Options'), 'Options');
    const scope = field<string>(body, 'Scope', 'string', 'Scope');
    const configFrom = field<Json>(body, 'ConfigFrom', 'object', 'ConfigFrom');
    const from = configFrom ? field<string>(configFrom, 'Network', 'string', 'ConfigFrom.Network') : undefined;
    const enableIPv6 = field<boolean>(body, 'EnableIPv6', 'boolean', 'EnableIPv6');
    const n = await engine.createNetwork({
      name, ...(driver ? { driver } : {}),
      ...(ipam ? { ipam: { ...(ipamDriver ? { driver: ipamDriver } : {}), config, ...(ipamOptions ? { options: ipamOptions } : {}) } } : {}),
      internal: field<boolean>(body, 'Internal', 'boolean', 'Internal') ?? false,
      attachable: field<boolean>(body, 'Attachable', 'boolean', 'Attachable') ?? false,
      ...(enableIPv6 !== undefined ? { enableIPv6 } : {}), ...(scope ? { scope } : {}),
      ingress: field<boolean>(body, 'Ingress', 'boolean', 'Ingress') ?? false,
      configOnly: field<boolean>(body, 'ConfigOnly', 'boolean', 'ConfigOnly') ?? false, ...(from ? { configFrom: from } : {}),
      ...(labels ? { labels } : {}), ...(options ? { options } : {}),
    });
    call.send(201, { Id: n.id, Warning: '' });
  });

  r.add('DELETE /networks/{id}', async (call) => {
    const n = await find(call.params['id']!);
    await engine.removeNetwork({ id: n.id });
    call.send(204);
  });

  r.add('POST /networks/prune', async (call) => {
    const f = filters(call.query);
    const pf: PruneNetworkFilters = {};
    for (const [k, values] of Object.entries(f)) {
      if (k === 'until') { for (const v of values) pf.until = parseEventTime(v, Date.now(), 'until'); }
      else if (k === 'label') pf.label = values;
      else if (k === 'label!') pf.notLabel = values;
      else throw badRequest(`invalid filter '${k}'`);
    }
    const { deleted } = await engine.pruneNetworks(pf);
    call.send(200, { NetworksDeleted: deleted.length ? deleted : null });
  });

  r.add('POST /networks/{id}/connect', async (call) => {
    const n = await find(call.params['id']!);
    const body = await call.json();
    const container = field<string>(body, 'Container', 'string', 'Container');
    if (!container) throw badRequest('field Container is required');
    const ep = field<Json>(body, 'EndpointConfig', 'object', 'EndpointConfig') ?? {};
    const aliases = field<string[]>(ep, 'Aliases', 'strings', 'EndpointConfig.Aliases');
    const ipamCfg = field<Json>(ep, 'IPAMConfig', 'object', 'EndpointConfig.IPAMConfig') ?? {};
    const ip = field<string>(ipamCfg, 'IPv4Address', 'string', 'EndpointConfig.IPAMConfig.IPv4Address');
    const ip6 = field<string>(ipamCfg, 'IPv6Address', 'string', 'EndpointConfig.IPAMConfig.IPv6Address');
    if (ip6) throw new SkiffError('UNSUPPORTED', `${ip6}: ${NO_IPV6}`);
    const links = field<string[]>(ep, 'Links', 'strings', 'EndpointConfig.Links');
    await engine.connectNetwork({ network: n.id, container, ...(aliases?.length ? { aliases } : {}), ...(ip ? { ip } : {}), ...(links?.length ? { links } : {}) });
    call.send(200);
  });

  r.add('POST /networks/{id}/disconnect', async (call) => {
    const n = await find(call.params['id']!);
    const body = await call.json();
    const container = field<string>(body, 'Container', 'string', 'Container');
    if (!container) throw badRequest('field Container is required');
    const rec = await engine.inspectContainer({ id: container });
    await engine.disconnectNetwork({ network: n.id, container: rec.id, force: field<boolean>(body, 'Force', 'boolean', 'Force') ?? false });
    call.send(200);
  });
}

export function pluginRoutes(r: Router): void {
  r.add('GET /plugins', async (call) => call.send(200, []));
  r.add('GET /plugins/{name*}/json', async (call) => {
    throw notFound(`plugin "${call.params['name']}" not found`);
  });
}
