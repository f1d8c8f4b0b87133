/**
 * The health monitor (engine/health.ts) over a fake exec and an in-memory record: Docker's state
 * machine (streaks, retries, start period), the log of 5, output truncation, the timeout kill,
 * one probe at a time, nothing written after stop, no probe while paused.
 */
import { describe, expect, it } from 'vitest';
import { HealthMonitor, MAX_OUTPUT, nextHealth } from '../../src/engine/health.ts';
import type { ContainerHealth, ContainerRecord, HealthResult } from '../../src/engine/types.ts';
import type { ProcessIO, RuntimeProcess } from '../../src/runtime/types.ts';

const MS = 1_000_000;

interface Probe { exit?: number; out?: string; hang?: boolean; neverStarts?: boolean }

function harness(probes: Probe[], config: { Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number; StartInterval?: number }) {
  const rec = { id: 'c1', state: 'running', health: { Status: 'starting', FailingStreak: 0, Log: [] } } as unknown as ContainerRecord;
  const events: string[] = [];
  let running = 0;
  let most = 0;
  let execs = 0;
  const kills: string[] = [];
  const mon = new HealthMonitor({
    id: 'c1', startedAt: Date.now(),
    healthcheck: { config: { Test: ['CMD', 'probe'], ...config }, probe: ['probe'] },
    async exec(_args, io: ProcessIO): Promise<RuntimeProcess> {
      const p = probes[Math.min(execs++, probes.length - 1)]!;
      if (p.neverStarts) return new Promise<RuntimeProcess>(() => {});
      running++;
      most = Math.max(most, running);
      let done!: (s: { exitCode: number; oomKilled: boolean }) => void;
      const exited = new Promise<{ exitCode: number; oomKilled: boolean }>((r) => (done = r));
      void exited.then(() => running--);
      if (p.out) void io.onStdout(new TextEncoder().encode(p.out));
      if (!p.hang) setTimeout(() => done({ exitCode: p.exit ?? 0, oomKilled: false }), 5);
      return {
        writeStdin() {}, closeStdin() {}, resize: async () => {}, wait: () => exited,
        kill: async (sig) => { kills.push(String(sig)); setTimeout(() => done({ exitCode: 137, oomKilled: false }), 5); },
      };
    },
    read: async () => rec,
    update: async (next) => {
      const h = next(rec);
      if (h) rec.health = h;
      return rec;
    },
    event: (a) => events.push(a),
  });
  return { rec, events, mon, kills, stats: () => ({ most, execs }) };
}

