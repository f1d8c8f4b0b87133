/**
 * Cross-process networking on Node, through the real bin: `skiff run -d` holds its container in a
 * process (and VM) of its own, and a later `skiff run` in another process reaches it by name on
 * the same user network (the guests route it out eth0, the host peers relay between the
 * processes over the control sockets); from another user network the same address is refused.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const execFileP = promisify(execFile);
let dir: string;
let home: string;

async function skiff(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  try {
    const r = await execFileP(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir, timeout: 240_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: performance.now() - t0 };
  }
}

/** "t=a,b" lines (seconds of uptime) as milliseconds each. */
const times = (out: string): string => [...out.matchAll(/t=([\d.]+),([\d.]+)/g)].map((m) => Math.round((Number(m[2]) - Number(m[1])) * 1000)).join(' ');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-xvm-'));
  home = join(dir, 'home');
});
afterAll(async () => {
  await skiff('rm', '-f', 'web');
  rmSync(dir, { recursive: true, force: true });
});

describe('containers of separate skiff processes', () => {
  it('reach each other by name on one user network, and not across networks', async () => {
    expect((await skiff('network', 'create', 'n1')).code).toBe(0);
    expect((await skiff('network', 'create', 'n2')).code).toBe(0);
    const web = await skiff('run', '-d', '--name', 'web', '--network', 'n1', 'skiff/busybox', 'sh', '-c', 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www');
    expect(web.code, web.stderr).toBe(0);
    const ip = (await skiff('inspect', '-f', '{{.NetworkSettings.Networks.n1.IPAddress}}', 'web')).stdout.trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // Another process, another VM: by name, twice in one container (the second request is warm).
    // Times from /proc/uptime (centiseconds): busybox's date may lack %N.
    const script = 'for i in 1 2; do t0=$(cut -d" " -f1 /proc/uptime); timeout 60 wget -qO- http://web/ || exit 9; t1=$(cut -d" " -f1 /proc/uptime); echo t=$t0,$t1; done';
    const client = await skiff('run', '--rm', '--network', 'n1', 'skiff/busybox', 'sh', '-c', script);
    expect(client.stderr).not.toMatch(/warning/);
    expect(client, client.stderr).toMatchObject({ code: 0 });
    expect(client.stdout).toMatch(/^hello-from-web\nt=[\d.]+,[\d.]+\nhello-from-web\nt=[\d.]+,[\d.]+\n$/);
    console.log(`cross-process GETs (guest ms): ${times(client.stdout)} (whole run ${Math.round(client.ms)} ms)`);

    // The same request from inside web's own VM (an exec there), for comparison.
    const local = await skiff('exec', 'web', 'sh', '-c', script.replace('http://web/', `http://${ip}/`));
    expect(local.code, local.stderr).toBe(0);
    console.log(`same-VM GETs (guest ms): ${times(local.stdout)}`);

    // From another user network: no name, and the address is not reached either.
    const other = await skiff('run', '--rm', '--network', 'n2', 'skiff/busybox', 'sh', '-c', `timeout 20 wget -qO- http://${ip}/; echo rc=$?`);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).not.toContain('hello-from-web');
    expect(other.stdout).toMatch(/rc=[1-9]/);
  }, 900_000);
});
