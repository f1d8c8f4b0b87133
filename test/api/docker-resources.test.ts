/**
 * stats, pause/unpause, update and restart policies through the API, driven by the real docker
 * client against `skiff system serve`: the numbers come from the guest's cgroups, so a busy loop
 * shows CPU, a paused one none, and `update` changes what the container itself reads in its
 * cgroup files.
 */
import { describe, expect, it } from 'vitest';
import { until, useServe } from './serve-harness.ts';

const served = useServe('skiff-api-res-');
const d = (...a: string[]) => served.d(...a);
const cpu = async (name: string) => {
  const r = await d('stats', '--no-stream', '--format', '{{.CPUPerc}}', name);
  expect(r.code, r.stderr).toBe(0);
  return Number.parseFloat(r.stdout);
};

describe('docker stats, pause, unpause, update', () => {
  it('a busy loop shows CPU, memory and pids; paused it shows no CPU and ps says so; update changes its cgroup', async () => {
    expect((await d('run', '-d', '--name', 'busy', 'skiff/busybox', 'sh', '-c', 'while true; do :; done')).code).toBe(0);
    const row = await d('stats', '--no-stream', '--format', '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}|{{.BlockIO}}', 'busy');
    expect(row.code, row.stderr).toBe(0);
    const [name, cpuPerc, mem, pids, blockIo] = row.stdout.trim().split('|');
    expect(name).toBe('busy');
    // One guest CPU, the loop takes most of it (the stats reader and the agent share it: on a
    // loaded host the emulator runs fewer instructions per guest second and their fixed work
    // takes a bigger share; 39.8% was seen at load 25). Over 30 is clearly more than the 25%
    // cap `update --cpus 0.25` sets below.
    expect(Number.parseFloat(cpuPerc!)).toBeGreaterThan(30);
    expect(mem).toMatch(/^\d+(\.\d+)?[KM]iB \/ \d+(\.\d+)?MiB$/);
    expect(pids).toBe('1');
    // The shell's binary came from the root filesystem over 9P.
    expect(blockIo).toMatch(/^[1-9][\d.]*[kM]B \/ /);

    expect(await d('pause', 'busy')).toMatchObject({ code: 0, stdout: 'busy\n' });
    expect((await d('inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'busy')).stdout).toBe('paused true\n');
    expect((await d('ps', '--filter', 'name=busy', '--format', '{{.Status}}')).stdout).toMatch(/\(Paused\)/);
    expect(await cpu('busy')).toBeLessThan(5);
    const again = await d('pause', 'busy');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is already paused');
    expect(await d('unpause', 'busy')).toMatchObject({ code: 0, stdout: 'busy\n' });
    expect(await cpu('busy')).toBeGreaterThan(30);
    const notPaused = await d('unpause', 'busy');
    expect(notPaused.stderr).toContain('is not paused');

    expect(await d('update', '--memory', '32m', '--memory-swap', '64m', '--pids-limit', '20', '--cpus', '0.25', 'busy')).toMatchObject({ code: 0, stdout: 'busy\n' });
    // The container's own view of its cgroup (cgroup namespace: its cgroup is /sys/fs/cgroup).
    const files = await d('exec', 'busy', 'cat', '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max', '/sys/fs/cgroup/cpu.max');
    expect(files.stdout).toBe(`${32 << 20}\n20\n25000 100000\n`);
    expect((await d('stats', '--no-stream', '--format', '{{.MemUsage}}', 'busy')).stdout).toMatch(/ \/ 32MiB\n$/);
    expect(await cpu('busy')).toBeLessThan(30);
    expect((await d('inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}', 'busy')).stdout).toBe(`${32 << 20} 20 250000000\n`);
    const tooSmall = await d('update', '--memory', '1m', 'busy');
    expect(tooSmall.code).toBe(1);
    expect(tooSmall.stderr).toContain('Minimum memory limit allowed is 6MB');

    // A paused container still stops (it is thawed after the signal, as Docker does).
    expect((await d('pause', 'busy')).code).toBe(0);
    expect((await d('stop', '-t', '1', 'busy')).code).toBe(0);
    expect((await d('inspect', '-f', '{{.State.Status}}', 'busy')).stdout).toBe('exited\n');
    const stopped = await d('stats', '--no-stream', '--format', '{{.CPUPerc}} {{.MemUsage}}', 'busy');
    expect(stopped.stdout).toBe('0.00% 0B / 0B\n');
    expect((await d('pause', 'busy')).stderr).toContain('is not running');
    expect((await d('rm', 'busy')).code).toBe(0);
  }, 240_000);

  it('update refuses what the guest has no controller for, naming it', async () => {
    expect((await d('create', '--name', 'upd', 'skiff/busybox', 'true')).code).toBe(0);
    const r = await served.api('POST', '/v1.43/containers/upd/update', JSON.stringify({ BlkioWeight: 300 }));
    expect(r.status).toBe(400);
    expect(r.json.message).toContain('BlkioWeight');
    const bad = await served.api('POST', '/v1.43/containers/upd/update', JSON.stringify({ Memory: '1g' }));
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('Memory');
    // HostConfig.StorageOpt is the writable layer's quota, as --storage-opt size=.
    expect((await d('create', '--name', 'quota', '--storage-opt', 'size=2m', 'skiff/busybox', 'true')).code).toBe(0);
    expect((await d('inspect', '-f', '{{json .HostConfig.StorageOpt}}', 'quota')).stdout).toBe(`{"size":"${2 << 20}"}\n`);
    const badOpt = await served.api('POST', '/v1.43/containers/create', JSON.stringify({ Image: 'skiff/busybox', HostConfig: { StorageOpt: { dm_basesize: '1g' } } }));
    expect(badOpt.status).toBe(400);
    expect(badOpt.json.message).toContain('HostConfig.StorageOpt.dm_basesize');
    expect((await d('rm', 'quota')).code).toBe(0);
    // A stopped container's update is kept for its next start.
    expect((await d('update', '--memory', '16m', 'upd')).code).toBe(0);
    expect((await d('inspect', '-f', '{{.HostConfig.Memory}}', 'upd')).stdout).toBe(`${16 << 20}\n`);
    expect((await d('rm', 'upd')).code).toBe(0);
  }, 60_000);
});

describe('the skiff verbs', () => {
  it('stats, pause, unpause, update and top reach a container the API server runs (its control channel)', async () => {
    const skiff = (...a: string[]) => served.skiff(...a);
    expect((await d('run', '-d', '--name', 'spin', 'skiff/busybox', 'sh', '-c', 'while true; do :; done')).code).toBe(0);
    const table = await skiff('stats', '--no-stream', 'spin');
    expect(table.stdout).toMatch(/^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS\n[0-9a-f]{12} +spin +\d+\.\d\d% +\d+(\.\d+)?[KM]iB \/ [\d.]+MiB +[\d.]+% +0B \/ 0B +[\d.]+[kM]?B \/ [\d.]+[kM]?B +1\n$/);
    expect(await skiff('pause', 'spin')).toMatchObject({ code: 0, stdout: 'spin\n' });
    expect((await d('inspect', '-f', '{{.State.Status}}', 'spin')).stdout).toBe('paused\n');
    expect((await skiff('stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}}', 'spin')).stdout).toBe('spin 0.00%\n');
    expect((await skiff('info', '--format', '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}}')).stdout).toBe('1 0 1\n');
    expect((await skiff('info')).stdout).toMatch(/^Client:\n Version: +\S+\n[^]*\nServer:\n Containers: 1\n  Running: 0\n  Paused: 1\n  Stopped: 0\n Images: \d+\n/);
    expect(await skiff('unpause', 'spin')).toMatchObject({ code: 0, stdout: 'spin\n' });
    expect(await skiff('update', '--memory', '24m', '--pids-limit', '9', 'spin')).toMatchObject({ code: 0, stdout: 'spin\n' });
    expect((await d('exec', 'spin', 'cat', '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max')).stdout).toBe(`${24 << 20}\n9\n`);
    const top = await skiff('top', 'spin');
    expect(top.stdout).toMatch(/^PID +USER +.*COMMAND\n/);
    expect(top.stdout).toContain('sh -c while true; do :; done');
    expect(top.stdout).not.toMatch(/ ps -ef$/m);
    // attach: the output from now on, and the container's exit status.
    expect((await d('run', '-d', '--name', 'late', 'skiff/busybox', 'sh', '-c', 'echo early; while [ ! -e /go ]; do sleep 0.2; done; echo late; echo late-err >&2; exit 3')).code).toBe(0);
    const attaching = skiff('attach', 'late');
    // Time for the attaching CLI to start and follow (a loaded machine), then the container goes on.
    await new Promise((r) => setTimeout(r, 8000));
    expect((await d('exec', 'late', 'touch', '/go')).code).toBe(0);
    const attached = await attaching;
    expect(attached).toMatchObject({ code: 3, stdout: 'late\n', stderr: 'late-err\n' });
    expect((await skiff('attach', 'late')).stderr).toContain('You cannot attach to a stopped container');
    expect((await d('rm', 'late')).code).toBe(0);
    const usage = await skiff('update', 'spin');
    expect(usage.code).toBe(125);
    expect(usage.stderr).toContain('you must provide one or more flags');
    expect((await d('rm', '-f', 'spin')).code).toBe(0);
  }, 180_000);
});

describe('restart policies while the server runs', () => {
  it('on-failure:N restarts a failing container N times; logs keep every run', async () => {
    expect((await d('run', '-d', '--restart', 'on-failure:2', '--name', 'flaky', 'skiff/busybox', 'sh', '-c', 'echo run; exit 3')).code).toBe(0);
    const done = await until(async () => {
      const s = (await d('inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', 'flaky')).stdout;
      return s === 'exited 2 3\n' && (await d('logs', 'flaky')).stdout === 'run\nrun\nrun\n' ? s : '';
    }, 60_000);
    expect(done).toBe('exited 2 3\n');
    // It stays down: the retries are used up.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await d('inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'flaky')).stdout).toBe('exited 2\n');
    expect((await d('rm', 'flaky')).code).toBe(0);
  }, 120_000);

  it('always restarts a container that exits 0 until it is stopped by hand; the server starting again starts it', async () => {
    expect((await d('run', '-d', '--restart', 'always', '--name', 'forever', 'skiff/busybox', 'sh', '-c', 'sleep 0.2')).code).toBe(0);
    const count = () => d('inspect', '-f', '{{.RestartCount}}', 'forever').then((r) => Number(r.stdout.trim()));
    expect(await until(async () => (await count()) >= 2, 60_000)).toBe(true);
    expect((await d('stop', 'forever')).code).toBe(0);
    const after = await count();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await count()).toBe(after);
    expect((await d('inspect', '-f', '{{.State.Status}}', 'forever')).stdout).toBe('exited\n');
    // `unless-stopped` stopped by hand stays down across a server start; `always` starts again.
    expect((await d('create', '--restart', 'unless-stopped', '--name', 'unless', 'skiff/busybox', 'sleep', '1000')).code).toBe(0);
    expect((await d('start', 'unless')).code).toBe(0);
    expect((await d('stop', '-t', '0', 'unless')).code).toBe(0);
    await served.stop();
    await served.startAgain();
    const state = (n: string) => d('inspect', '-f', '{{.State.Status}}', n).then((r) => r.stdout.trim());
    expect(await until(async () => (await state('forever')) === 'running' || (await count()) > after, 60_000)).toBe(true);
    expect(await state('unless')).toBe('exited');
    expect((await d('rm', '-f', 'forever', 'unless')).code).toBe(0);
  }, 240_000);
});