const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('health monitor', () => {
  it('starting -> healthy -> unhealthy after `retries` failures (exit 2 is one) -> healthy, with events and a log of 5', async () => {
    const h = harness([{ exit: 0, out: 'ok\n' }, { exit: 1, out: 'bad' }, { exit: 2 }, { exit: 1 }, { exit: 0 }], { Interval: 20 * MS, Retries: 3 });
    await until(() => h.rec.health?.Status === 'healthy');
    expect(h.rec.health!.Log[0]).toMatchObject({ ExitCode: 0, Output: 'ok\n' });
    await until(() => h.rec.health?.Status === 'unhealthy');
    expect(h.rec.health!.FailingStreak).toBe(3);
    expect(h.rec.health!.Log.map((l) => l.ExitCode)).toEqual([0, 1, 2, 1]);
    await until(() => h.rec.health?.Status === 'healthy' && h.rec.health.Log.length === 5);
    await h.mon.stop();
    expect(h.rec.health!.FailingStreak).toBe(0);
    expect(h.rec.health!.Log.length).toBe(5);
    expect(h.rec.health!.Log.every((l) => Date.parse(l.End) >= Date.parse(l.Start))).toBe(true);
    expect(h.events.filter((e) => e.startsWith('health_status'))).toEqual(['health_status: healthy', 'health_status: unhealthy', 'health_status: healthy']);
    expect(h.events).toContain('exec_create: probe');
    expect(h.events).toContain('exec_start: probe');
    expect(h.stats().most).toBe(1);
  });

  it('kills a probe past its timeout and records -1 with Docker\'s message', async () => {
    const h = harness([{ hang: true, out: 'partial' }], { Interval: 10 * MS, Timeout: 50 * MS, Retries: 1 });
    await until(() => h.rec.health?.Status === 'unhealthy');
    const execsAtFail = h.stats().execs;
    await h.mon.stop();
    expect(h.kills[0]).toBe('SIGKILL');
    expect(h.rec.health!.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (50ms): partial' });
    // One at a time: the hung probe was killed and awaited before the next started.
    expect(h.stats().most).toBe(1);
    expect(execsAtFail).toBeGreaterThanOrEqual(1);
  });

  it('truncates output at 4096 bytes with "..."', async () => {
    const h = harness([{ exit: 0, out: 'x'.repeat(5000) }], { Interval: 10 * MS });
    await until(() => h.rec.health?.Status === 'healthy');
    await h.mon.stop();
    expect(h.rec.health!.Log[0]!.Output).toBe(`${'x'.repeat(MAX_OUTPUT)}...`);
  });

  it('writes nothing after stop, and does not probe a paused container', async () => {
    const h = harness([{ exit: 0 }], { Interval: 10 * MS });
    await until(() => h.rec.health?.Status === 'healthy');
    h.rec.state = 'paused';
    await until(() => h.rec.health?.Status === 'unhealthy');
    const n = h.stats().execs;
    await new Promise((r) => setTimeout(r, 100));
    expect(h.stats().execs).toBe(n);
    h.rec.state = 'running';
    await until(() => h.rec.health?.Status === 'healthy');
    await h.mon.stop();
    const after = JSON.stringify(h.rec.health);
    const execs = h.stats().execs;
    await new Promise((r) => setTimeout(r, 100));
    expect(JSON.stringify(h.rec.health)).toBe(after);
    expect(h.stats().execs).toBe(execs);
  });

  it('probes at the start interval while starting in the start period, then at the interval', async () => {
    const h = harness([{ exit: 1 }, { exit: 1 }, { exit: 0 }], { Interval: 10_000 * MS, StartPeriod: 5_000 * MS, StartInterval: 20 * MS, Retries: 1 });
    await until(() => h.rec.health?.Status === 'healthy');
    // Two failures inside the start period did not count (retries 1 would have made it unhealthy).
    expect(h.events.filter((e) => e.startsWith('health_status'))).toEqual(['health_status: healthy']);
    const n = h.stats().execs;
    await new Promise((r) => setTimeout(r, 200));
    // Healthy now: the next probe waits the 10 s interval.
    expect(h.stats().execs).toBe(n);
    await h.mon.stop();
  });

  it('a pause kills the probe under way, drops its result and reads unhealthy at once', async () => {
    const h = harness([{ exit: 0 }, { hang: true }, { exit: 0 }], { Interval: 20 * MS, Timeout: 60_000 * MS });
    await until(() => h.rec.health?.Status === 'healthy');
    await until(() => h.stats().execs === 2);
    h.rec.state = 'paused';
    await h.mon.paused();
    expect(h.rec.health?.Status).toBe('unhealthy');
    expect(h.kills).toEqual(['SIGKILL']);
    expect(h.rec.health!.Log.map((l) => l.ExitCode)).toEqual([0]);
    h.rec.state = 'running';
    await until(() => h.rec.health?.Status === 'healthy');
    await h.mon.stop();
    expect(h.rec.health!.Log.map((l) => l.ExitCode)).toEqual([0, 0]);
  });

  it('an interval or timeout past 2^31-1 ms is waited for, not fired at once as setTimeout would', async () => {
    const day = 24 * 3600 * 1000 * MS;
    const h = harness([{ exit: 0 }], { Interval: 30 * day });
    await new Promise((r) => setTimeout(r, 150));
    expect(h.stats().execs).toBe(0);
    expect(h.rec.health?.Status).toBe('starting');
    await h.mon.stop();
    const t = harness([{ hang: true }], { Interval: 10 * MS, Timeout: 30 * day });
    await until(() => t.stats().execs === 1);
    await new Promise((r) => setTimeout(r, 150));
    // Still running its 30-day timeout: not killed, nothing recorded.
    expect(t.kills).toEqual([]);
    expect(t.rec.health!.Log).toEqual([]);
    await t.mon.stop();
  });

  it('stop() does not wait for an exec that is still starting (the container\'s exit would be recorded up to 30 s late)', async () => {
    const h = harness([{ neverStarts: true }], { Interval: 10 * MS });
    await until(() => h.stats().execs === 1);
    const r = await Promise.race([h.mon.stop().then(() => 'stopped'), new Promise((res) => setTimeout(() => res('hung'), 3000))]);
    expect(r).toBe('stopped');
    expect(h.rec.health!.Log).toEqual([]);
  });

  it('does not count failures inside the start period while starting', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const r = (s: number, code: number): HealthResult => ({ Start: new Date(t0 + s * 1000).toISOString(), End: new Date(t0 + s * 1000).toISOString(), ExitCode: code, Output: '' });
    const o = { startedAt: t0, startPeriodMs: 10_000, retries: 1 };
    let h: ContainerHealth | undefined;
    h = nextHealth(h, r(1, 1), o);
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    h = nextHealth(h, r(11, 1), o);
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 1 });
    // Healthy once: later failures count even inside the start period.
    h = nextHealth(undefined, r(1, 0), o);
    h = nextHealth(h, r(2, 1), { ...o, retries: 2 });
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
  });
});
