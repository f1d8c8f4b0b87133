/**
 * Healthchecks on the real VM with busybox, seen by every surface: the `skiff` CLI's -d keeper
 * probing (another process inspects it, ps shows and filters it, events journal it), the real
 * `docker` client against `skiff system serve` (run --health-*, inspect --format, ps), a probe
 * killed at its timeout, and docker-compose 1.29 waiting for `condition: service_healthy`.
 * Intervals are short (200-300 ms) and the waits long: the machine running these is loaded.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/peers.ts';
import { runTool, useServe, type Result } from './serve-harness.ts';

const served = useServe('skiff-api-health-');

async function poll(what: string, read: () => Promise<Result>, want: (r: Result) => boolean, ms = 180_000): Promise<Result> {
  const end = Date.now() + ms;
  let last: Result | undefined;
  while (Date.now() < end) {
    last = await read();
    if (want(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(last)}`);
}

const healthOf = (ref: string) => () => served.skiff('inspect', '-f', '{{.State.Health.Status}}', ref);
const is = (s: string) => (r: Result) => r.stdout.trim() === s;

interface Health { Status: string; FailingStreak: number; Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }> }

describe('healthchecks', () => {
  it('a -d keeper probes: healthy, then unhealthy once the file is gone; inspect, ps, events, the docker client; reset by a restart', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const run = await served.skiff('run', '-d', '--name', 'hc', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2',
      'skiff/busybox', 'sh', '-c', 'touch /tmp/ok; exec sleep 1000');
    expect(run.code, run.stderr).toBe(0);
    const id = run.stdout.trim();
    await poll('healthy', healthOf('hc'), is('healthy'));
    expect((await served.skiff('ps', '--format', '{{.Names}} {{.Status}}')).stdout).toMatch(/^hc Up .* \(healthy\)$/m);
    expect((await served.skiff('ps', '-q', '--filter', 'health=healthy')).stdout.trim()).toBe(id.slice(0, 12));
    expect((await served.skiff('ps', '-q', '--filter', 'health=none')).stdout.trim()).toBe('');
    // The docker client, through the API server (another process than the keeper).
    expect((await served.d('inspect', '--format', '{{.State.Health.Status}}', 'hc')).stdout.trim()).toBe('healthy');
    expect(JSON.parse((await served.d('inspect', '--format', '{{json .Config.Healthcheck}}', 'hc')).stdout)).toEqual({ Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 200_000_000, Retries: 2 });
    expect((await served.d('ps', '--filter', 'name=hc', '--format', '{{.Status}}')).stdout.trim()).toMatch(/^Up .* \(healthy\)$/);
    const ok = JSON.parse((await served.skiff('inspect', '-f', '{{json .State.Health}}', 'hc')).stdout) as Health;
    expect(ok.FailingStreak).toBe(0);
    expect(ok.Log.at(-1)).toMatchObject({ ExitCode: 0, Output: '' });

    expect((await served.skiff('exec', 'hc', 'rm', '/tmp/ok')).code).toBe(0);
    await poll('unhealthy', healthOf('hc'), is('unhealthy'));
    const bad = JSON.parse((await served.skiff('inspect', '-f', '{{json .State.Health}}', 'hc')).stdout) as Health;
    expect(bad.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(bad.Log.length).toBeLessThanOrEqual(5);
    expect(bad.Log.at(-1)!.ExitCode).toBe(1);
    expect(Date.parse(bad.Log.at(-1)!.End)).toBeGreaterThanOrEqual(Date.parse(bad.Log.at(-1)!.Start));
    expect((await served.skiff('ps', '--format', '{{.Status}}', '--filter', 'name=hc')).stdout.trim()).toMatch(/^Up .* \(unhealthy\)$/);
    expect((await served.d('ps', '-q', '--filter', 'health=unhealthy')).stdout.trim()).toBe(id.slice(0, 12));
    expect((await served.d('ps', '-q', '--filter', 'health=healthy')).stdout.trim()).toBe('');
    const badFilter = await served.skiff('ps', '--filter', 'health=sick');
    expect(badFilter.code).not.toBe(0);
    expect(badFilter.stderr).toContain("invalid filter 'health=sick'");

    const events = await served.skiff('events', '--since', since, '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=hc', '--filter', 'event=health_status', '--format', '{{.Action}}');
    expect(events.stdout.split('\n').filter(Boolean)).toEqual(['health_status: healthy', 'health_status: unhealthy']);
    // The docker client's events (through the API's /events) say it the same way; Docker's prefix match on "health_status".
    const dEvents = await served.d('events', '--since', since, '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=hc', '--filter', 'event=health_status', '--format', '{{.Action}} {{.Actor.Attributes.name}}');
    expect(dEvents.stdout.split('\n').filter(Boolean)).toEqual(['health_status: healthy hc', 'health_status: unhealthy hc']);

    // Stopped: Docker's monitor leaves it unhealthy; started again: starting over, healthy again.
    expect((await served.skiff('stop', '-t', '1', 'hc')).code).toBe(0);
    expect((await served.skiff('inspect', '-f', '{{.State.Status}} {{.State.Health.Status}}', 'hc')).stdout.trim()).toBe('exited unhealthy');
    expect((await served.skiff('ps', '-a', '--format', '{{.Status}}', '--filter', 'name=hc')).stdout.trim()).toMatch(/^Exited \(\d+\) /);
    expect((await served.skiff('start', 'hc')).code).toBe(0);
    await poll('healthy after restart', healthOf('hc'), is('healthy'));
    expect((await served.skiff('rm', '-f', 'hc')).code).toBe(0);
  }, 420_000);

  it('a probe past its timeout is killed and counts as a failure (docker run -d through the API)', async () => {
    const run = await served.d('run', '-d', '--name', 'slow', '--health-cmd', 'sleep 5', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '1', 'skiff/busybox', 'sleep', '1000');
    expect(run.code, run.stderr).toBe(0);
    await poll('unhealthy', () => served.d('inspect', '--format', '{{.State.Health.Status}}', 'slow'), is('unhealthy'));
    const h = JSON.parse((await served.d('inspect', '--format', '{{json .State.Health}}', 'slow')).stdout) as Health;
    expect(h.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (300ms)' });
    // Killed at the timeout, not after the 5 s the command wanted.
    expect(Date.parse(h.Log[0]!.End) - Date.parse(h.Log[0]!.Start)).toBeLessThan(4_000);
    expect((await served.d('ps', '--filter', 'name=slow', '--format', '{{.Status}}')).stdout.trim()).toMatch(/\(unhealthy\)$/);
    expect((await served.d('rm', '-f', 'slow')).code).toBe(0);
  }, 300_000);

  it('an image built with HEALTHCHECK is probed without any flag', async () => {
    const ctxDir = join(served.dir, 'hc-image');
    mkdirSync(ctxDir, { recursive: true });
    writeFileSync(join(ctxDir, 'Dockerfile'), 'FROM skiff/busybox\nHEALTHCHECK --interval=200ms --retries=2 CMD ["test", "-e", "/etc/passwd"]\n');
    const built = await served.skiff('build', '-q', '-t', 'hc-image', ctxDir);
    expect(built.code, built.stderr).toBe(0);
    const run = await served.skiff('run', '-d', '--name', 'fromimage', 'hc-image', 'sleep', '1000');
    expect(run.code, run.stderr).toBe(0);
    await poll('healthy', healthOf('fromimage'), is('healthy'));
    expect(JSON.parse((await served.skiff('inspect', '-f', '{{json .Config.Healthcheck}}', 'fromimage')).stdout)).toMatchObject({ Test: ['CMD', 'test', '-e', '/etc/passwd'], Interval: 200_000_000, Retries: 2 });
    // Paused: no probe into the frozen container, unhealthy at once (Docker's stopped monitor); unpaused: probed again.
    expect((await served.skiff('pause', 'fromimage')).code).toBe(0);
    expect((await served.skiff('inspect', '-f', '{{.State.Status}} {{.State.Health.Status}}', 'fromimage')).stdout.trim()).toBe('paused unhealthy');
    const frozenLog = (await served.skiff('inspect', '-f', '{{json .State.Health.Log}}', 'fromimage')).stdout;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await served.skiff('inspect', '-f', '{{json .State.Health.Log}}', 'fromimage')).stdout).toBe(frozenLog);
    expect((await served.skiff('unpause', 'fromimage')).code).toBe(0);
    await poll('healthy after unpause', healthOf('fromimage'), is('healthy'));
    // --no-healthcheck turns the image's off: no health state at all.
    const off = await served.skiff('run', '-d', '--name', 'nohc', '--no-healthcheck', 'hc-image', 'sleep', '1000');
    expect(off.code, off.stderr).toBe(0);
    expect((await served.skiff('ps', '-q', '--filter', 'health=none', '--filter', 'name=nohc')).stdout.trim()).toBe(off.stdout.trim().slice(0, 12));
    expect((await served.skiff('inspect', '-f', '{{json .Config.Healthcheck}}', 'nohc')).stdout.trim()).toContain('"NONE"');
    expect((await served.skiff('rm', '-f', 'fromimage', 'nohc')).code).toBe(0);
  }, 300_000);

  it('flag errors as docker reports them', async () => {
    const both = await served.skiff('run', '--no-healthcheck', '--health-cmd', 'true', 'skiff/busybox', 'true');
    expect(both.code).toBe(125);
    expect(both.stderr).toContain('--no-healthcheck conflicts with --health-* options');
    const unit = await served.skiff('create', '--health-interval', '30', 'skiff/busybox');
    expect(unit.code).toBe(125);
    expect(unit.stderr).toContain('invalid argument "30" for "--health-interval" flag: time: missing unit in duration "30"');
    const api = await served.api('POST', '/containers/create', JSON.stringify({ Image: 'skiff/busybox', Healthcheck: { Test: ['CMD', 'true'], Interval: 10 } }));
    expect(api.status).toBe(400);
    expect(api.json.message).toContain('Interval in Healthcheck cannot be less than 1ms');
  }, 120_000);

  it('docker-compose 1.29 waits for condition: service_healthy', async () => {
    const compose = requireTool('docker-compose', 'docker-compose');
    const dir = join(served.dir, 'app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'docker-compose.yml'), `version: "2.4"
services:
  db:
    image: skiff/busybox
    command: ["sh", "-c", "sleep 3; touch /tmp/ready; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 100
  app:
    image: skiff/busybox
    command: ["sh", "-c", "echo app-up; exec sleep 1000"]
    depends_on:
      db:
        condition: service_healthy
`);
    const dc = (...args: string[]) => runTool(compose, ['-p', 'hc', ...args], { ...served.dockerEnv(), COMPOSE_HTTP_TIMEOUT: '240' }, { cwd: dir });
    const up = await dc('up', '-d');
    expect(up.code, up.stderr).toBe(0);
    const db = JSON.parse((await served.d('inspect', '--format', '{{json .State.Health}}', 'hc_db_1')).stdout) as Health;
    expect(db.Status).toBe('healthy');
    // Some probes failed first (the file came after 3 s), and the app started only after the first success.
    expect(db.Log.some((l) => l.ExitCode === 1) || db.Log.length === 5).toBe(true);
    const firstOk = db.Log.find((l) => l.ExitCode === 0)!;
    const appStarted = (await served.d('inspect', '--format', '{{.State.StartedAt}}', 'hc_app_1')).stdout.trim();
    expect(Date.parse(appStarted)).toBeGreaterThanOrEqual(Date.parse(firstOk.End));
    expect((await dc('logs', '--no-color', 'app')).stdout).toContain('app-up');
    const down = await dc('down', '-t', '1');
    expect(down.code, down.stderr).toBe(0);
  }, 420_000);
});
