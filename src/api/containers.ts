/**
 * /containers/*: create, start, kill, stop, restart, resize, list, inspect, remove, prune,
 * rename, export, changes, top; attach, wait and logs stream (container-streams.ts). Containers
 * started here run in this process (hub.ts); ones another skiff process runs are stopped, killed
 * and inspected through the engine.
 */
import type { Engine } from '../engine/engine.ts';
import type { ContainerRecord } from '../engine/types.ts';
import { startFailureExitCode } from '../runtime/start-failure.ts';
import { filterContainers, filtersWantAll } from '../engine/container-filter.ts';
import { concatBytes, type Call } from './call.ts';
import { createOptions } from './create-body.ts';
import { ApiError, badRequest, conflict } from './errors.ts';
import type { Hub } from './hub.ts';
import type { RestartPolicies } from './restart.ts';
import { containerStreamRoutes, isRunning, statusOf } from './container-streams.ts';
import { containerEvent } from './events.ts';
import { bool, filters, int } from './query.ts';
import type { Router } from './router.ts';
import { containerInspect, containerSummary } from './views.ts';
import { withoutOwnPs } from '../cli/present/top.ts';

/** `ps` output as Docker's top answer: the header's words as Titles, the last column keeps its spaces. */
export function parseTop(text: string): { Titles: string[]; Processes: string[][] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines.shift() ?? '').trim().split(/\s+/);
  const processes = lines.map((l) => {
    const words = l.trim().split(/\s+/);
    return [...words.slice(0, titles.length - 1), words.slice(titles.length - 1).join(' ')];
  });
  return { Titles: titles, Processes: processes };
}

