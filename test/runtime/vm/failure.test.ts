/** Failures surface as SkiffError VM: a guest that stops answering, a boot that takes too long. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { Machine } from '../../../src/runtime/vm/machine.ts';
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
    const err = await Machine.start({ snapshots: null, bootTimeoutMs: 300, spawnWorker }).catch((e: unknown) => e);
    expect(terminated).toBe(1);
    expect(isSkiffError(err, 'VM')).toBe(true);
    expect((err as Error).message).toMatch(/did not become ready within 300 ms \(cold boot\)/);
  });

  it('a guest whose agent is gone is reported crashed, and its processes fail', async () => {
    const m = await Machine.start({ snapshots: nodeSnapshots(home) });
    const sleeper = await m.agent.spawn({ args: ['sleep', '60'] });
    await m.agent.shutdown(); // the agent powers the guest off: nothing answers any more
    const health = await m.health(1500).catch((e: unknown) => e);
    expect(isSkiffError(health, 'VM')).toBe(true);
    expect(m.state).toBe('crashed');
    await expect(sleeper.wait()).rejects.toThrow(/did not answer ping/);
    await expect(m.agent.ping()).rejects.toThrow(/did not answer ping/);
    await m.shutdown();
  }, 180_000);
});
