/**
 * /containers/{id}/stats, pause, unpause and update. A stats sample is the runtime's cgroup
 * counters (runtime/vm/cgroups.ts) in Docker's JSON, with the previous sample as `precpu_stats`
 * so clients compute CPU % the way Docker's CLI does: (container CPU delta / machine CPU delta) x
 * online CPUs. `stream=false` takes two samples a second apart (Docker's daemon does too) unless
 * `one-shot`. A container that is not running gets Docker's all-zero sample.
 */
import type { Engine } from '../engine/engine.ts';
import type { ContainerRecord } from '../engine/types.ts';
import type { LimitUpdate, ResourceStats } from '../runtime/types.ts';
import type { Call } from './call.ts';
import { isRunning } from './container-streams.ts';
import { field, RECORDED, restartPolicyOf, type DockerRecorded } from './create-body.ts';
import { badRequest, conflict } from './errors.ts';
import { containerEvent } from './events.ts';
import { bool } from './query.ts';
import type { Router } from './router.ts';
import { recordedOf } from './views.ts';

const ZERO_TIME = '0001-01-01T00:00:00Z';

function cpuView(s: ResourceStats | undefined): Record<string, unknown> {
  return {
    cpu_usage: { total_usage: s?.cpuNs ?? 0, usage_in_kernelmode: s?.cpuSystemNs ?? 0, usage_in_usermode: s?.cpuUserNs ?? 0 },
    ...(s ? { system_cpu_usage: s.systemNs, online_cpus: s.onlineCpus } : {}),
    throttling_data: { periods: s?.throttling.periods ?? 0, throttled_periods: s?.throttling.throttledPeriods ?? 0, throttled_time: s?.throttling.throttledNs ?? 0 },
  };
}

