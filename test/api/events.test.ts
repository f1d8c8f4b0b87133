/**
 * Docker's events across processes: the real `docker events` client (Debian's docker.io, no
 * daemon) against `skiff system serve` sees what separate `skiff` CLI processes and `-d` keepers
 * do, and `skiff events` sees what the API server did; --since/--until replay the shared journal;
 * malformed filters and times are refused (400, Docker's exit statuses).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { until, useServe } from './serve-harness.ts';

const served = useServe('skiff-events-');
const d = (...a: string[]) => served.d(...a);
const skiff = (...a: string[]) => served.skiff(...a);
const now = () => String(Math.ceil(Date.now() / 1000));

describe('events shared by every skiff process', () => {
  it('a following `docker events` sees volumes and networks a separate skiff CLI process creates', async () => {
    const t0 = String(Math.floor(Date.now() / 1000));
    const child = spawn(served.docker, ['events', '--since', t0, '--filter', 'type=volume', '--filter', 'type=network', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'], {
      env: { ...process.env, ...served.dockerEnv() }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      expect((await skiff('volume', 'create', 'from-cli')).code).toBe(0);
      // Seen (replayed or live): the stream is up; what follows can only come live.
      expect(await until(async () => out.includes('volume create from-cli'), 30_000, 100)).toBe(true);
      expect((await skiff('network', 'create', 'cli-net')).code).toBe(0);
      expect((await skiff('volume', 'rm', 'from-cli')).code).toBe(0);
      expect(await until(async () => out.includes('volume destroy from-cli'), 30_000, 100)).toBe(true);
      // A volume's actor is its name (no attributes but the driver); a network's, its ID.
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe('volume create from-cli <no value>');
      expect(lines[1]).toMatch(/^network create [0-9a-f]{64} cli-net$/);
      expect(lines[2]).toBe('volume destroy from-cli <no value>');
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);

  it('a `-d` keeper records its container\'s start and die; each side replays the other\'s with --since/--until', async () => {
    const t0 = String(Math.floor(Date.now() / 1000));
    const run = await skiff('run', '-d', '--name', 'kept', '--label', 'evt=1', 'skiff/busybox', 'sh', '-c', 'sleep 3; exit 3');
    expect(run.code).toBe(0);
    expect((await skiff('wait', 'kept')).stdout.trim()).toBe('3');
    // restart: a new keeper runs it; the CLI process that asked records the restart.
    expect((await skiff('restart', 'kept')).code).toBe(0);
    expect((await skiff('wait', 'kept')).stdout.trim()).toBe('3');
    // The API server removes it: its destroy is in the same journal.
    expect((await d('rm', 'kept')).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const fromDocker = await d('events', '--since', t0, '--until', now(), '--filter', 'container=kept', '--format', '{{.Action}} {{.Actor.Attributes.exitCode}}');
    expect(fromDocker.stderr).toBe('');
    expect(fromDocker.stdout.trim().split('\n')).toEqual(['create <no value>', 'start <no value>', 'die 3', 'start <no value>', 'restart <no value>', 'die 3', 'destroy <no value>']);
    const fromSkiff = await skiff('events', '--since', '2m', '--until', '0s', '--filter', 'label=evt=1');
    expect(fromSkiff.code).toBe(0);
    const lines = fromSkiff.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ').slice(1, 3).join(' '))).toEqual(['container create', 'container start', 'container die', 'container start', 'container restart', 'container die', 'container destroy']);
    // Docker's line: RFC 3339 time (nanoseconds), type, action, actor, sorted attributes.
    expect(lines[2]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die [0-9a-f]{64} \(evt=1, execDuration=\d+, exitCode=3, image=skiff\/busybox, name=kept\)$/);
    const json = await skiff('events', '--since', t0, '--until', now(), '--filter', 'event=die', '--filter', 'container=kept', '--format', '{{json .}}');
    const dies = json.stdout.trim().split('\n');
    expect(dies).toHaveLength(2);
    const e = JSON.parse(dies[0]!) as Record<string, unknown>;
    expect(e).toMatchObject({ Type: 'container', Action: 'die', status: 'die', from: 'skiff/busybox', scope: 'local' });
    expect(e['timeNano']).toBeGreaterThanOrEqual(Number(t0) * 1e9);
  }, 240_000);

  it('cp and export report archive-path, extract-to-dir and export', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const t0 = String(Math.floor(Date.now() / 1000));
    writeFileSync(join(served.dir, 'f.txt'), 'x\n');
    expect((await skiff('create', '--name', 'cpev', 'skiff/busybox')).code).toBe(0);
    expect((await skiff('cp', 'f.txt', 'cpev:/tmp/')).code).toBe(0);
    expect((await skiff('cp', 'cpev:/etc/hostname', 'h.txt')).code).toBe(0);
    expect((await skiff('export', 'cpev', '-o', 'cpev.tar')).code).toBe(0);
    const ev = await skiff('events', '--since', t0, '--until', '0s', '--filter', 'container=cpev', '--format', '{{.Action}} {{.Actor.Attributes.path}}');
    expect(ev.stdout.trim().split('\n')).toEqual(['create <no value>', 'extract-to-dir /tmp/', 'archive-path /etc/hostname', 'export <no value>']);
    expect((await skiff('rm', 'cpev')).code).toBe(0);
  }, 60_000);

  it('GET /events answers Docker\'s JSON shape and ends at until', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    expect((await d('volume', 'create', 'api-vol')).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const { request } = await import('node:http');
    const body = await new Promise<string>((resolve, reject) => {
      const q = new URLSearchParams({ since: String(t0), until: now(), filters: JSON.stringify({ volume: ['api-vol'] }) });
      request({ socketPath: served.sock, path: `/v1.43/events?${q}` }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      }).on('error', reject).end();
    });
    const events = body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(1);
    expect(Object.keys(events[0]!).sort()).toEqual(['Action', 'Actor', 'Type', 'scope', 'time', 'timeNano']);
    expect(events[0]).toMatchObject({ Type: 'volume', Action: 'create', Actor: { ID: 'api-vol', Attributes: { driver: 'local' } } });
  }, 60_000);

  it('malformed filters and times: 400 from the API, Docker\'s statuses from the CLIs', async () => {
    const bogus = await served.api('GET', `/events?filters=${encodeURIComponent('{"colour":["red"]}')}&until=1`);
    expect(bogus).toEqual({ status: 400, json: { message: "invalid filter 'colour'" } });
    expect((await served.api('GET', '/events?filters=notjson&until=1')).status).toBe(400);
    const when = await served.api('GET', '/events?since=yesterday&until=1');
    expect(when.status).toBe(400);
    expect(when.json.message).toContain('"yesterday"');
    const dock = await d('events', '--filter', 'colour=red', '--until', now());
    expect(dock.code).toBe(1);
    expect(dock.stderr).toContain("invalid filter 'colour'");
    const badWord = await skiff('events', '--filter', 'colour');
    expect(badWord.code).toBe(125);
    expect(badWord.stderr).toContain('bad format of filter (expected name=value)');
    const badKey = await skiff('events', '--filter', 'colour=red', '--until', '0s');
    expect(badKey).toMatchObject({ code: 1, stderr: "Error: invalid filter 'colour'\n" });
    const badTime = await skiff('events', '--since', 'yesterday');
    expect(badTime.code).toBe(125);
    expect(badTime.stderr).toContain('--since: "yesterday"');
  }, 60_000);
});
