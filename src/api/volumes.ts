/** /volumes: list, create, inspect, remove, prune. */
import type { Engine } from '../engine/engine.ts';
import type { Call } from './call.ts';
import { field } from './create-body.ts';
import { badRequest } from './errors.ts';
import { bool, filters } from './query.ts';
import type { Router } from './router.ts';
import { volumeView } from './views.ts';

export function volumeRoutes(r: Router, engine: Engine): void {
  r.add('GET /volumes', async (call) => {
    const f = filters(call.query);
    let vols = await engine.listVolumes();
    if (f['name']?.length) vols = vols.filter((v) => f['name']!.some((n) => v.name.includes(n)));
    if (f['label']?.length) vols = vols.filter((v) => f['label']!.every((l) => { const [k, val] = l.split('=', 2) as [string, string?]; return k in v.labels && (val === undefined || v.labels[k] === val); }));
    if (f['dangling']?.length) {
      const used = new Set((await engine.listContainers({ all: true })).flatMap((c) => c.volumes ?? []));
      const want = f['dangling'][0] === 'true' || f['dangling'][0] === '1';
      vols = vols.filter((v) => used.has(v.name) !== want);
    }
    call.send(200, { Volumes: vols.map(volumeView), Warnings: null });
  });

  r.add('POST /volumes/create', async (call) => {
    const body = await call.json();
    const name = field<string>(body, 'Name', 'string', 'Name');
    const labels = field<Record<string, string>>(body, 'Labels', 'object', 'Labels');
    const driver = field<string>(body, 'Driver', 'string', 'Driver');
    if (driver && driver !== 'local') throw badRequest(`invalid value for field Driver: volume driver "${driver}" is not supported (only "local")`);
    const v = await engine.createVolume({ ...(name ? { name } : {}), ...(labels ? { labels } : {}) });
    call.send(201, volumeView(v));
  });

  const name = (call: Call) => call.params['name']!;
  r.add('GET /volumes/{name}', async (call) => call.send(200, volumeView(await engine.inspectVolume({ name: name(call) }))));
  r.add('DELETE /volumes/{name}', async (call) => {
    await engine.removeVolume({ name: name(call), force: bool(call.query, 'force') });
    call.send(204);
  });
  r.add('POST /volumes/prune', async (call) => {
    const f = filters(call.query);
    // API >= 1.42 prunes only anonymous volumes unless all=true, as `docker volume prune`.
    const all = (f['all'] ?? []).some((v) => v === 'true' || v === '1');
    const p = await engine.pruneVolumes({ all });
    call.send(200, { VolumesDeleted: p.deleted.length ? p.deleted : null, SpaceReclaimed: p.reclaimed });
  });
}