/** One sample in Docker's stats JSON (cgroup v2 shape), `prev` as precpu. */
export function statsView(rec: ContainerRecord, s: ResourceStats | undefined, read: string, prev?: { s: ResourceStats; read: string }): Record<string, unknown> {
  const blk = (op: 'read' | 'write', v: number) => ({ major: 0, minor: 0, op, value: v });
  return {
    read, preread: prev?.read ?? ZERO_TIME,
    pids_stats: s ? { current: s.pids, ...(s.pidsLimit !== undefined ? { limit: s.pidsLimit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: s ? [blk('read', s.io.readBytes), blk('write', s.io.writeBytes)] : null,
      io_serviced_recursive: s ? [blk('read', s.io.reads), blk('write', s.io.writes)] : null,
      io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0, storage_stats: {},
    cpu_stats: cpuView(s), precpu_stats: cpuView(prev?.s),
    memory_stats: s ? { usage: s.memoryBytes, stats: s.memoryStat, limit: s.memoryLimitBytes } : {},
    name: `/${rec.name}`, id: rec.id,
    ...(s ? {
      networks: Object.fromEntries(Object.entries(s.networks).map(([n, v]) => [n, {
        rx_bytes: v.rxBytes, rx_packets: v.rxPackets, rx_errors: v.rxErrors, rx_dropped: v.rxDropped,
        tx_bytes: v.txBytes, tx_packets: v.txPackets, tx_errors: v.txErrors, tx_dropped: v.txDropped,
      }])),
    } : {}),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `POST /containers/{id}/update`'s body: the limits, and a restart policy to record. */
export function updateBody(body: Record<string, unknown>): { limits: LimitUpdate; restart?: DockerRecorded['restartPolicy'] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object (Docker\'s UpdateConfig)');
  const n = (key: string) => field<number>(body, key, 'number', key);
  const limits: LimitUpdate = {};
  const take = (key: string, to: keyof LimitUpdate, keepZero = false) => {
    const v = n(key);
    if (v !== undefined && (v !== 0 || keepZero)) limits[to] = v;
  };
  take('Memory', 'memory');
  take('MemorySwap', 'memorySwap');
  take('MemoryReservation', 'memoryReservation');
  take('NanoCpus', 'cpus');
  take('CpuQuota', 'cpuQuota');
  take('CpuPeriod', 'cpuPeriod');
  take('CpuShares', 'cpuShares');
  take('PidsLimit', 'pidsLimit');
  // What skiff's guest has no controller for is refused by name rather than ignored.
  for (const key of ['BlkioWeight', 'KernelMemory', 'KernelMemoryTCP', 'CpuRealtimePeriod', 'CpuRealtimeRuntime']) {
    if (n(key)) throw badRequest(`invalid value for field ${key}: skiff's guest has no controller for it (it supports Memory, MemorySwap, MemoryReservation, NanoCpus, CpuQuota, CpuPeriod, CpuShares, PidsLimit)`);
  }
  for (const key of ['CpusetCpus', 'CpusetMems']) {
    if (field<string>(body, key, 'string', key)) throw badRequest(`invalid value for field ${key}: the guest has one CPU and one memory node`);
  }
  const rp = field<Record<string, unknown>>(body, 'RestartPolicy', 'object', 'RestartPolicy');
  return { limits, ...(rp && rp['Name'] !== undefined ? { restart: restartPolicyOf(rp, 'RestartPolicy') } : {}) };
}

export function resourceRoutes(r: Router, engine: Engine, onRestartPolicy: (id: string) => void): void {
  const find = (call: Call) => engine.inspectContainer({ id: call.params['id']! });

  r.add('POST /containers/{id}/pause', async (call) => {
    const rec = await find(call);
    if (!isRunning(rec)) throw conflict(`Container ${rec.id} is not running`);
    await engine.pauseContainer({ id: rec.id });
    call.send(204);
  });

  r.add('POST /containers/{id}/unpause', async (call) => {
    await engine.unpauseContainer({ id: call.params['id']! });
    call.send(204);
  });

  r.add('POST /containers/{id}/update', async (call) => {
    const rec = await find(call);
    const { limits, restart } = updateBody(await call.json());
    if (restart && restart.Name !== 'no' && rec.autoRemove) throw badRequest('Restart policy cannot be updated because AutoRemove is enabled for the container');
    let after = Object.keys(limits).length ? await engine.updateContainerResources({ id: rec.id, limits }) : rec;
    if (restart) {
      const recorded = { ...recordedOf(after), restartPolicy: restart };
      after = await engine.updateContainer({ id: rec.id, patch: { runtimeData: { ...after.runtimeData, [RECORDED]: recorded } } });
      onRestartPolicy(rec.id);
    }
    // Limits report themselves (the engine); a restart policy alone is this server's change.
    if (!Object.keys(limits).length) containerEvent(engine, after, 'update');
    call.send(200, { Warnings: [] });
  });

  r.add('GET /containers/{id}/stats', async (call) => {
    const rec = await find(call);
    const stream = bool(call.query, 'stream', true);
    const oneShot = bool(call.query, 'one-shot');
    if (oneShot && stream) throw badRequest('cannot have stream=true and one-shot=true');
    const sample = async (): Promise<{ s: ResourceStats; read: string } | undefined> => {
      const cur = await engine.inspectContainer({ id: rec.id }).catch(() => undefined);
      if (!cur || !isRunning(cur)) return undefined;
      return { s: await engine.containerStats({ id: rec.id }), read: new Date().toISOString() };
    };
    if (!stream) {
      let prev = oneShot ? undefined : await sample();
      if (prev) await sleep(1000);
      const now = await sample();
      if (!now) prev = undefined;
      return call.send(200, statsView(rec, now?.s, now?.read ?? ZERO_TIME, prev));
    }
    const w = call.begin(200, 'application/json');
    let prev: { s: ResourceStats; read: string } | undefined;
    while (!call.aborted) {
      const now = await sample().catch(() => undefined);
      await w.write(`${JSON.stringify(statsView(rec, now?.s, now?.read ?? ZERO_TIME, prev))}\n`);
      if (!now) break;
      prev = now;
      await sleep(1000);
    }
    w.end();
  });
}
