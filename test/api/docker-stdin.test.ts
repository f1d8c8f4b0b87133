/**
 * Stdin backpressure through the real docker client and `skiff system serve` (runtime/stdin-gate.ts):
 * `docker run -i` with endless stdin into a container that never reads leaves the serving
 * process's memory where it was (the hijacked socket is paused, the client blocks); into a reader
 * every byte arrives.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runTool, useServe, until } from './serve-harness.ts';

const served = useServe('skiff-stdin-');
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('docker run -i: stdin backpressure', () => {
  it('endless stdin into a container that never reads: the server stays bounded; into wc -c every byte counts', async () => {
    expect((await served.d('run', '--rm', 'skiff/busybox', 'true')).code).toBe(0); // boots the guest
    const zero = openSync('/dev/zero', 'r');
    const client = spawn(served.docker, ['run', '-i', '--name', 'nonreader', 'skiff/busybox', 'sleep', '1000'], {
      env: { ...process.env, ...served.dockerEnv() }, cwd: served.dir, stdio: [zero, 'ignore', 'pipe'],
    });
    closeSync(zero);
    try {
      expect(await until(async () => (await served.d('inspect', '-f', '{{.State.Running}}', 'nonreader')).stdout.trim() === 'true', 60_000)).toBe(true);
      // The client writes as fast as /dev/zero gives (GB/s): unpaused, the server grows by GBs in this time.
      // (The baseline is taken with the container running: starting it touches guest memory.)
      await sleep(1000);
      const before = rssOf(served.pid());
      let peak = 0;
      for (let i = 0; i < 16; i++) {
        await sleep(500);
        peak = Math.max(peak, rssOf(served.pid()));
      }
      const growth = peak - before;
      console.log(`stdin: serve RSS ${before >> 20} MiB before, peak ${peak >> 20} MiB while docker run -i < /dev/zero into sleep`);
      expect(growth).toBeLessThan(32 << 20);
      expect(client.exitCode).toBe(null);
    } finally {
      client.kill('SIGKILL');
      await served.d('rm', '-f', 'nonreader');
    }
    const SIZE = 8 << 20;
    const r = await runTool('sh', ['-c', `head -c ${SIZE} /dev/zero | "${served.docker}" run -i --rm skiff/busybox wc -c`], served.dockerEnv(), { cwd: served.dir });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(String(SIZE));
    expect(r.code).toBe(0);
    // docker exec -i (api/exec.ts) likewise.
    expect((await served.d('run', '-d', '--name', 'bg', 'skiff/busybox', 'sleep', '300')).code).toBe(0);
    const x = await runTool('sh', ['-c', `head -c ${SIZE} /dev/zero | "${served.docker}" exec -i bg wc -c`], served.dockerEnv(), { cwd: served.dir });
    expect(x.stdout.trim()).toBe(String(SIZE));
    expect(x.code).toBe(0);
    await served.d('rm', '-f', 'bg');
  }, 600_000);
});
