/**
 * A running container's healthcheck, run by the process that runs the container (the lifecycle
 * that started it: the CLI's -d keeper, `system serve`, the page's worker), as Docker's daemon
 * runs it (daemon/health.go): the probe is an exec in the container, one at a time, first after
 * one interval (the start interval while "starting" inside the start period); a probe past its
 * timeout is killed, waited for (dying probes must not pile up) and counts as a failure (-1).
 * Exit 0 is healthy; anything else is a failure, and `retries` failures in a row make the
 * container unhealthy; failures inside the start period do not count while it is still
 * starting. The record carries the state (State.Health for inspect, ps, the API, other
 * processes); a status change is the event `health_status: <status>`.
 *
 * A paused container is not probed (an exec into a frozen cgroup would only hang): like Docker,
 * whose monitor stops on pause (the probe under way cancelled), it reads unhealthy until a probe
 * after unpause succeeds. The owner says so at once (`paused()`); the loop also checks the record.
 */
import type { ProcessIO, RuntimeProcess } from '../runtime/types.ts';
import { formatGoDuration, healthSchedule, type SpecHealthcheck } from '../runtime/spec/health.ts';
import type { ContainerHealth, ContainerRecord, HealthResult } from './types.ts';

/** Docker's limits: output kept per probe, results kept. */
export const MAX_OUTPUT = 4096;
export const MAX_LOG = 5;
/** Docker gives a wedged exec this long to start, apart from the probe's own timeout. */
const START_TIMEOUT_MS = 30_000;
/** After a kill, how long a probe is waited for before the monitor gives up on it. */
const KILL_WAIT_MS = 10_000;

export interface HealthMonitorParts {
  id: string;
  healthcheck: SpecHealthcheck & { probe: string[] };
  /** When this run started (the record's startedAt). */
  startedAt: number;
  /** An exec in the container (its runtime's, here). */
  exec(args: string[], io: ProcessIO): Promise<RuntimeProcess>;
  /** The record now (paused or not). */
  read(): Promise<ContainerRecord | undefined>;
  /** Writes the health the update returns; undefined: nothing to write. */
  update(next: (cur: ContainerRecord) => ContainerHealth | undefined): Promise<ContainerRecord | undefined>;
  /** Docker's events of a probe's exec and of a status change. */
  event(action: string, attributes?: Record<string, string>): void;
  now?: () => number;
}

/** Output up to MAX_OUTPUT bytes, then "..." (daemon/health.go limitedBuffer). */
class LimitedOutput {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  private truncated = false;
  write(d: Uint8Array): void {
    const keep = Math.min(MAX_OUTPUT - this.size, d.length);
    if (keep > 0) {
      this.chunks.push(d.slice(0, keep));
      this.size += keep;
    }
    if (keep < d.length) this.truncated = true;
  }
  text(): string {
    const all = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) all.set(c, (at += c.length) - c.length);
    return new TextDecoder().decode(all) + (this.truncated ? '...' : '');
  }
}

