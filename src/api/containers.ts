/**
 * /containers/*: create, start, attach, wait, logs, kill, stop, restart, resize, list, inspect,
 * remove, prune, rename, export, changes. Containers started here run in this process (hub.ts);
 * ones another skiff process runs are stopped, killed, waited for and followed through the engine.
 */
import type { Engine } from '../engine/engine.ts';
import type { LogEntry } from '../engine/lifecycle.ts';
import type { ContainerRecord } from '../engine/types.ts';
import { isSkiffError } from '../errors.ts';
import { startFailureExitCode } from '../runtime/start-failure.ts';
import type { ExitStatus } from '../runtime/types.ts';
import { concatBytes, type Call } from './call.ts';
import { outputConnection } from './connection.ts';
import { createOptions } from './create-body.ts';
import { ApiError, badRequest, conflict } from './errors.ts';
import type { Hub } from './hub.ts';
import type { EventLog } from './events.ts';
import { bool, filters, int, time } from './query.ts';
import type { Router } from './router.ts';
import { MULTIPLEXED_STREAM, RAW_STREAM } from './stream.ts';
import { containerInspect, containerSummary, recordedOf } from './views.ts';

const enc = new TextEncoder();

function statusOf(rec: ContainerRecord): ExitStatus {
  return { exitCode: rec.exitCode ?? 0, oomKilled: rec.exit?.oomKilled ?? false, ...(rec.exit?.error ? { error: rec.exit.error } : {}) };
}

const isRunning = (rec: ContainerRecord): boolean => rec.state === 'running' || rec.state === 'paused';

/** Log chunks split at line ends (Docker keeps one entry per line: `tail` counts lines). */
export function logLines(entries: LogEntry[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const e of entries) {
    let start = 0;
    for (let i = 0; i < e.data.length; i++) {
      if (e.data[i] === 0x0a) {
        out.push({ ...e, data: e.data.subarray(start, i + 1) });
        start = i + 1;
      }
    }
    if (start < e.data.length) out.push({ ...e, data: e.data.subarray(start) });
  }
  return out;
}

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

/** RFC 3339 with nanoseconds, as Docker prints log timestamps. */
export function nanoTime(iso: string): string {
  return iso.replace(/\.(\d+)Z$/, (_m, f: string) => `.${f.padEnd(9, '0')}Z`).replace(/:(\d\d)Z$/, ':$1.000000000Z');
}

