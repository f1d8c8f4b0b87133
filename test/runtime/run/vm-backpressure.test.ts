/**
 * Output backpressure on the real guest: a VM container's sink that returns a pending promise
 * pauses the emulator once ~1 MiB is held (flow.ts OutputGate, Machine.pauseForOutput), so a
 * stalled reader of `yes` no longer grows host memory at emulation speed (~4 MB/s), and the guest
 * resumes when the sink drains, or when the stalled process is killed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../../src/engine/bundled.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';
import { nodeVmRuntime } from '../../../src/node.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';
import type { ImageRunConfig } from '../../../src/runtime/spec/process.ts';
import type { ProcessIO } from '../../../src/runtime/types.ts';
import type { VmProcess, VmRuntime } from '../../../src/runtime/vm/container-runtime.ts';

let engine: Engine;
let rt: VmRuntime;
let image: ImageRunConfig;

const MiB = 1 << 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(cmd: string[], io: ProcessIO): Promise<{ id: string; proc: VmProcess }> {
  const rec = await engine.createContainer({ image: 'skiff/busybox', cmd });
  const rootfs = await engine.containerFs({ id: rec.id });
  const proc = await rt.start({ id: rec.id, rootfs, spec: resolveContainerSpec({ id: rec.id, image, run: parseRunFlags({ cmd }) }), volumes: [], io });
  return { id: rec.id, proc };
}

/** A sink that holds every chunk on one promise until `drain()`; counts what it was given. */
function stallingSink() {
  let drain!: () => void;
  const stalled = new Promise<void>((r) => (drain = r));
  const s = { stalled: true, heldBytes: 0, acceptedBytes: 0, drain: () => { s.stalled = false; drain(); } };
  const take = (c: Uint8Array) => {
    if (!s.stalled) { s.acceptedBytes += c.length; return undefined; }
    s.heldBytes += c.length;
    return stalled;
  };
  return { s, io: { onStdout: take, onStderr: take } as ProcessIO };
}

beforeAll(async () => {
  engine = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()) });
  image = (await engine.imageConfig({ ref: 'skiff/busybox' })).config ?? {};
  rt = await nodeVmRuntime();
  await rt.machine();
}, 240_000);

afterAll(async () => {
  await rt?.shutdown();
});

describe('VM output backpressure', () => {
  it('a stalled sink pauses the guest: held output stays bounded, resumes on drain, kill works', async () => {
    const { s, io } = stallingSink();
    const { id, proc } = await start(['yes'], io);
    const m = await rt.machine();
    let sawPaused = false;
    const poll = setInterval(() => { sawPaused ||= m.outputPaused; }, 20);
    try {
      await sleep(4000);
      // Unbounded, `yes` holds 5.6 MB here after 4 s (1.4-4 MB/s of emulated output); gated, ~1 MiB.
      expect(s.heldBytes).toBeGreaterThan(MiB);
      expect(s.heldBytes).toBeLessThan(2 * MiB);
      expect(rt.outputGate.buffered).toBe(s.heldBytes);
      expect(sawPaused).toBe(true);
      s.drain();
      const t0 = Date.now();
      while (s.acceptedBytes < 256 * 1024 && Date.now() - t0 < 20_000) await sleep(50);
      expect(s.acceptedBytes).toBeGreaterThanOrEqual(256 * 1024);
      expect(rt.outputGate.buffered).toBe(0);
      expect(m.outputPaused).toBe(false);
    } finally {
      clearInterval(poll);
    }
    await proc.kill('SIGKILL');
    expect(await proc.wait()).toEqual({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    await rt.release(id);
  }, 120_000);

  it('a sink that never drains cannot wedge the guest: kill resumes it, other containers run again', async () => {
    const { s, io } = stallingSink();
    const { id, proc } = await start(['yes'], io);
    const m = await rt.machine();
    const t0 = Date.now();
    while (!m.outputPaused && Date.now() - t0 < 30_000) await sleep(20);
    expect(m.outputPaused).toBe(true);
    await sleep(500);
    expect(s.heldBytes).toBeLessThan(2 * MiB);
    await proc.kill('SIGKILL');
    expect((await proc.wait()).signal).toBe('SIGKILL');
    expect(m.outputPaused).toBe(false);
    await rt.release(id);
    const out: string[] = [];
    const echo = await start(['echo', 'after'], { onStdout: (c) => void out.push(new TextDecoder().decode(c)), onStderr: () => {} });
    expect((await echo.proc.wait()).exitCode).toBe(0);
    expect(out.join('')).toBe('after\n');
    await rt.release(echo.id);
  }, 120_000);
});
