/**
 * Per-process flow control through the Docker Engine API (PROTOCOL.md "Per-process flow
 * control"): the real `docker run` attached to a container whose output its reader stops
 * reading holds back that container alone. Another `docker run` in the same engine (one VM)
 * runs and finishes meanwhile; when the reader resumes, every byte arrives in order.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { until, useServe } from './serve-harness.ts';

const served = useServe('skiff-flow-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('docker attach with a stalled reader', () => {
  it('holds back its own container only; on resume every byte arrives, the exit status too', async () => {
    const N = 400_000; // 2,688,895 bytes: far past every buffer on the way (window, pipes, sockets)
    const text = Array.from({ length: N }, (_, i) => `${i + 1}\n`).join('');
    const expected = createHash('sha256').update(text).digest('hex');
    const a = spawn(served.docker, ['run', '--name', 'flow-a', 'skiff/busybox', 'sh', '-c', `seq 1 ${N}; exit 4`], {
      env: { ...process.env, ...served.dockerEnv() }, cwd: served.dir, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const hash = createHash('sha256');
    let got = 0;
    let stderr = '';
    a.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number>((r) => a.on('exit', (code) => r(code ?? -1)));
    // Read the first bytes, then stop reading: docker blocks writing its stdout, stops reading the socket.
    await new Promise<void>((resolve) => a.stdout.once('data', (c: Buffer) => { hash.update(c); got += c.length; a.stdout.pause(); resolve(); }));
    await sleep(5000);
    const inspect = async (name: string) => (await served.d('inspect', '--format', '{{.State.Status}}', name)).stdout.trim();
    expect(await inspect('flow-a')).toBe('running');

    const t0 = Date.now();
    // B sleeps: guest time passes only while the emulator runs (it did not when the whole VM
    // was paused for a stalled reader, before per-process windows).
    const b = await served.d('run', '--rm', 'skiff/busybox', 'sh', '-c', 'sleep 2; echo b-ran; exit 6');
    const bMs = Date.now() - t0;
    expect(b).toMatchObject({ code: 6, stdout: 'b-ran\n' });
    expect(bMs).toBeLessThan(60_000);
    // Still held: the stalled reader's container has not finished meanwhile.
    expect(await inspect('flow-a')).toBe('running');

    a.stdout.on('data', (c: Buffer) => { hash.update(c); got += c.length; });
    a.stdout.resume();
    expect(await exited).toBe(4);
    await until(async () => a.stdout.readableEnded, 10_000, 50);
    expect(stderr).toBe('');
    expect(got).toBe(text.length);
    expect(hash.digest('hex')).toBe(expected);
    expect(await inspect('flow-a')).toBe('exited');
    // The log (json-file's part) never held the container back, and has it all too.
    const logs = await served.d('logs', 'flow-a');
    expect(createHash('sha256').update(logs.stdout).digest('hex')).toBe(expected);
    expect((await served.d('rm', 'flow-a')).code).toBe(0);
    console.log(`flow api: B ran in ${bMs} ms while A was held`);
  }, 400_000);
});