export function containerRoutes(r: Router, engine: Engine, hub: Hub, events: EventLog): void {
  const find = (call: Call) => engine.inspectContainer({ id: call.params['id']! });
  const emit = (rec: ContainerRecord, action: string, extra: Record<string, string> = {}) => events.emit('container', action, rec.id, { name: rec.name, image: rec.imageRef, ...rec.labels, ...extra });

  r.add('POST /containers/create', async (call) => {
    const opts = createOptions(await call.json(), call.query.get('name') ?? undefined);
    const rec = await engine.createContainer(opts);
    emit(rec, 'create');
    call.send(201, { Id: rec.id, Warnings: [] });
  });

  r.add('GET /containers/json', async (call) => {
    const f = filters(call.query);
    const all = bool(call.query, 'all') || Boolean(f['status']?.length || f['exited']?.length);
    let rows = await engine.listContainers({ all });
    const label = (c: ContainerRecord, l: string): boolean => {
      const [k, v] = l.split('=', 2) as [string, string?];
      return k in c.labels && (v === undefined || c.labels[k] === v);
    };
    const tests: Record<string, (c: ContainerRecord, v: string) => boolean> = {
      status: (c, v) => c.state === v,
      name: (c, v) => c.name.includes(v.replace(/^\//, '')),
      id: (c, v) => c.id.startsWith(v),
      label,
      ancestor: (c, v) => c.imageRef === v || c.imageId === v || c.imageId.startsWith(`sha256:${v}`),
      exited: (c, v) => c.state === 'exited' && String(c.exitCode ?? 0) === v,
    };
    for (const [k, values] of Object.entries(f)) {
      const t = tests[k];
      if (!t) throw badRequest(`invalid filter '${k}'`);
      rows = rows.filter((c) => (k === 'label' ? values.every((v) => t(c, v)) : values.some((v) => t(c, v))));
    }
    const limit = int(call.query, 'limit');
    if (limit !== undefined && limit > 0) rows = rows.slice(0, limit);
    call.send(200, rows.map(containerSummary));
  });

  r.add('GET /containers/{id}/json', async (call) => call.send(200, containerInspect(await find(call))));

  r.add('POST /containers/{id}/start', async (call) => {
    const rec = await find(call);
    if (hub.process(rec.id) || isRunning(rec)) return call.send(304);
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

  r.add('POST /containers/{id}/attach', async (call) => {
    const rec = await find(call);
    const q = call.query;
    const want = { stdout: bool(q, 'stdout'), stderr: bool(q, 'stderr') };
    const conn = outputConnection(call.hijack(rec.spec.tty ? RAW_STREAM : MULTIPLEXED_STREAM), rec.spec.tty);
    const out = (kind: 'stdout' | 'stderr', d: Uint8Array) => (want[kind] ? conn.write(kind, d) : undefined);
    if (bool(q, 'logs')) for (const e of await engine.containerLogs({ id: rec.id })) await out(e.stream, e.data);
    if (!bool(q, 'stream')) return conn.end();
    if (conn.stdin) wireStdin(conn.stdin, rec, bool(q, 'stdin'));
    if (isRunning(rec) && !hub.process(rec.id)) {
      // Run by another skiff process: its output as it comes, through the engine.
      const f = await engine.followContainerLogs({ id: rec.id, onEntry: (e) => void out(e.stream, e.data) });
      call.onAbort(() => conn.end());
      await f.done();
      return conn.end();
    }
    emit(rec, 'attach');
    const detach = hub.attach(rec.id, { output: out, end: () => conn.end() });
    call.onAbort(detach);
  });

  function wireStdin(sock: NonNullable<ReturnType<typeof outputConnection>['stdin']>, rec: ContainerRecord, stdin: boolean): void {
    if (!stdin || !rec.spec.openStdin) {
      sock.on('data', () => {});
      return;
    }
    sock.on('data', (d: Uint8Array) => void hub.whenStarted(rec.id).then((p) => p.writeStdin(new Uint8Array(d))));
    // The client closed its stdin: with StdinOnce (docker run -i) the container's stdin closes too.
    sock.on('end', () => { if (recordedOf(rec).stdinOnce) void hub.whenStarted(rec.id).then((p) => p.closeStdin()); });
  }

  r.add('POST /containers/{id}/wait', async (call) => {
    const rec = await find(call);
    const condition = call.query.get('condition') || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw badRequest(`invalid value for query parameter condition: "${condition}" (not-running, next-exit, removed)`);
    const w = call.begin(200, 'application/json');
    let status: ExitStatus;
    try {
      if (hub.process(rec.id) || isRunning(rec)) status = await engine.waitContainer({ id: rec.id });
      else if (condition === 'not-running') status = statusOf(rec);
      else status = await nextExit(rec.id, call);
      if (condition === 'removed') await gone(rec.id, call);
    } catch (err) {
      await w.write(JSON.stringify({ StatusCode: -1, Error: { Message: err instanceof Error ? err.message : String(err) } }));
      return w.end();
    }
    await w.write(JSON.stringify({ StatusCode: status.exitCode, Error: status.error ? { Message: status.error } : null }) + '\n');
    w.end();
  });

  /** The next exit: of a start through this server, or of a run another skiff process starts. */
  async function nextExit(id: string, call: Call): Promise<ExitStatus> {
    const here = hub.nextExit(id);
    for (;;) {
      const tick = new Promise<'tick'>((res) => setTimeout(() => res('tick'), 500));
      const first = await Promise.race([here, tick]);
      if (first !== 'tick') return first;
      if (call.aborted) throw new Error('client went away');
      const rec = await engine.inspectContainer({ id }).catch(() => undefined);
      if (rec && isRunning(rec) && !hub.process(id)) return engine.waitContainer({ id });
    }
  }

  async function gone(id: string, call: Call): Promise<void> {
    while (!call.aborted) {
      try {
        await engine.inspectContainer({ id });
      } catch (err) {
        if (isSkiffError(err, 'NOT_FOUND')) return;
        throw err;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  r.add('GET /containers/{id}/logs', async (call) => {
    const rec = await find(call);
    const q = call.query;
    const want = { stdout: bool(q, 'stdout'), stderr: bool(q, 'stderr') };
    if (!want.stdout && !want.stderr) throw badRequest('Bad parameters: you must choose at least one stream');
    const since = time(q, 'since');
    const until = time(q, 'until');
    const stamps = bool(q, 'timestamps');
    const tailRaw = q.get('tail');
    const tail = tailRaw === null || tailRaw === '' || tailRaw === 'all' ? undefined : Number(tailRaw);
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw badRequest(`invalid value for query parameter tail: "${tailRaw}"`);
    const w = outputConnection(call.begin(200, rec.spec.tty ? RAW_STREAM : MULTIPLEXED_STREAM), rec.spec.tty);
    const keep = (e: LogEntry): boolean => {
      const t = Date.parse(e.time);
      return want[e.stream] && (since === undefined || t >= since) && (until === undefined || t <= until);
    };
    const emit = (e: LogEntry): Promise<void> => w.write(e.stream, stamps ? new Uint8Array([...enc.encode(`${nanoTime(e.time)} `), ...e.data]) : e.data);
    const backlog = (entries: LogEntry[]): LogEntry[] => {
      const lines = logLines(entries).filter(keep);
      return tail === undefined ? lines : tail === 0 ? [] : lines.slice(-tail);
    };
    if (!bool(q, 'follow')) {
      for (const e of backlog(await engine.containerLogs({ id: rec.id }))) await emit(e);
      return w.end();
    }
    // Live entries queue up until the backlog is out, so the order holds.
    let live: LogEntry[] | null = [];
    const f = await engine.followContainerLogs({ id: rec.id, onEntry: (e) => { if (live) live.push(e); else if (keep(e)) void emit(e); } });
    for (const e of backlog(f.entries)) await emit(e);
    for (const e of logLines(live)) if (keep(e)) await emit(e);
    live = null;
    await Promise.race([f.done(), new Promise<void>((res) => call.onAbort(res))]);
    w.end();
  });

  r.add('POST /containers/{id}/kill', async (call) => {
    const rec = await find(call);
    const signal = call.query.get('signal') || 'SIGKILL';
    await engine.killContainer({ id: rec.id, signal });
    emit(rec, 'kill', { signal });
    call.send(204);
  });

  r.add('POST /containers/{id}/stop', async (call) => {
    const rec = await find(call);
    if (!isRunning(rec) && !hub.process(rec.id)) return call.send(304);
    const t = int(call.query, 't') ?? int(call.query, 'timeout');
    const signal = call.query.get('signal') || undefined;
    await engine.stopContainer({ id: rec.id, ...(t !== undefined ? { timeout: t } : {}), ...(signal ? { signal } : {}) });
    emit(rec, 'stop');
    call.send(204);
  });

  r.add('POST /containers/{id}/restart', async (call) => {
    const rec = await find(call);
    const t = int(call.query, 't') ?? int(call.query, 'timeout');
    if (isRunning(rec) || hub.process(rec.id)) await engine.stopContainer({ id: rec.id, ...(t !== undefined ? { timeout: t } : {}) });
    await hub.start(rec.id);
    emit(rec, 'restart');
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
    const rec = await engine.renameContainer({ id: call.params['id']!, name });
    emit(rec, 'rename');
    call.send(204);
  });

  r.add('DELETE /containers/{id}', async (call) => {
    const rec = await engine.removeContainer({ id: call.params['id']!, force: bool(call.query, 'force') });
    emit(rec, 'destroy');
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
    call.send(200, parseTop(text));
  });

  r.add('GET /containers/{id}/changes', async (call) => {
    const kinds = { C: 0, A: 1, D: 2 } as const;
    const changes = await engine.containerChanges({ id: call.params['id']! });
    call.send(200, changes.length ? changes.map((c) => ({ Path: c.path, Kind: kinds[c.kind] })) : null);
  });
}
