/**
 * The control channel between real skiff processes (bin/skiff.js over one temporary $SKIFF_HOME):
 * `stop` never signals an unrelated process that got a dead owner's pid, the owner's socket is in a
 * private directory, `exec` from another process gets Docker's 126/127 from the agent's
 * structured start-failure reason, carried through the owner, and `logs -f` follows the owner's log.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSkiff, skiffBin, type SkiffResult } from '../../helpers/skiff-cli.ts';

const bin = skiffBin;
let dir: string;
let home: string;

function skiff(args: string[], input?: string): Promise<SkiffResult> {
  return runSkiff(args, { home, cwd: dir, input });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-cli-control-'));
  home = join(dir, 'home');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('control channel between skiff processes', () => {
  it('`skiff stop` leaves alone an unrelated process that now has the recorded owner pid', async () => {
    const c = await skiff(['create', '--name', 'stale', 'skiff/busybox', 'sleep', '1000']);
    expect(c.code).toBe(0);
    const id = c.stdout.trim();
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => sleeper.once('spawn', r));
    try {
      // As if a skiff process had run it and died, and the sleeper got its pid since.
      const file = join(home, 'state', 'containers', `${id}.json`);
      const rec = JSON.parse(readFileSync(file, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...rec, state: 'running', startedAt: new Date().toISOString(), runtimeData: { ...rec.runtimeData, owner: { session: 'f'.repeat(32), pid: sleeper.pid } } }));
      expect(await skiff(['stop', '-t', '1', 'stale'])).toMatchObject({ code: 0, stdout: 'stale\n' });
      expect(await skiff(['kill', 'stale'])).toMatchObject({ code: 1 });
      await new Promise((r) => setTimeout(r, 300));
      expect(sleeper.exitCode).toBe(null);
      expect(sleeper.signalCode).toBe(null);
      expect((await skiff(['inspect', '-f', '{{.State.Status}}', 'stale'])).stdout).toBe('exited\n');
    } finally {
      sleeper.kill('SIGKILL');
    }
    expect((await skiff(['rm', 'stale'])).code).toBe(0);
  }, 120_000);

  it('exec from another process: 127/126 from the agent\'s reason, through the owner\'s private socket', async () => {
    const d = await skiff(['run', '-d', '--name', 'ctl', 'skiff/busybox', 'sh', '-c', 'echo up; while :; do sleep 1; done']);
    expect(d.code).toBe(0);
    const id = d.stdout.trim();
    const sockets = readdirSync(join(home, 'run')).filter((n) => n.endsWith('.sock'));
    expect(sockets.length).toBe(1);
    expect(statSync(join(home, 'run')).mode & 0o777).toBe(0o700);
    const missing = await skiff(['exec', 'ctl', '/no/such']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/\/no\/such/);
    expect((await skiff(['exec', 'ctl', '/etc/passwd'])).code).toBe(126);
    expect(await skiff(['exec', 'ctl', 'sh', '-c', 'echo in-$(hostname)'])).toMatchObject({ code: 0, stdout: `in-${id.slice(0, 12)}\n` });
    expect((await skiff(['logs', 'ctl'])).stdout).toBe('up\n');
    // logs -f: what is there, then what the container prints later, until it stops.
    const follower = spawn(process.execPath, [bin, 'logs', '-f', 'ctl'], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout.on('data', (d) => (followed += d));
    const followerExit = new Promise<number | null>((r) => follower.on('close', (code) => r(code)));
    for (let i = 0; i < 200 && !followed.includes('up'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(followed).toBe('up\n');
    expect((await skiff(['exec', 'ctl', 'sh', '-c', 'echo later > /proc/1/fd/1'])).code).toBe(0);
    for (let i = 0; i < 200 && !followed.includes('later'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(followed).toBe('up\nlater\n');
    expect(await skiff(['stop', '-t', '1', 'ctl'])).toMatchObject({ code: 0, stdout: 'ctl\n' });
    expect(await followerExit).toBe(0);
    expect(await skiff(['wait', 'ctl'])).toMatchObject({ code: 0, stdout: '137\n' });
    expect((await skiff(['rm', 'ctl'])).code).toBe(0);
    // The holder is gone, and its socket with it.
    await new Promise((r) => setTimeout(r, 500));
    expect(readdirSync(join(home, 'run')).filter((n) => n.endsWith('.sock'))).toEqual([]);
  }, 400_000);

  it('run -d: a start that fails (a port in use, no such command) fails the run with its status and error, as the foreground run', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as AddressInfo).port;
      const r = await skiff(['run', '-d', '--name', 'busyport', '-p', `${port}:80`, 'skiff/busybox', 'sleep', '100']);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`starting container busyport: .*127\\.0\\.0\\.1:${port}.*already in use`));
      const m = await skiff(['run', '-d', '--name', 'nocmd', 'skiff/busybox', 'no-such-command']);
      expect(m.code).toBe(127);
      expect(m.stderr).toMatch(/starting container nocmd: .*no-such-command/);
      expect((await skiff(['rm', 'busyport', 'nocmd'])).code).toBe(0);
      // With --rm the failed container is gone, its record with it: the background process says why.
      const gone = await skiff(['run', '-d', '--rm', '-p', `${port}:80`, 'skiff/busybox', 'sleep', '100']);
      expect(gone.code).toBe(125);
      expect(gone.stderr).toMatch(new RegExp(`starting container .*127\\.0\\.0\\.1:${port}.*already in use`));
      // A --rm container that ran and ended before anyone looked is no failure.
      expect(await skiff(['run', '-d', '--rm', 'skiff/hello-wasm'])).toMatchObject({ code: 0, stderr: '' });
      expect((await skiff(['ps', '-aq'])).stdout).toBe('');
    } finally {
      busy.close();
    }
  }, 400_000);

  it('network connect/disconnect of a container another skiff process runs plug it in and out now (the owner reads the new endpoint)', async () => {
    expect((await skiff(['network', 'create', 'live'])).code).toBe(0);
    try {
      expect((await skiff(['run', '-d', '--name', 'livesrv', '--network', 'live', 'skiff/busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])).code).toBe(0);
      expect((await skiff(['run', '-d', '--name', 'joiner', 'skiff/busybox', 'sleep', '1000'])).code).toBe(0);
      expect(await skiff(['network', 'connect', 'live', 'joiner'])).toMatchObject({ code: 0, stderr: '' });
      const addrs = await skiff(['exec', 'joiner', 'ip', '-4', '-o', 'addr']);
      expect(addrs.stdout).toMatch(/eth1\s+inet 172\.\d+\.0\.\d+/);
      // Across the two VMs: the owner of joiner routes the new network's peers, and livesrv's learns joiner.
      const fetched = await skiff(['exec', 'joiner', 'wget', '-qO-', 'http://livesrv/hostname']);
      expect(fetched).toMatchObject({ code: 0 });
      expect(fetched.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
      // And out again, at once.
      expect(await skiff(['network', 'disconnect', 'live', 'joiner'])).toMatchObject({ code: 0, stderr: '' });
      expect((await skiff(['exec', 'joiner', 'ip', '-4', '-o', 'addr'])).stdout).not.toMatch(/eth1/);
    } finally {
      await skiff(['rm', '-f', 'livesrv', 'joiner']);
    }
    expect((await skiff(['network', 'rm', 'live'])).code).toBe(0);
  }, 400_000);
});
