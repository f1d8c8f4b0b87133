/**
 * /networks, read-only: Docker's three predefined networks, so clients that list or inspect them
 * (`docker inspect` probes every object type, compose looks for "bridge") get Docker's answers.
 * skiff has no user networks yet: creating one is a 501 naming the endpoint (router.ts).
 * Plugins likewise: there are none, so listing is empty and inspecting one is Docker's 404.
 */
import type { Router } from './router.ts';
import { filters } from './query.ts';
import { notFound } from './errors.ts';

const PREDEFINED = ['bridge', 'host', 'none'].map((name, i) => ({
  Name: name,
  // Stable IDs: 64 hex digits derived from the name's position.
  Id: `${String(i + 1).repeat(64)}`,
  Created: '1970-01-01T00:00:00Z', Scope: 'local', Driver: name === 'bridge' ? 'bridge' : name === 'host' ? 'host' : 'null',
  EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false,
  ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {},
}));

export function networkRoutes(r: Router): void {
  r.add('GET /networks', async (call) => {
    const f = filters(call.query);
    const names = f['name'] ?? [];
    call.send(200, PREDEFINED.filter((n) => names.length === 0 || names.some((x) => n.Name.includes(x))));
  });
  r.add('GET /networks/{id}', async (call) => {
    const id = call.params['id']!;
    const n = PREDEFINED.find((x) => x.Name === id || (id.length >= 1 && x.Id.startsWith(id)));
    if (!n) throw notFound(`network ${id} not found`);
    call.send(200, n);
  });
}

export function pluginRoutes(r: Router): void {
  r.add('GET /plugins', async (call) => call.send(200, []));
  r.add('GET /plugins/{name*}/json', async (call) => {
    throw notFound(`plugin "${call.params['name']}" not found`);
  });
}
