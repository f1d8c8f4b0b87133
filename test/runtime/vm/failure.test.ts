/** Failures surface as SkiffError VM: a guest that stops answering, a boot that takes too long. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { VmRuntime } from '../../../src/runtime/vm/container-runtime.ts';
import { Machine } from '../../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../../src/node.ts';
import { nodeSnapshots } from '../../../src/runtime/vm/snapshot-node.ts';
import { spawnNodeVmWorker } from '../../../src/runtime/vm/worker-node.ts';

const home = mkdtempSync(join(tmpdir(), 'skiff-vm-fail-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('VM failures', () => {
  it('a boot past its deadline fails with VM and leaves no worker behind', async () => {
    let terminated = 0;
    const spawnWorker = async () => {
      const w = await spawnNodeVmWorker();
      return { ...w, terminate: async () => { terminated++; await w.terminate(); } };
    };
    const err = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: null, bootTimeoutMs: 300, spawnWorker }).catch((e: unknown) => e);
    expect(terminated).toBe(1);
    expect(isSkiffError(err, 'VM')).toBe(true);
    expect((err as Error).message).toMatch(/did not become ready within 300 ms \(cold boot\)/);
  });

  it('a guest that powers off is reported crashed, and its processes fail', async () => {
    const m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home) });
    const sleeper = await m.agent.spawn({ args: ['sleep', '60'] });
    const crashed = new Promise<Error>((r) => m.onCrash(r));
    // The agent powers the guest off (the kernel says so on its console), possibly before its
    // answer gets out: the call may resolve or fail with the crash.
    await m.agent.shutdown().catch(() => {});
    expect((await crashed).message).toMatch(/the guest shut down \(.*reboot: (Power down|System halted)\)/);
    expect(m.state).toBe('crashed');
    await expect(sleeper.wait()).rejects.toThrow(/the guest shut down/);
    const health = await m.health(1500).catch((e: unknown) => e);
    expect(isSkiffError(health, 'VM')).toBe(true);
    await expect(m.agent.ping()).rejects.toThrow(/the guest shut down/);
    await m.shutdown();
  }, 180_000);

  it('a VM runtime whose boot failed boots again on the next use instead of keeping the failure', async () => {
    let spawns = 0;
    const rt = new VmRuntime({
      machine: { ...nodeMachineOptions({ snapshots: null }), spawnWorker: async () => { spawns++; throw new Error(`no emulator (try ${spawns})`); } },
    });
    await expect(rt.machine()).rejects.toThrow(/no emulator \(try 1\)/);
    await new Promise((r) => setTimeout(r, 0));
    expect(rt.started).toBe(false);
    await expect(rt.machine()).rejects.toThrow(/no emulator \(try 2\)/);
    expect(spawns).toBe(2);
  });
});
