/**
 * Healthchecks through the lifecycle (engine/lifecycle.ts + engine/health.ts) on a scripted
 * runtime: the record's State.Health from start (starting) to healthy, unhealthy at the exit,
 * starting over at the next start; no probe after the exit. And the wasm refusal at create with
 * the real bundled hello-wasm image.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { parseRunFlags } from '../../src/runtime/spec/options.ts';
import type { ContainerRuntime, ExecRequest, ExitStatus, RuntimeProcess, StartContainerRequest } from '../../src/runtime/types.ts';
import { WasiRuntime } from '../../src/runtime/wasi/runtime.ts';
import { nodeWasiSpawn } from '../../src/node.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

/** Runs until killed; an exec of `probe` exits with `probeExit`. */
class ProbedRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  probeExit = 0;
  execs: string[][] = [];
  private ends = new Map<string, (s: ExitStatus) => void>();
  async start(req: StartContainerRequest): Promise<RuntimeProcess> {
    let end!: (s: ExitStatus) => void;
    const done = new Promise<ExitStatus>((r) => (end = r));
    this.ends.set(req.id, end);
    return { writeStdin() {}, closeStdin() {}, resize: async () => {}, wait: () => done, kill: async () => end({ exitCode: 137, signal: 'SIGKILL', oomKilled: false }) };
  }
  async exec(req: ExecRequest): Promise<RuntimeProcess> {
    this.execs.push(req.args);
    const s = Promise.resolve({ exitCode: this.probeExit, oomKilled: false });
    return { writeStdin() {}, closeStdin() {}, kill: async () => {}, resize: async () => {}, wait: () => s };
  }
  async release(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

const until = async (cond: () => Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('healthchecks in the lifecycle', () => {
  it('image HEALTHCHECK + flags: starting -> healthy -> unhealthy at the exit -> starting again', async () => {
    const rt = new ProbedRuntime();
    const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { vm: () => rt } });
    const img = buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'], extraConfig: { Healthcheck: { Test: ['CMD-SHELL', 'probe'], Interval: 30e9, Retries: 1 } } });
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/app:1'] }]) });
    const c = await e.createContainer({ image: 'app:1', run: parseRunFlags({ healthInterval: '20ms' }) });
    expect(c.spec.healthcheck).toEqual({ config: { Test: ['CMD-SHELL', 'probe'], Interval: 20e6, Retries: 1 }, probe: ['/bin/sh', '-c', 'probe'] });
    await e.startContainer({ id: c.id });
    expect((await e.inspectContainer({ id: c.id })).health?.Status).toMatch(/starting|healthy/);
    await until(async () => (await e.inspectContainer({ id: c.id })).health?.Status === 'healthy');
    expect(rt.execs[0]).toEqual(['/bin/sh', '-c', 'probe']);
    rt.probeExit = 1;
    await until(async () => (await e.inspectContainer({ id: c.id })).health?.Status === 'unhealthy');
    rt.probeExit = 0;
    await until(async () => (await e.inspectContainer({ id: c.id })).health?.Status === 'healthy');
    await e.killContainer({ id: c.id });
    await e.waitContainer({ id: c.id });
    const stopped = await e.inspectContainer({ id: c.id });
    expect(stopped.state).toBe('exited');
    expect(stopped.health?.Status).toBe('unhealthy');
    const n = rt.execs.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(rt.execs.length).toBe(n);
    await e.startContainer({ id: c.id });
    const again = await e.inspectContainer({ id: c.id });
    expect(again.health).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(again.health!.Log.length).toBeGreaterThan(0);
    await e.removeContainer({ id: c.id, force: true });
  });

  it('--no-healthcheck keeps the config for inspect and probes nothing', async () => {
    const rt = new ProbedRuntime();
    const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { vm: () => rt } });
    const img = buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'], extraConfig: { Healthcheck: { Test: ['CMD', 'probe'], Interval: 1e6 } } });
    await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/app:1'] }]) });
    const c = await e.createContainer({ image: 'app:1', run: parseRunFlags({ noHealthcheck: true }) });
    expect(c.spec.healthcheck).toEqual({ config: { Test: ['NONE'], Interval: 1e6 } });
    await e.startContainer({ id: c.id });
    await new Promise((r) => setTimeout(r, 100));
    expect(rt.execs).toEqual([]);
    expect((await e.inspectContainer({ id: c.id })).health).toBeUndefined();
    await e.removeContainer({ id: c.id, force: true });
  });
});

describe('healthchecks and wasm', () => {
  const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) } });
  afterAll(() => e.shutdown());
  it('refuses a probe at create, naming the platform; --no-healthcheck is fine', async () => {
    await expect(e.createContainer({ image: 'skiff/hello-wasm', run: parseRunFlags({ healthCmd: 'true' }) }))
      .rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/wasm container runs one wasm module and cannot exec a probe/) });
    expect((await e.listContainers({ all: true })).length).toBe(0);
    const ok = await e.createContainer({ image: 'skiff/hello-wasm', run: parseRunFlags({ noHealthcheck: true }) });
    expect(ok.runtime).toBe('wasi');
  });
});
