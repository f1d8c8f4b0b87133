/**
 * A running container's cgroup in the guest (crun puts container `id` at
 * /sys/fs/cgroup<parent>/<id>, cgroup v2): `docker pause` is its freezer (cgroup.freeze), `docker
 * update` writes its limit files, `docker stats` reads its counters. Writes are one agent
 * `write_file` each; a read is one guest `head` over every file at once (a spawn, no agent op
 * of its own), parsed here. The guest has no block devices (filesystems are 9P from the host), so
 * I/O is what the host served the container's root filesystem over 9P (`countingFs`; volumes are
 * exports shared between containers, so they are not counted per container).
 */
import { SkiffError } from '../../errors.ts';
import type { FileSystem } from '../../fs/types.ts';
import type { LimitUpdate, ResourceStats } from '../types.ts';
import type { AgentClient } from './agent-client.ts';

export interface IoCounter { readBytes: number; writeBytes: number; reads: number; writes: number }

export const newIoCounter = (): IoCounter => ({ readBytes: 0, writeBytes: 0, reads: 0, writes: 0 });

/** `fs` with its reads and writes counted into `c` (the same node identities: methods are the target's own). */
export function countingFs(fs: FileSystem, c: IoCounter): FileSystem {
  return new Proxy(fs, {
    get(target, key) {
      const v = Reflect.get(target, key, target) as unknown;
      if (key === 'read') return (node: Parameters<FileSystem['read']>[0], offset: number, length: number) => {
        const data = target.read(node, offset, length);
        c.reads++;
        c.readBytes += data.length;
        return data;
      };
      if (key === 'readImageFile' && v) return (node: Parameters<FileSystem['read']>[0], offset: number, length: number) => {
        const data = target.readImageFile!(node, offset, length);
        c.reads++;
        c.readBytes += data.length;
        return data;
      };
      if (key === 'write') return (node: Parameters<FileSystem['write']>[0], offset: number, data: Uint8Array) => {
        const n = target.write(node, offset, data);
        c.writes++;
        c.writeBytes += n;
        return n;
      };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const CGROUP_FILES = ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'pids.current', 'pids.max', 'cgroup.freeze'] as const;

/** Runs `args` in the guest (no container) and gives its stdout; a failure names what ran. */
async function guestOutput(agent: AgentClient, args: string[]): Promise<string> {
  const p = await agent.spawn({ args, env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  const [out] = await Promise.all([p.stdout.text(), p.stderr.text()]);
  await p.wait();
  return out;
}

/** `head`'s output over several files: "==> path <==" then the file, per file. */
export function splitHeadOutput(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^==> (.+) <==$/gm;
  const marks = [...text.matchAll(re)];
  marks.forEach((m, i) => {
    const start = m.index! + m[0].length + 1;
    const end = i + 1 < marks.length ? marks[i + 1]!.index! : text.length;
    out.set(m[1]!, text.slice(start, end).trim());
  });
  return out;
}

function keyValues(text: string | undefined): Record<string, number> {
  const o: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) o[k] = Number(v);
  }
  return o;
}

/** The interfaces of /proc/<pid>/net/dev, loopback left out (Docker reports none either). */
export function parseNetDev(text: string | undefined): ResourceStats['networks'] {
  const nets: ResourceStats['networks'] = {};
  for (const line of (text ?? '').split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    nets[m[1]!] = { rxBytes: f[0] ?? 0, rxPackets: f[1] ?? 0, rxErrors: f[2] ?? 0, rxDropped: f[3] ?? 0, txBytes: f[8] ?? 0, txPackets: f[9] ?? 0, txErrors: f[10] ?? 0, txDropped: f[11] ?? 0 };
  }
  return nets;
}

/** The guest's CPU time (all fields of /proc/stat's "cpu" line, in USER_HZ = 100 ticks/s) in ns, and its CPU count. */
export function parseProcStat(text: string | undefined): { systemNs: number; onlineCpus: number } {
  const lines = (text ?? '').split('\n');
  const total = (lines.find((l) => l.startsWith('cpu '))?.trim().split(/\s+/).slice(1) ?? []).reduce((n, x) => n + Number(x || 0), 0);
  return { systemNs: total * 10_000_000, onlineCpus: Math.max(1, lines.filter((l) => /^cpu\d+ /.test(l)).length) };
}

/** One sample of the cgroup at `dir` (and the network of process `pid`). */
export async function readCgroupStats(agent: AgentClient, dir: string, pid: number, io: IoCounter): Promise<ResourceStats> {
  const paths = [...CGROUP_FILES.map((f) => `${dir}/${f}`), '/proc/stat', '/proc/meminfo', ...(pid > 0 ? [`/proc/${pid}/net/dev`] : [])];
  const files = splitHeadOutput(await guestOutput(agent, ['head', '-n', '200', ...paths]));
  const get = (f: string) => files.get(f.startsWith('/proc') ? f : `${dir}/${f}`);
  if (get('memory.current') === undefined) throw new SkiffError('NOT_FOUND', `no cgroup at ${dir} in the guest (has the container exited?)`);
  const cpu = keyValues(get('cpu.stat'));
  const mem = Number(get('memory.current') ?? 0);
  const memMax = get('memory.max');
  const memTotal = (keyValues(get('/proc/meminfo'))['MemTotal:'] ?? 0) * 1024;
  const pidsMax = get('pids.max');
  return {
    cpuNs: (cpu['usage_usec'] ?? 0) * 1000,
    cpuUserNs: (cpu['user_usec'] ?? 0) * 1000,
    cpuSystemNs: (cpu['system_usec'] ?? 0) * 1000,
    ...parseProcStat(get('/proc/stat')),
    throttling: { periods: cpu['nr_periods'] ?? 0, throttledPeriods: cpu['nr_throttled'] ?? 0, throttledNs: (cpu['throttled_usec'] ?? 0) * 1000 },
    memoryBytes: mem,
    memoryLimitBytes: memMax && memMax !== 'max' ? Math.min(Number(memMax), memTotal || Infinity) : memTotal,
    memoryStat: keyValues(get('memory.stat')),
    pids: Number(get('pids.current') ?? 0),
    ...(pidsMax && pidsMax !== 'max' ? { pidsLimit: Number(pidsMax) } : {}),
    io: { ...io },
    networks: parseNetDev(get(`/proc/${pid}/net/dev`)),
    frozen: get('cgroup.freeze') === '1',
  };
}

/** Freezes or thaws every process of the cgroup (cgroup v2 freezer; SIGKILL still reaches frozen ones). */
export async function freezeCgroup(agent: AgentClient, dir: string, frozen: boolean): Promise<void> {
  await agent.writeFile({ path: `${dir}/cgroup.freeze`, data: frozen ? '1' : '0' });
}

/** runc's conversion of cgroup v1 cpu shares (2..262144) to a v2 cpu.weight (1..10000). */
export const sharesToWeight = (shares: number): number => 1 + Math.floor(((Math.min(Math.max(shares, 2), 262144) - 2) * 9999) / 262142);

/** The cgroup files `update` writes and their contents, in the order they must be written. */
export function limitWrites(u: LimitUpdate): Array<[file: string, value: string]> {
  const w: Array<[string, string]> = [];
  const max = (n: number) => (n < 0 ? 'max' : String(n));
  // Raise the swap allowance before lowering memory (the kernel checks neither against the other,
  // but Docker's order keeps a failure half-way harmless).
  if (u.memory !== undefined) {
    w.push(['memory.max', u.memory === 0 ? 'max' : max(u.memory)]);
    const swap = u.memorySwap ?? (u.memory > 0 ? u.memory * 2 : -1);
    w.push(['memory.swap.max', swap < 0 || u.memory <= 0 ? 'max' : String(Math.max(0, swap - u.memory))]);
  } else if (u.memorySwap !== undefined) {
    throw new SkiffError('INVALID_ARGUMENT', 'update: a memory-swap limit needs a memory limit given with it');
  }
  if (u.memoryReservation !== undefined) w.push(['memory.low', u.memoryReservation <= 0 ? '0' : String(u.memoryReservation)]);
  if (u.cpus !== undefined) w.push(['cpu.max', u.cpus <= 0 ? 'max 100000' : `${Math.floor((u.cpus * 100_000) / 1e9)} 100000`]);
  else if (u.cpuQuota !== undefined || u.cpuPeriod !== undefined) {
    const period = u.cpuPeriod && u.cpuPeriod > 0 ? u.cpuPeriod : 100_000;
    w.push(['cpu.max', `${u.cpuQuota && u.cpuQuota > 0 ? u.cpuQuota : 'max'} ${period}`]);
  }
  if (u.cpuShares !== undefined && u.cpuShares > 0) w.push(['cpu.weight', String(sharesToWeight(u.cpuShares))]);
  if (u.pidsLimit !== undefined) w.push(['pids.max', u.pidsLimit <= 0 ? 'max' : String(u.pidsLimit)]);
  return w;
}

export async function updateCgroup(agent: AgentClient, dir: string, u: LimitUpdate): Promise<void> {
  for (const [file, value] of limitWrites(u)) {
    try {
      await agent.writeFile({ path: `${dir}/${file}`, data: value });
    } catch (err) {
      // A guest kernel without swap has no memory.swap.max: nothing to limit there.
      if (file === 'memory.swap.max') continue;
      throw SkiffError.wrap(err, `update: writing ${value} to ${file}`);
    }
  }
}
