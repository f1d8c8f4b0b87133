/**
 * dockerode (npm; docker-modem underneath) against `skiff system serve`: an SDK nobody here wrote,
 * making its own requests. ping and version, run with output demultiplexed from Docker's stream
 * framing, create/start/wait/logs/inspect/remove, list with filters, exec with output, pause and
 * stats, volumes and networks, and Docker's errors as dockerode reports them (statusCode, json).
 */
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { useServe } from './serve-harness.ts';

const served = useServe('skiff-api-dockerode-');
const docker = () => new Docker({ socketPath: served.sock });

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

describe('dockerode through the API', () => {
  it('ping, version, and run with stdout and stderr demultiplexed', async () => {
    expect(String(await docker().ping())).toBe('OK');
    const v = await docker().version();
    expect(v.ApiVersion).toBe('1.43');
    expect(v.Os).toBe('linux');
    const out = collect();
    const err = collect();
    const [result, container] = await docker().run('skiff/busybox', ['sh', '-c', 'echo to-out; echo to-err >&2; exit 5'], [out.stream, err.stream], { Tty: false });
    expect(result.StatusCode).toBe(5);
    expect(out.text()).toBe('to-out\n');
    expect(err.text()).toBe('to-err\n');
    await container.remove();
  }, 120_000);

  it('create, start, wait, logs, inspect, list, exec, pause, stats, remove', async () => {
    const d = docker();
    const c = await d.createContainer({ Image: 'skiff/busybox', name: 'sdk', Cmd: ['sh', '-c', 'echo hello-sdk; exec sleep 1000'], Labels: { via: 'dockerode' } });
    await c.start();
    const listed = await d.listContainers({ filters: { label: ['via=dockerode'] } });
    expect(listed.map((x) => x.Names[0])).toEqual(['/sdk']);
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('hello-sdk'); i++) {
      logs = (await c.logs({ stdout: true, stderr: true, follow: false })).toString();
      if (!logs.includes('hello-sdk')) await new Promise((r) => setTimeout(r, 200));
    }
    // Not a TTY: Docker's 8-byte frame headers, which dockerode leaves in a non-followed log buffer.
    expect(logs).toContain('hello-sdk\n');
    expect(logs.charCodeAt(0)).toBe(1);
    const exec = await c.exec({ Cmd: ['sh', '-c', 'echo from-exec; exit 2'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = collect();
    d.modem.demuxStream(stream, out.stream, out.stream);
    await new Promise((r) => stream.on('end', r));
    expect(out.text()).toBe('from-exec\n');
    expect((await exec.inspect()).ExitCode).toBe(2);
    await c.pause();
    expect((await c.inspect()).State.Paused).toBe(true);
    await c.unpause();
    const s = await c.stats({ stream: false });
    expect(s.pids_stats?.current).toBeGreaterThanOrEqual(1);
    expect(s.memory_stats.usage).toBeGreaterThan(0);
    expect(s.cpu_stats.online_cpus).toBe(1);
    await c.stop({ t: 1 });
    const waited = await c.wait();
    expect(waited.StatusCode).toBe(137);
    await c.remove();
    const gone = await c.inspect().catch((e: { statusCode?: number; json?: { message?: string } }) => e);
    expect(gone).toMatchObject({ statusCode: 404, json: { message: expect.stringContaining('No such container') } });
  }, 180_000);

  it('volumes and networks', async () => {
    const d = docker();
    const vol = await d.createVolume({ Name: 'sdkvol', Labels: { a: 'b' } });
    expect((await vol.inspect()).Labels).toEqual({ a: 'b' });
    expect((await d.listVolumes()).Volumes.map((v) => v.Name)).toContain('sdkvol');
    await d.getVolume('sdkvol').remove();
    const net = await d.createNetwork({ Name: 'sdknet', Driver: 'bridge' });
    expect((await net.inspect()).Name).toBe('sdknet');
    expect((await d.listNetworks({ filters: { name: ['sdknet'] } })).length).toBe(1);
    await net.remove();
    const dup = await d.createNetwork({ Name: 'bridge' }).catch((e: { statusCode?: number }) => e);
    expect(dup).toMatchObject({ statusCode: 409 });
  }, 60_000);
});
