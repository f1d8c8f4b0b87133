/**
 * The verbs of a running container: pause, unpause, update, stats, top, attach. Docker's
 * flags and output: `stats` prints Docker's table (CPU % as the CLI computes it from two samples,
 * binary memory units, decimal I/O), live every second until interrupted or with --no-stream once.
 */
import type { ContainerRecord } from '../../engine/types.ts';
import type { LimitUpdate, ResourceStats } from '../../runtime/types.ts';
import { parseMemory } from '../../runtime/spec/flags.ts';
import { displayText } from '../present/escape.ts';
import { STATS_HEADERS } from '../present/headers.ts';
import { formatRows, humanSize, table } from '../present/format.ts';
import { withoutOwnPs } from '../present/top.ts';
import { ExitStatusError, str, type Command } from './context.ts';
import { UsageError } from './flags.ts';
import { each } from './images.ts';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../util/detach-keys.ts';

/** go-units BytesSize: binary units, 4 significant digits ("84KiB", "106.2MiB"). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

export interface StatsRow { ID: string; Name: string; Container: string; CPUPerc: string; MemUsage: string; MemPerc: string; NetIO: string; BlockIO: string; PIDs: string }

/** Docker CLI's row from two samples (`prev` absent: 0% CPU, as its first live frame). */
export function statsRow(rec: ContainerRecord, now: ResourceStats | undefined, prev: ResourceStats | undefined, name: string): StatsRow {
  let cpu = 0;
  if (now && prev) {
    const dc = now.cpuNs - prev.cpuNs;
    const ds = now.systemNs - prev.systemNs;
    if (dc > 0 && ds > 0) cpu = (dc / ds) * now.onlineCpus * 100;
  }
  // cgroup v2: the page cache that can be dropped does not count (inactive_file), as Docker's CLI.
  const mem = now ? Math.max(0, now.memoryBytes - (now.memoryStat['inactive_file'] ?? 0)) : 0;
  const limit = now?.memoryLimitBytes ?? 0;
  const net = Object.values(now?.networks ?? {}).reduce((a, n) => ({ rx: a.rx + n.rxBytes, tx: a.tx + n.txBytes }), { rx: 0, tx: 0 });
  return {
    ID: rec.id.slice(0, 12), Name: name, Container: name,
    CPUPerc: `${cpu.toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    MemPerc: `${(limit > 0 ? (mem / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSize(net.rx)} / ${humanSize(net.tx)}`,
    BlockIO: `${humanSize(now?.io.readBytes ?? 0)} / ${humanSize(now?.io.writeBytes ?? 0)}`,
    PIDs: String(now?.pids ?? 0),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const live = (c: ContainerRecord) => c.state === 'running' || c.state === 'paused';

function printStats(rows: StatsRow[], format: string | undefined): string {
  const formatted = formatRows(format, rows as unknown as Array<Record<string, unknown>>, STATS_HEADERS);
  if (formatted !== undefined) return formatted;
  return table(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
    rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs]));
}

const stats: Command = {
  name: 'stats', aliases: ['container stats'], usage: '[OPTIONS] [CONTAINER...]',
  summary: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { name: 'all', short: 'a', help: 'Show all containers (default shows just running)' },
    { name: 'no-stream', help: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', help: 'Do not truncate output' },
    { name: 'format', value: 'string', help: '"table", "json" or a Go-style template' },
  ],
  async run(ctx, f, names) {
    const pick = async (): Promise<ContainerRecord[]> => names.length
      ? Promise.all(names.map((n) => ctx.engine.inspectContainer({ id: n })))
      : (await ctx.engine.listContainers({ all: f['all'] === true }));
    const sample = async (c: ContainerRecord): Promise<ResourceStats | undefined> => (live(c) ? ctx.engine.containerStats({ id: c.id }).catch(() => undefined) : undefined);
    const format = str(f['format']);
    const prev = new Map<string, ResourceStats | undefined>();
    const round = async (): Promise<StatsRow[]> => {
      const recs = await pick();
      const now = await Promise.all(recs.map(sample));
      const full = f['no-trunc'] === true;
      const rows = recs.map((c, i) => ({ ...statsRow(c, now[i], prev.get(c.id), names[i] ?? c.name), ...(full ? { ID: c.id } : {}) }));
      recs.forEach((c, i) => prev.set(c.id, now[i]));
      return rows;
    };
    if (f['no-stream']) {
      // Two samples a second apart, as Docker's daemon takes for a one-off answer.
      await round();
      await sleep(1000);
      return void ctx.stdout(printStats(await round(), format));
    }
    let stop = false;
    const off = ctx.host.onInterrupt?.(() => { stop = true; });
    try {
      while (!stop) {
        const rows = await round();
        // Docker's live view: clear, home, the table.
        ctx.stdout(`\x1b[2J\x1b[H${printStats(rows, format)}`);
        for (let t = 0; t < 10 && !stop; t++) await sleep(100);
      }
    } finally {
      off?.();
    }
  },
};

const pause: Command = {
  name: 'pause', aliases: ['container pause'], usage: 'CONTAINER [CONTAINER...]', summary: 'Pause all processes within one or more containers', minArgs: 1, flags: [],
  run: (ctx, _f, ids) => each(ctx, ids, async (id) => {
    await ctx.engine.pauseContainer({ id });
    ctx.stdout(`${displayText(id)}\n`);
  }),
};

const unpause: Command = {
  name: 'unpause', aliases: ['container unpause'], usage: 'CONTAINER [CONTAINER...]', summary: 'Unpause all processes within one or more containers', minArgs: 1, flags: [],
  run: (ctx, _f, ids) => each(ctx, ids, async (id) => {
    await ctx.engine.unpauseContainer({ id });
    ctx.stdout(`${displayText(id)}\n`);
  }),
};

/** `--memory 64m` style values; -1 means unlimited where Docker allows it. */
function bytesFlag(cmd: string, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v === '-1') return -1;
  try {
    return parseMemory(v);
  } catch {
    throw new UsageError(cmd, `invalid argument "${v}" for "--${name}" flag: invalid size`);
  }
}

function intFlag(cmd: string, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(cmd, `invalid argument "${v}" for "--${name}" flag: strconv.ParseInt: parsing "${v}": invalid syntax`);
  return Number(v);
}

const update: Command = {
  name: 'update', aliases: ['container update'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Update configuration of one or more containers', minArgs: 1,
  flags: [
    { name: 'memory', short: 'm', value: 'string', help: 'Memory limit' },
    { name: 'memory-swap', value: 'string', help: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
    { name: 'memory-reservation', value: 'string', help: 'Memory soft limit' },
    { name: 'cpus', value: 'string', help: 'Number of CPUs' },
    { name: 'cpu-quota', value: 'string', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-period', value: 'string', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpu-shares', short: 'c', value: 'string', help: 'CPU shares (relative weight)' },
    { name: 'pids-limit', value: 'string', help: 'Tune container pids limit (set -1 for unlimited)' },
  ],
  async run(ctx, f, ids) {
    const limits: LimitUpdate = {};
    const set = <K extends keyof LimitUpdate>(k: K, v: number | undefined) => { if (v !== undefined) limits[k] = v; };
    set('memory', bytesFlag('update', 'memory', str(f['memory'])));
    set('memorySwap', bytesFlag('update', 'memory-swap', str(f['memory-swap'])));
    set('memoryReservation', bytesFlag('update', 'memory-reservation', str(f['memory-reservation'])));
    const cpus = str(f['cpus']);
    if (cpus !== undefined) {
      if (!/^\d+(\.\d+)?$/.test(cpus)) throw new UsageError('update', `invalid argument "${cpus}" for "--cpus" flag: failed to parse ${cpus} as a rational number`);
      limits.cpus = Math.round(Number(cpus) * 1e9);
    }
    set('cpuQuota', intFlag('update', 'cpu-quota', str(f['cpu-quota'])));
    set('cpuPeriod', intFlag('update', 'cpu-period', str(f['cpu-period'])));
    set('cpuShares', intFlag('update', 'cpu-shares', str(f['cpu-shares'])));
    set('pidsLimit', intFlag('update', 'pids-limit', str(f['pids-limit'])));
    if (Object.keys(limits).length === 0) throw new UsageError('update', 'you must provide one or more flags when using this command');
    return each(ctx, ids, async (id) => {
      await ctx.engine.updateContainerResources({ id, limits });
      ctx.stdout(`${displayText(id)}\n`);
    });
  },
};

const top: Command = {
  name: 'top', aliases: ['container top'], usage: 'CONTAINER [ps OPTIONS]', summary: 'Display the running processes of a container', minArgs: 1, flags: [], stopAtPositional: true,
  async run(ctx, _f, [id, ...psArgs]) {
    const rec = await ctx.engine.inspectContainer({ id: id! });
    if (!live(rec)) throw new ExitStatusError(1, `Error response from daemon: container ${rec.id} is not running`);
    // The container's processes live in the guest: its own `ps` lists them (Docker runs ps on the host).
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const argv = ['ps', ...(psArgs.length ? psArgs : ['-ef'])];
    const proc = await ctx.engine.execContainer({ id: rec.id, cmd: argv, io: { onStdout: (d) => void out.push(d), onStderr: (d) => void err.push(d) } });
    const status = await proc.wait();
    const text = (parts: Uint8Array[]) => parts.map((p) => new TextDecoder().decode(p)).join('');
    if (status.exitCode !== 0) throw new ExitStatusError(1, `ps in the container exited ${status.exitCode}: ${text(err).trim() || 'no ps in the image?'}`);
    ctx.stdout(displayText(withoutOwnPs(text(out), argv), { multiline: true }));
  },
};

const attach: Command = {
  name: 'attach', aliases: ['container attach'], usage: '[OPTIONS] CONTAINER', minArgs: 1, maxArgs: 1,
  summary: 'Attach local standard input, output, and error streams to a running container',
  flags: [
    { name: 'no-stdin', help: 'Do not attach STDIN' },
    { name: 'sig-proxy', default: true, help: 'Proxy all received signals to the process (without a TTY)' },
    { name: 'detach-keys', value: 'string', help: `Override the key sequence for detaching a container (default "${DEFAULT_DETACH_KEYS}")` },
  ],
  async run(ctx, f, [id]) {
    const rec = await ctx.engine.inspectContainer({ id: id! });
    if (!live(rec)) throw new ExitStatusError(1, 'You cannot attach to a stopped container, start it first');
    let detachKeys: Uint8Array;
    try {
      detachKeys = parseDetachKeys(str(f['detach-keys']) ?? DEFAULT_DETACH_KEYS);
    } catch (err) {
      throw new UsageError('attach', err instanceof Error ? err.message : String(err));
    }
    if (ctx.host.attach) return ctx.host.attach(rec.id, { stdin: f['no-stdin'] !== true, sigProxy: f['sig-proxy'] !== false, detachKeys });
    // From now on, as Docker's attach (no backlog: that is `logs`); here or through the process running it.
    const dec = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const follow = await ctx.engine.followContainerLogs({ id: rec.id, onEntry: (e) => (e.stream === 'stdout' ? ctx.stdout : ctx.stderr)(dec[e.stream].decode(e.data, { stream: true })) });
    let detach!: (v: undefined) => void;
    const detached = new Promise<undefined>((r) => (detach = r));
    const off = ctx.host.onInterrupt?.(() => detach(undefined));
    try {
      const status = await Promise.race([ctx.engine.waitContainer({ id: rec.id }), detached]);
      if (!status) return 0;
      await follow.done();
      return status.exitCode;
    } finally {
      off?.();
    }
  },
};

export const resourceCommands: readonly Command[] = [stats, pause, unpause, update, top, attach];
