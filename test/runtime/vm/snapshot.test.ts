/**
 * Snapshots: a cold boot saves one, the next start restores it with the agent ready and the guest
 * clock set to the host's; a different manifest never restores it; a corrupt one falls back to a
 * cold boot, and so does a stored state whose bytes are not the ones sealed with it (a tampered
 * entry), which must never be restored.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine } from '../../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../../src/node.ts';
import { nodeArtifacts } from '../../../src/runtime/vm/artifacts-node.ts';
import { nodeSnapshots } from '../../../src/runtime/vm/snapshot-node.ts';
import { memorySnapshots, sealSnapshot, snapshotKey } from '../../../src/runtime/vm/snapshot-store.ts';

const home = mkdtempSync(join(tmpdir(), 'skiff-vm-snap-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function guestEpochMs(m: Machine): Promise<number> {
  const p = await m.agent.spawn({ args: ['date', '+%s'] });
  const [out] = await Promise.all([p.stdout.text(), p.wait()]);
  return Number(out.trim()) * 1000;
}

describe('snapshots', () => {
  it('cold boot saves a snapshot; a restore is ready with the right clock', async () => {
    const store = nodeSnapshots(home);
    const cold = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: store });
    expect(cold.boot.restored).toBe(false);
    expect(cold.boot.savedBytes).toBeGreaterThan(1_000_000);
    expect(cold.boot.savedBytes).toBeLessThan(8 * 1024 * 1024);
    expect(readdirSync(home)).toEqual([`${cold.boot.snapshotKey}.state`]);
    await cold.shutdown();

    // Long enough after the save that a clock left at the snapshot's time would be caught.
    await new Promise((r) => setTimeout(r, 4000));
    const phases: [string, Record<string, number> | undefined][] = [];
    const warm = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: store, onPhase: (name, detail) => phases.push([name, detail]) });
    expect(warm.boot.restored).toBe(true);
    expect(warm.boot.snapshotKey).toBe(cold.boot.snapshotKey);
    // The start's steps, in order, with what they measured (the browser's timeline shows these).
    expect(phases.map(([n]) => n)).toEqual(['snapshot-read', 'snapshot-checked', 'emulator-started', 'agent-ready']);
    expect(phases[0]![1]!.bytes).toBe(cold.boot.savedBytes! + readFileSync(join(home, `${cold.boot.snapshotKey}.state`)).indexOf(10) + 1);
    expect(phases[2]![1]!.restoreMs).toBeGreaterThan(0);
    expect(warm.boot.phases!.restoreMs).toBeGreaterThan(0);
    expect(warm.boot.phases!.loadedMs).toBeGreaterThan(0);
    expect(Math.abs((await guestEpochMs(warm)) - Date.now())).toBeLessThan(2000);
    // The host seeded the kernel's random generator with the clock (the guest has no entropy
    // source): 256 bits credited make it ready, and each restore gets bytes of its own.
    const entropy = await warm.agent.spawn({ args: ['cat', '/proc/sys/kernel/random/entropy_avail'] });
    expect((await entropy.stdout.text()).trim()).toBe('256');
    // The restored agent is fully usable: a process, stdin and an exit code.
    const p = await warm.agent.spawn({ args: ['sh', '-c', 'read x; exit $x'] });
    p.write('9\n');
    expect((await p.wait()).exitCode).toBe(9);
    await warm.shutdown();
  }, 240_000);

  it('keys a snapshot by the manifest, the v86 version and the memory size', async () => {
    const { text, value } = await nodeArtifacts().manifest();
    const base = { manifestText: text, v86Version: value.v86, memoryBytes: 128 << 20, encoding: 'gzip' };
    const k = snapshotKey(base);
    expect(snapshotKey({ ...base })).toBe(k);
    expect(snapshotKey({ ...base, manifestText: text.replace(/"sha256": "./, '"sha256": "x') })).not.toBe(k);
    expect(snapshotKey({ ...base, v86Version: '0.0.1' })).not.toBe(k);
    expect(snapshotKey({ ...base, memoryBytes: 256 << 20 })).not.toBe(k);
  });

  it('boots cold and replaces a snapshot that does not load', async () => {
    const { text, value } = await nodeArtifacts().manifest();
    const key = snapshotKey({ manifestText: text, v86Version: value.v86, memoryBytes: value.memoryMiB << 20, encoding: 'gzip' });
    // Sealed, so it passes the check and reaches the emulator, which cannot inflate it.
    writeFileSync(join(home, `${key}.state`), new Uint8Array(await sealSnapshot(key, new Uint8Array(1000).fill(7).buffer)));
    const lines: string[] = [];
    const m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home), bootTimeoutMs: 120_000, trace: (l) => lines.push(l) });
    expect(m.boot.restored).toBe(false);
    expect(lines.some((l) => /^restoring snapshot vm-\w+ failed, booting cold: .*gzip/.test(l))).toBe(true);
    expect((await m.health()).uptime_ms).toBeGreaterThan(0);
    await m.shutdown();
    const restored = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home) });
    expect(restored.boot.restored).toBe(true);
    await restored.shutdown();
  }, 300_000);

  it('boots cold instead of restoring a state swapped into a stored entry', async () => {
    const store = memorySnapshots();
    const cold = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: store });
    const key = cold.boot.snapshotKey;
    // A valid state of this very machine, with a file the clean snapshot does not have: what a
    // tampered entry would bring back.
    const planted = await cold.agent.spawn({ args: ['sh', '-c', 'echo planted > /planted; sync'] });
    expect((await planted.wait()).exitCode).toBe(0);
    const evil = new Uint8Array((await cold.saveSnapshot()).state);
    await cold.shutdown();
    // The stored entry with its gzip stream replaced and whatever precedes the stream kept.
    const stored = new Uint8Array((await store.get(key))!);
    let gz = 0;
    while (gz < stored.length && !(stored[gz] === 0x1f && stored[gz + 1] === 0x8b && stored[gz + 2] === 8)) gz++;
    const swapped = new Uint8Array(gz + evil.length);
    swapped.set(stored.subarray(0, gz));
    swapped.set(evil, gz);
    await store.put(key, swapped.buffer);

    const lines: string[] = [];
    const m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: store, trace: (l) => lines.push(l) });
    try {
      const probe = await m.agent.spawn({ args: ['sh', '-c', 'test -e /planted && echo restored-the-swap || echo clean'] });
      const [out] = await Promise.all([probe.stdout.text(), probe.wait()]);
      expect(out.trim()).toBe('clean');
      expect(m.boot.restored).toBe(false);
      expect(lines.some((l) => /failed its check, booting cold/.test(l))).toBe(true);
      // The swapped entry was replaced by this boot's own sealed state.
      expect(m.boot.savedBytes).toBeGreaterThan(1_000_000);
      expect(new Uint8Array((await store.get(key))!)).not.toEqual(swapped);
    } finally {
      await m.shutdown();
    }
  }, 300_000);
});
