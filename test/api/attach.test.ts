/**
 * `attach` across processes: a container a `skiff run -d -i` keeper runs, attached from another
 * process (`skiff attach`, and the real `docker attach` through `skiff system serve`), with stdin,
 * Docker's detach keys (ctrl-p ctrl-q, --detach-keys), --no-stdin, and a TTY's size (-t).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, until, useServe, type Result } from './serve-harness.ts';

const served = useServe('skiff-attach-');
const skiff = (...a: string[]) => served.skiff(...a);
const bin = join(root, 'bin', 'skiff.js');

/** A step of stdin: text to write, a pause (ms), or output to wait for (up to 60 s). */
type Step = string | number | { seen: string } | { signal: NodeJS.Signals };

/** `cmd args` with its stdin written in steps. */
function stepped(cmd: string, args: string[], env: Record<string, string>, steps: Step[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd: served.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
    void (async () => {
      for (const s of steps) {
        if (typeof s === 'number') await new Promise((r) => setTimeout(r, s));
        else if (typeof s === 'object' && 'signal' in s) child.kill(s.signal);
        else if (typeof s === 'object') await until(async () => stdout.includes(s.seen) || child.exitCode !== null, 60_000, 50);
        else if (child.exitCode === null) child.stdin.write(s);
      }
    })();
  });
}

const skiffStepped = (args: string[], steps: Step[]) => stepped(process.execPath, [bin, ...args], { SKIFF_HOME: served.home }, steps);
const running = async (name: string) => (await skiff('inspect', '--format', '{{.State.Status}}', name)).stdout.trim();

describe('attach to a container another process runs', () => {
  it('skiff attach carries stdin to `sh -i` in a -d keeper; its exit status is attach\'s', async () => {
    expect((await skiff('run', '-d', '-i', '--name', 'shk', 'skiff/busybox', 'sh')).code).toBe(0);
    const r = await skiffStepped(['attach', 'shk'], [1000, 'echo hello from $((6*7))\n', 'exit 3\n']);
    expect(r).toMatchObject({ code: 3, stdout: 'hello from 42\n' });
    expect(await running('shk')).toBe('exited');
  }, 240_000);

  it('ctrl-p ctrl-q (or --detach-keys) detach and leave `cat` running; --no-stdin sends nothing', async () => {
    expect((await skiff('run', '-d', '-i', '--name', 'catk', 'skiff/busybox', 'cat')).code).toBe(0);
    const first = await skiffStepped(['attach', 'catk'], [1000, 'one\n', { seen: 'one\n' }, '\x10\x11', 5000]);
    expect(first).toMatchObject({ code: 0, stdout: 'one\n' });
    expect(await running('catk')).toBe('running');
    // A partial sequence is passed on: ctrl-p then "x" reach cat.
    const second = await skiffStepped(['attach', '--detach-keys', 'ctrl-a,d', 'catk'], [1000, '\x10x\n', { seen: 'x\n' }, '\x01d', 5000]);
    expect(second).toMatchObject({ code: 0, stdout: '\x10x\n' });
    // Without --sig-proxy, Ctrl-C (SIGINT) ends the attach, not cat.
    const quiet = await skiffStepped(['attach', '--no-stdin', '--sig-proxy=false', 'catk'], [1000, 'ignored\n', 1000, { signal: 'SIGINT' }]);
    expect(quiet.stdout).toBe('');
    expect(await running('catk')).toBe('running');
    expect((await skiff('logs', 'catk')).stdout).toBe('one\n\x10x\n');
    const bad = await skiff('attach', '--detach-keys', 'ctrl-zz', 'catk');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('Invalid detach keys (ctrl-zz) provided');
    expect((await skiff('rm', '-f', 'catk')).code).toBe(0);
  }, 240_000);

  it('docker attach reaches a -d keeper\'s container: stdin, exit status, detach keys', async () => {
    expect((await skiff('run', '-d', '-i', '--name', 'dsh', 'skiff/busybox', 'sh')).code).toBe(0);
    const r = await stepped(served.docker, ['attach', 'dsh'], served.dockerEnv(), [1500, 'echo via docker\n', 'exit 5\n']);
    expect(r).toMatchObject({ code: 5, stdout: 'via docker\n' });
    expect((await skiff('run', '-d', '-i', '--name', 'dcat', 'skiff/busybox', 'cat')).code).toBe(0);
    const d = await stepped(served.docker, ['attach', 'dcat'], served.dockerEnv(), [1500, 'two\n', { seen: 'two\n' }, '\x10\x11', 5000]);
    expect(d.stdout).toBe('two\n');
    expect(await running('dcat')).toBe('running');
    expect((await skiff('logs', 'dcat')).stdout).toBe('two\n');
    const events = await skiff('events', '--since', '2m', '--until', '0s', '--filter', 'container=dcat', '--filter', 'event=attach', '--format', '{{.Action}}');
    expect(events.stdout).toBe('attach\n');
    expect((await served.d('rm', '-f', 'dcat')).code).toBe(0);
  }, 240_000);

  it('-t: attach on a terminal sets the container\'s window size, raw keys reach its shell', async () => {
    // script(1) gives both the keeper's `run -it` and the attach a terminal.
    const viaScript = (cmd: string, steps: Step[]) => stepped('script', ['-qec', cmd, '/dev/null'], { SKIFF_HOME: served.home }, steps);
    expect((await viaScript(`node ${bin} run -d -it --name tty1 skiff/busybox sh`, [])).code).toBe(0);
    expect(await until(async () => (await running('tty1')) === 'running')).toBe(true);
    const r = await viaScript(`stty cols 91 rows 27; node ${bin} attach tty1`, [1500, 'stty size\r', { seen: '27 91' }, '\x10\x11', 3000]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('27 91');
    expect(await running('tty1')).toBe('running');
    expect((await skiff('rm', '-f', 'tty1')).code).toBe(0);
  }, 240_000);
});