export function containerRoutes(r: Router, engine: Engine, hub: Hub, policies: RestartPolicies): void {
  const find = (call: Call) => engine.inspectContainer({ id: call.params['id']! });

  r.add('POST /containers/create', async (call) => {
    const opts = createOptions(await call.json(), call.query.get('name') ?? undefined);
    const rec = await engine.createContainer(opts);
    call.send(201, { Id: rec.id, Warnings: [] });
    // Docker's clients attach and ask to wait before they start: the root filesystem opens meanwhile
    // (the one live overlay start will use) instead of on start's path.
    void engine.containerFs({ id: rec.id }).catch(() => {});
  });

  r.add('GET /containers/json', async (call) => {
    const f = filters(call.query);
    const all = bool(call.query, 'all') || filtersWantAll(f);
    // An unknown key or health value is INVALID_ARGUMENT: Docker's 400.
    let rows = filterContainers(await engine.listContainers({ all }), f);
    const limit = int(call.query, 'limit');
    if (limit !== undefined && limit > 0) rows = rows.slice(0, limit);
    // size=1 (docker ps -s): the writable layer, and the rootfs it makes with the image (Docker's SizeRootFs).
    if (!bool(call.query, 'size')) return call.send(200, rows.map(containerSummary));
    const images = new Map((await engine.listImages()).map((i) => [i.id as string, i.size]));
    call.send(200, rows.map((c) => {
      const rw = c.upper?.size ?? 0;
      return { ...containerSummary(c), SizeRw: rw, SizeRootFs: rw + (images.get(c.imageId) ?? 0) };
    }));
  });

  r.add('GET /containers/{id}/json', async (call) => {
    const rec = await find(call);
    const view = containerInspect(rec);
    // Between an exit and the policy's restart, Docker says "restarting".
    if (policies.pending(rec.id)) Object.assign(view['State'] as object, { Status: 'restarting', Restarting: true });
    call.send(200, view);
  });

  r.add('POST /containers/{id}/start', async (call) => {
    const rec = await find(call);
    if (hub.process(rec.id) || isRunning(rec)) return call.send(304);
    await policies.startedByHand(rec.id);
    try {
      await hub.start(rec.id);
    } catch (err) {
      // The engine recorded the failed start; attached clients and waiters learn of it now.
      const after = await engine.inspectContainer({ id: rec.id }).catch(() => rec);
      hub.failed(rec.id, statusOf(after));
      // Docker's CLI turns these words into run's exit status (127 / 126), so they are Docker's.
      const msg = err instanceof Error ? err.message : String(err);
      const code = startFailureExitCode(err);
      if (code === 127) throw badRequest(`${msg}: exec: "${rec.spec.args[0]}": executable file not found in $PATH`);
      if (code === 126) throw badRequest(`${msg}: exec: "${rec.spec.args[0]}": permission denied`);
      throw err;
    }
    call.send(204);
  });

  containerStreamRoutes(r, engine, hub);

  r.add('POST /containers/{id}/kill', async (call) => {
    const rec = await find(call);
    const signal = call.query.get('signal') || 'SIGKILL';
    await policies.stoppedByHand(rec.id);
    await engine.killContainer({ id: rec.id, signal });
    call.send(204);
  });

  r.add('POST /containers/{id}/stop', async (call) => {
    const rec = await find(call);
    // Before the not-running answer: a stop also cancels a restart the policy has pending.
    await policies.stoppedByHand(rec.id);
    if (!isRunning(rec) && !hub.process(rec.id)) return call.send(304);
    const t = int(call.query, 't') ?? int(call.query, 'timeout');
    const signal = call.query.get('signal') || undefined;
    await engine.stopContainer({ id: rec.id, ...(t !== undefined ? { timeout: t } : {}), ...(signal ? { signal } : {}) });
    call.send(204);
  });

  r.add('POST /containers/{id}/restart', async (call) => {
    const rec = await find(call);
    const t = int(call.query, 't') ?? int(call.query, 'timeout');
    await policies.stoppedByHand(rec.id);
    if (isRunning(rec) || hub.process(rec.id)) await engine.stopContainer({ id: rec.id, ...(t !== undefined ? { timeout: t } : {}) });
    await policies.startedByHand(rec.id);
    await hub.start(rec.id);
    containerEvent(engine, rec, 'restart');
    call.send(204);
  });

  r.add('POST /containers/{id}/resize', async (call) => {
    const h = int(call.query, 'h');
    const w = int(call.query, 'w');
    if (!h || !w) throw badRequest('resize: query parameters h and w (rows and columns) are required');
    await engine.resizeContainer({ id: call.params['id']!, rows: h, cols: w });
    call.send(200);
  });

  r.add('POST /containers/{id}/rename', async (call) => {
    const name = call.query.get('name');
    if (!name) throw badRequest('rename: query parameter name is required');
    await engine.renameContainer({ id: call.params['id']!, name });
    call.send(204);
  });

  r.add('DELETE /containers/{id}', async (call) => {
    const rec = await engine.removeContainer({ id: call.params['id']!, force: bool(call.query, 'force') });
    policies.cancel(rec.id);
    // `-v`: the anonymous volumes go with it (named ones stay, as Docker).
    if (bool(call.query, 'v')) {
      for (const m of rec.spec.mounts) if (m.type === 'volume' && m.anonymous) await engine.removeVolume({ name: m.name }).catch(() => {});
    }
    call.send(204);
  });

  r.add('POST /containers/prune', async (call) => {
    const p = await engine.pruneContainers();
    call.send(200, { ContainersDeleted: p.deleted.length ? p.deleted : null, SpaceReclaimed: p.reclaimed });
  });

  r.add('GET /containers/{id}/export', async (call) => {
    const chunks = await engine.exportContainer({ id: call.params['id']! });
    const w = call.begin(200, 'application/x-tar');
    for await (const c of chunks) {
      if (call.aborted) break;
      await w.write(c);
    }
    w.end();
  });

  r.add('GET /containers/{id}/top', async (call) => {
    const rec = await find(call);
    if (!isRunning(rec)) throw conflict(`Container ${rec.id} is not running`);
    // skiff's containers run in a VM (or a wasm worker): no host `ps` sees them, so `ps` runs inside.
    const args = (call.query.get('ps_args') || '-ef').split(/\s+/).filter(Boolean);
    const chunks: Uint8Array[] = [];
    const errs: Uint8Array[] = [];
    const proc = await engine.execContainer({ id: rec.id, cmd: ['ps', ...args], io: { onStdout: (d) => void chunks.push(d), onStderr: (d) => void errs.push(d) } });
    const status = await proc.wait();
    const text = new TextDecoder().decode(concatBytes(chunks));
    if (status.exitCode !== 0) throw new ApiError(500, `ps ${args.join(' ')} in the container exited ${status.exitCode}: ${new TextDecoder().decode(concatBytes(errs)).trim() || status.error || 'no ps in the image?'}`);
    call.send(200, parseTop(withoutOwnPs(text, ['ps', ...args])));
  });

  r.add('GET /containers/{id}/changes', async (call) => {
    const kinds = { C: 0, A: 1, D: 2 } as const;
    const changes = await engine.containerChanges({ id: call.params['id']! });
    call.send(200, changes.length ? changes.map((c) => ({ Path: c.path, Kind: kinds[c.kind] })) : null);
  });
}
