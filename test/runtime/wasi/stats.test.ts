/**
 * `stats` for wasm containers: the module's linear memory, the CPU time its worker spent running
 * (not waiting on stdin), one process; through the engine (as `skiff stats` and the API read it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../../src/engine/bundled.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';
import { nodeWasiSpawn } from '../../../src/node.ts';
import { WasiRuntime } from '../../../src/runtime/wasi/runtime.ts';
import { statsRow } from '../../../src/cli/commands/resources.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stats of a wasm container', () => {
  const engine = new Engine({
    content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()),
    runtimes: { wasi: async () => new WasiRuntime({ spawn: nodeWasiSpawn() }) },
  });
  afterAll(() => engine.shutdown());

  it('a busy module: its memory grown past 16 MiB, CPU time close to the wall time, 1 pid', async () => {
    // ~30 MB of strings, then spin on the clock (no waits on the caller) for 6 s.
    const lua = "local t = {} for i = 1, 200000 do t[i] = string.rep('x', 120) .. i end local e = os.time() + 6 while os.time() < e do end print(#t)";
    const c = await engine.runContainer({ image: 'skiff/lua-wasm', cmd: ['-e', lua], run: { name: 'busy', memory: 256 * 2 ** 20 } as never, detach: true });
    await sleep(1500);
    const a = await engine.containerStats({ id: c.id });
    await sleep(1000);
    const b = await engine.containerStats({ id: c.id });
    expect(b.pids).toBe(1);
    expect(b.memoryBytes).toBeGreaterThan(16 * 2 ** 20);
    expect(b.memoryLimitBytes).toBe(256 * 2 ** 20);
    const cpuMs = (b.cpuNs - a.cpuNs) / 1e6;
    expect(cpuMs).toBeGreaterThan(500);
    expect(cpuMs).toBeLessThan(1500);
    // The docker CLI's arithmetic: one busy thread reads as ~100%.
    const row = statsRow(await engine.inspectContainer({ id: c.id }), b, a, 'busy');
    expect(Number(row.CPUPerc.replace('%', ''))).toBeGreaterThan(50);
    expect(row.PIDs).toBe('1');
    expect(row.MemUsage).toMatch(/MiB \/ 256MiB$/);
    expect((await c.process.wait()).exitCode).toBe(0);
  }, 60_000);

  it('a module blocked on stdin uses no CPU', async () => {
    const stdin: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() { await sleep(4000); } };
    const c = await engine.runContainer({ image: 'skiff/lua-wasm', cmd: ['-e', 'io.read("a")'], run: { name: 'idle' } as never, stdin, detach: true });
    await sleep(1000);
    const a = await engine.containerStats({ id: c.id });
    await sleep(1000);
    const b = await engine.containerStats({ id: c.id });
    expect((b.cpuNs - a.cpuNs) / 1e6).toBeLessThan(100);
    expect(b.memoryBytes).toBeGreaterThan(0);
    expect(b.memoryLimitBytes).toBe(4 * 2 ** 30);
    await engine.killContainer({ id: c.id });
  }, 60_000);
});
