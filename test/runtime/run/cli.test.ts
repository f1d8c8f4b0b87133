/**
 * `skiff run` and friends through the real bin (bin/skiff.js) in child processes over a temporary
 * $SKIFF_HOME: Docker's flags, exit codes, stdin, a real PTY (python's pty module as the
 * terminal), host directories and named volumes, and a detached container driven from other
 * processes (ps, logs, stop, wait, rm).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSkiff, skiffBin, type SkiffResult } from '../../helpers/skiff-cli.ts';
import { requireTool } from '../../helpers/peers.ts';

const bin = skiffBin;
const execFileP = promisify(execFile);
let dir: string;
let home: string;

function skiff(args: string[], input?: string): Promise<SkiffResult> {
  return runSkiff(args, { home, cwd: dir, input });
}

/** Runs skiff on a pseudo-terminal of rows x cols, typing `keys` (with pauses at '|'). */
async function onPty(args: string[], keys: string[], size = { rows: 33, cols: 101 }): Promise<{ code: number; out: string }> {
  const py = `
import os, pty, sys, time, fcntl, termios, struct, select, json
args = json.loads(sys.argv[1]); keys = json.loads(sys.argv[2]); rows, cols = int(sys.argv[3]), int(sys.argv[4])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(args[0], args)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
out = b''
def pump(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                return False
            if not d: return False
            out += d
    return True
for k in keys:
    if k.startswith('WAIT:'):
        want = k[5:].encode(); end = time.time() + 120
        while want not in out and time.time() < end and pump(0.2): pass
        continue
    os.write(fd, k.encode())
    pump(0.3)
while pump(1): pass
_, st = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({'code': os.WEXITSTATUS(st) if os.WIFEXITED(st) else -1, 'out': out.decode('utf-8', 'replace')}))
`;
  const r = await execFileP(requireTool('python3', 'python3'), ['-c', py, JSON.stringify([process.execPath, bin, ...args]), JSON.stringify(keys), String(size.rows), String(size.cols)], {
    env: { ...process.env, SKIFF_HOME: home }, cwd: dir, timeout: 240_000, maxBuffer: 16 << 20,
  });
  return JSON.parse(r.stdout) as { code: number; out: string };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-run-cli-'));
  home = join(dir, 'home');
  // First run: loads the bundled image, boots the VM and stores its snapshot in $SKIFF_HOME.
  expect(await skiff(['run', '--rm', 'skiff/busybox', 'true'])).toMatchObject({ code: 0 });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('skiff run (CLI)', () => {
  it('prints hello and passes exit codes on: the container\'s, 125 for skiff, 126/127 as Docker', async () => {
    expect(await skiff(['run', '--rm', 'skiff/busybox', 'echo', 'hello'])).toEqual({ code: 0, stdout: 'hello\n', stderr: '' });
    expect((await skiff(['run', '--rm', 'skiff/busybox', 'sh', '-c', 'echo err >&2; exit 3']))).toEqual({ code: 3, stdout: '', stderr: 'err\n' });
    const missing = await skiff(['run', '--rm', 'skiff/busybox', '/no/such']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/\/no\/such.*not found/);
    expect((await skiff(['run', '--rm', 'skiff/busybox', '/etc/passwd'])).code).toBe(126);
    const bad = await skiff(['run', '--rm', '--memory', '12x', 'skiff/busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid argument "12x" for "-m, --memory" flag');
    expect((await skiff(['run', '--rm', 'no/such-image', 'true'])).code).toBe(125);
    // --rm also removed the ones that failed to start.
    expect((await skiff(['ps', '-a', '-q'])).stdout).toBe('');
  }, 240_000);

  it('pipes stdin with -i and applies -e, --env-file, -w, -u, --hostname, --entrypoint, --read-only, --tmpfs', async () => {
    expect(await skiff(['run', '--rm', '-i', 'skiff/busybox', 'cat'], 'hi\nthere\n')).toMatchObject({ code: 0, stdout: 'hi\nthere\n' });
    // A large stdin arrives whole through the terminal's paused and resumed reading (runtime/stdin-gate.ts).
    expect(await skiff(['run', '--rm', '-i', 'skiff/busybox', 'wc', '-c'], 'x'.repeat(3 << 20))).toMatchObject({ code: 0, stdout: `${3 << 20}\n` });
    writeFileSync(join(dir, 'env.list'), '# comment\nB=from-file\n');
    const r = await skiff(['run', '--rm', '-e', 'A=1', '--env-file', 'env.list', '-w', '/work', '-u', 'nobody', '--hostname', 'hh',
      '--read-only', '--tmpfs', '/tmp', '--entrypoint', 'sh', 'skiff/busybox', '-c', 'echo $A $B $(pwd) $(id -u) $(hostname); touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmpfs-ok']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1 from-file /work 65534 hh\nro\ntmpfs-ok\n');
  }, 240_000);

  it('-v mounts a host directory and a named volume that outlives the container', async () => {
    const host = join(dir, 'hostdir');
    mkdirSync(host);
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    const r = await skiff(['run', '--rm', '-v', `${host}:/h`, '-v', 'keep:/data', 'skiff/busybox', 'sh', '-c', 'cat /h/in.txt; echo out > /h/out.txt; echo kept > /data/k']);
    expect(r).toMatchObject({ code: 0, stdout: 'from host\n' });
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('out\n');
    expect((await skiff(['volume', 'ls', '-q'])).stdout).toContain('keep\n');
    expect(await skiff(['run', '--rm', '-v', 'keep:/data:ro', 'skiff/busybox', 'sh', '-c', 'cat /data/k; echo x > /data/k || true'])).toMatchObject({ code: 0, stdout: 'kept\n' });
    expect((await skiff(['volume', 'rm', 'keep'])).code).toBe(0);
  }, 240_000);

  it('-it gives a raw-mode PTY of the terminal\'s size; Ctrl-C reaches the container', async () => {
    const r = await onPty(['run', '--rm', '-it', 'skiff/busybox', 'sh'], [
      'WAIT:# ', 'stty size; tty\r', 'WAIT:/dev/pts/0', 'stty -onlcr; printf "x1\\\\ny2\\\\n"; stty onlcr\r', 'WAIT:y2',
      'sleep 100\r', '|', '\x03', 'echo rc=$?\r', 'WAIT:rc=130', 'exit 4\r',
    ]);
    expect(r.out).toContain('33 101');
    // Raw output, as Docker's: the container's CR LF arrives as is, a bare LF stays bare.
    expect(r.out).toContain('/dev/pts/0\r\n');
    expect(r.out).not.toContain('\r\r\n');
    expect(r.out).toContain('x1\ny2\n');
    expect(r.out).toContain('/dev/pts/0');
    expect(r.out).toContain('rc=130');
    expect(r.code).toBe(4);
  }, 240_000);

  it('-d runs in a background skiff process that ps, logs, stop, wait and rm reach', async () => {
    const d = await skiff(['run', '-d', '--name', 'bg', 'skiff/busybox', 'sh', '-c', 'trap "echo got-term; exit 9" TERM; echo started; while :; do sleep 1; done']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const ps = await skiff(['ps', '--format', '{{.Names}} {{.State}}']);
    expect(ps.stdout).toContain('bg running');
    let logs = '';
    for (let i = 0; i < 60 && !logs.includes('started'); i++) {
      logs = (await skiff(['logs', 'bg'])).stdout;
      if (!logs.includes('started')) await new Promise((r) => setTimeout(r, 500));
    }
    expect(logs).toBe('started\n');
    // exec from another process goes through the holder's socket: output, stdin, exit code.
    expect(await skiff(['exec', 'bg', 'sh', '-c', 'echo in-$(hostname); exit 6'])).toMatchObject({ code: 6, stdout: `in-${d.stdout.slice(0, 12)}\n` });
    expect(await skiff(['exec', '-i', 'bg', 'cat'], 'piped\n')).toMatchObject({ code: 0, stdout: 'piped\n' });
    expect(await skiff(['exec', '-i', 'bg', 'wc', '-c'], 'y'.repeat(3 << 20))).toMatchObject({ code: 0, stdout: `${3 << 20}\n` });
    const tty = await onPty(['exec', '-it', 'bg', 'sh'], ['WAIT:# ', 'stty size\r', 'WAIT:101', 'exit 2\r']);
    expect(tty.out).toContain('33 101');
    expect(tty.code).toBe(2);
    const stop = await skiff(['stop', 'bg']);
    expect(stop).toMatchObject({ code: 0, stdout: 'bg\n' });
    expect(await skiff(['wait', 'bg'])).toMatchObject({ code: 0, stdout: '9\n' });
    expect((await skiff(['logs', 'bg'])).stdout).toBe('started\ngot-term\n');
    expect((await skiff(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}', 'bg'])).stdout).toBe('exited 9 false\n');
    expect((await skiff(['rm', 'bg'])).code).toBe(0);

    // kill from another process: the holder delivers SIGKILL to the container and still saves
    // its writable layer (the writes show in diff afterwards).
    const k = await skiff(['run', '-d', '--name', 'bg2', 'skiff/busybox', 'sh', '-c', 'echo w > /written; while :; do sleep 1; done']);
    expect(k.code).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await skiff(['kill', 'bg2'])).toMatchObject({ code: 0, stdout: 'bg2\n' });
    expect(await skiff(['wait', 'bg2'])).toMatchObject({ code: 0, stdout: '137\n' });
    expect((await skiff(['diff', 'bg2'])).stdout).toContain('A /written');
    expect((await skiff(['rm', 'bg2'])).code).toBe(0);

    // rm -f of a container another process runs: killed there first, then removed.
    expect((await skiff(['run', '-d', '--name', 'bg3', 'skiff/busybox', 'sleep', '1000'])).code).toBe(0);
    expect((await skiff(['rm', 'bg3'])).code).toBe(1);
    expect(await skiff(['rm', '-f', 'bg3'])).toMatchObject({ code: 0, stdout: 'bg3\n' });
    expect((await skiff(['ps', '-a', '--format', '{{.Names}}'])).stdout).not.toContain('bg3');
  }, 300_000);
});