/** The status after one more result (daemon/health.go handleProbeResult). */
export function nextHealth(cur: ContainerHealth | undefined, result: HealthResult, o: { startedAt: number; startPeriodMs: number; retries: number }): ContainerHealth {
  const h: ContainerHealth = cur ?? { Status: 'starting', FailingStreak: 0, Log: [] };
  const Log = [...h.Log, result].slice(-MAX_LOG);
  if (result.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  // Still starting and inside the start period: the failure does not count.
  if (h.Status === 'starting' && Date.parse(result.Start) - o.startedAt < o.startPeriodMs) return { ...h, Log };
  const FailingStreak = h.FailingStreak + 1;
  return { Status: FailingStreak >= o.retries ? 'unhealthy' : h.Status, FailingStreak, Log };
}

export class HealthMonitor {
  private stopped = false;
  /** While a probe's exec starts: stop() ends the wait for it (a per-probe promise, so nothing accumulates). */
  private cancelStart: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private probe: RuntimeProcess | undefined;
  /** Bumped by a pause: a probe that was under way then is not recorded. */
  private pauses = 0;
  private readonly loop: Promise<void>;
  private readonly schedule;
  private readonly now: () => number;

  constructor(private readonly p: HealthMonitorParts) {
    this.schedule = healthSchedule(p.healthcheck.config);
    this.now = p.now ?? Date.now;
    this.loop = this.run().catch(() => {});
  }

  /** Stops probing: a probe under way is killed and waited for; nothing is written after this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelStart?.();
    this.wake?.();
    await this.probe?.kill('SIGKILL').catch(() => {});
    await this.loop;
  }

  /** The container was just frozen here: the probe under way is killed and dropped, and the state says unhealthy now. */
  async paused(): Promise<void> {
    this.pauses++;
    void this.probe?.kill('SIGKILL').catch(() => {});
    this.wake?.();
    if (!this.stopped) await this.markUnhealthy();
  }

  private async run(): Promise<void> {
    let status: ContainerHealth['Status'] = 'starting';
    for (;;) {
      const inStart = this.now() - this.p.startedAt < this.schedule.startPeriodMs && status === 'starting';
      const pauses = this.pauses;
      await this.sleep(inStart ? this.schedule.startIntervalMs : this.schedule.intervalMs);
      if (this.stopped) return;
      // Woken by a pause: marked unhealthy below, then the next interval.
      const woken = pauses !== this.pauses;
      const rec = await this.p.read();
      if (this.stopped || !rec) return;
      if (rec.state === 'paused' || woken) {
        if (rec.health?.Status !== 'unhealthy') status = await this.markUnhealthy();
        continue;
      }
      if (rec.state !== 'running') continue;
      const before = this.pauses;
      const result = await this.runProbe();
      if (this.stopped) return;
      if (before !== this.pauses) {
        status = await this.markUnhealthy();
        continue;
      }
      let changed: string | undefined;
      const after = await this.p.update((cur) => {
        // Paused while this was being written: the pause's unhealthy stands.
        if (before !== this.pauses) return undefined;
        const next = nextHealth(cur.health, result, { startedAt: this.p.startedAt, ...this.schedule });
        if (next.Status !== (cur.health?.Status ?? 'starting')) changed = next.Status;
        return next;
      });
      status = after?.health?.Status ?? status;
      if (changed) this.p.event(`health_status: ${changed}`);
    }
  }

  /** Paused: Docker's stopped monitor leaves the container unhealthy (no event: Docker logs none for it). */
  private async markUnhealthy(): Promise<'unhealthy'> {
    await this.p.update((cur) => (cur.health && cur.health.Status !== 'unhealthy' ? { ...cur.health, Status: 'unhealthy' } : undefined));
    return 'unhealthy';
  }

  private sleep(ms: number): Promise<void> {
    const until = Date.now() + ms; // timers run on the real clock, whatever `now` says
    return new Promise((resolve) => {
      let t: ReturnType<typeof setTimeout>;
      // Timers take at most 2^31-1 ms (a longer one fires at once): a longer interval is slept in steps.
      const arm = (): void => {
        const left = until - Date.now();
        if (left <= 0) return done();
        t = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
      arm();
    });
  }

  /** One probe: its result as Docker records it (ExitCode -1 and a message when it could not run or timed out). */
  private async runProbe(): Promise<HealthResult> {
    const start = new Date(this.now()).toISOString();
    const args = this.p.healthcheck.probe;
    const out = new LimitedOutput();
    const failed = (message: string): HealthResult => ({ Start: start, End: new Date(this.now()).toISOString(), ExitCode: -1, Output: message });
    const execID = randomHex();
    this.p.event(`exec_create: ${args.join(' ')}`, { execID });
    let proc: RuntimeProcess;
    try {
      const io: ProcessIO = { onStdout: (d) => out.write(d), onStderr: (d) => out.write(d) };
      const starting = this.p.exec(args, io);
      // Stopped while it starts (the container exited): the exec is not waited for, only killed when it comes.
      const stopping = new Promise<typeof STOPPED>((r) => (this.cancelStart = () => r(STOPPED)));
      if (this.stopped) this.cancelStart?.();
      const started = await raceTimeout(Promise.race([starting, stopping]), START_TIMEOUT_MS).finally(() => (this.cancelStart = undefined));
      if (started === TIMED_OUT || started === STOPPED) {
        void starting.then((late) => late.kill('SIGKILL'), () => {}).catch(() => {});
        return failed(`timed out starting health check for container ${this.p.id}`);
      }
      proc = started;
    } catch (err) {
      return failed(err instanceof Error ? err.message : String(err));
    }
    this.probe = proc;
    this.p.event(`exec_start: ${args.join(' ')}`, { execID });
    try {
      // Stopped meanwhile: stop() may have missed this probe, so it is killed here.
      if (this.stopped) await proc.kill('SIGKILL').catch(() => {});
      const timeoutNs = this.schedule.timeoutMs * 1_000_000;
      const status = await raceTimeout(proc.wait(), this.schedule.timeoutMs);
      if (status === TIMED_OUT) {
        await proc.kill('SIGKILL').catch(() => {});
        const ended = await raceTimeout(proc.wait(), KILL_WAIT_MS).catch(() => undefined);
        if (ended !== TIMED_OUT && ended) this.p.event('exec_die', { execID, exitCode: String(ended.exitCode) });
        const text = out.text();
        return failed(`Health check exceeded timeout (${formatGoDuration(timeoutNs)})${text ? `: ${text}` : ''}`);
      }
      this.p.event('exec_die', { execID, exitCode: String(status.exitCode) });
      return { Start: start, End: new Date(this.now()).toISOString(), ExitCode: status.exitCode, Output: out.text() };
    } catch (err) {
      return failed(err instanceof Error ? err.message : String(err));
    } finally {
      this.probe = undefined;
    }
  }
}

const TIMED_OUT = Symbol('timed out');
const STOPPED = Symbol('stopped');

/** The longest delay setTimeout honours; Docker's durations go far beyond it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const until = Date.now() + ms;
  const arm = (r: (v: typeof TIMED_OUT) => void): void => {
    const left = until - Date.now();
    if (left <= 0) r(TIMED_OUT);
    else timer = setTimeout(() => arm(r), Math.min(left, MAX_TIMER_MS));
  };
  try {
    return await Promise.race([p, new Promise<typeof TIMED_OUT>(arm)]);
  } finally {
    clearTimeout(timer);
  }
}

function randomHex(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
