/**
 * `docker stats` and `skiff stats` of a wasm container another process runs (a `skiff run -d`
 * keeper): its linear memory, its worker's CPU time and one pid, through the control channel.
 */
import { describe, expect, it } from 'vitest';
import { until, useServe } from './serve-harness.ts';

const served = useServe('skiff-wstats-');

describe('stats of a wasm container', () => {
  it('docker stats and skiff stats report memory, CPU and 1 pid for a module a -d keeper runs', async () => {
    const lua = "local t = {} for i = 1, 200000 do t[i] = string.rep('x', 120) .. i end local e = os.time() + 30 while os.time() < e do end";
    expect((await served.skiff('run', '-d', '--name', 'wbusy', '-m', '128m', 'skiff/lua-wasm', '-e', lua)).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    const dock = await served.d('stats', '--no-stream', '--format', '{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}', 'wbusy');
    expect(dock.stderr).toBe('');
    const [mem, pids, cpu] = dock.stdout.trim().split('|');
    expect(mem).toMatch(/^\d+(\.\d+)?MiB \/ 128MiB$/);
    expect(Number.parseFloat(mem!)).toBeGreaterThan(16);
    expect(pids).toBe('1');
    expect(Number.parseFloat(cpu!)).toBeGreaterThan(30);
    const mine = await served.skiff('stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.MemPerc}}', 'wbusy');
    expect(mine.code).toBe(0);
    expect(mine.stdout).toMatch(/^wbusy 1 \d+\.\d\d%\n$/);
    expect(Number.parseFloat(mine.stdout.split(' ')[2]!)).toBeGreaterThan(10);
    expect((await served.d('rm', '-f', 'wbusy')).code).toBe(0);
    expect(await until(async () => !(await served.skiff('ps', '-a')).stdout.includes('wbusy'))).toBe(true);
  }, 120_000);
});
