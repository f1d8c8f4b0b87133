/**
 * Failures surface as SkiffError VM: a guest that stops answering, a boot that takes too long. A
 * guest whose agent stops answering is replaced, not waited on by every later request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../../src/engine/bundled.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';
import { isSkiffError } from '../../../src/errors.ts';
import { VmRuntime } from '../../../src/runtime/vm/container-runtime.ts';
import { Machine } from '../../../src/runtime/vm/machine.ts';
import type { VmWorkerHandle } from '../../../src/runtime/vm/worker-handle.ts';
import { nodeMachineOptions, nodeVmRuntime } from '../../../src/node.ts';
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

  it('an agent that stops reading fails its machine; the next container runs in a fresh guest', async () => {
    let rt!: VmRuntime;
    // Short deadlines so the test is quick; no pool (its refill would wait on the same deadlines).
    const e = new Engine({
      content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()),
      runtimes: { vm: async () => (rt = await nodeVmRuntime({ pool: 0, machine: { ...nodeMachineOptions({ snapshots: nodeSnapshots(home) }), requestTimeoutMs: 20_000, agentProbeMs: 5_000 } })) },
    });
    try {
      const ok = await e.runContainer({ image: 'skiff/busybox', cmd: ['true'] });
      expect(ok.exit.exitCode).toBe(0);
      const first = await rt.machine();
      // What the guest stops getting: every byte for the agent's port is dropped (v86 drops input
      // too when the guest has no receive buffer posted).
      const worker = (first as unknown as { worker: VmWorkerHandle }).worker;
      const post = worker.post.bind(worker);
      worker.post = (m, transfer) => { if (m.t !== 'console') post(m, transfer); };
      const crashed = new Promise<Error>((r) => first.onCrash(r));
      const err = await e.runContainer({ image: 'skiff/busybox', cmd: ['true'] }).catch((x: unknown) => x);
      expect(isSkiffError(err, 'VM')).toBe(true);
      // It names what it waited for, and that the agent never read it.
      // (The start's net_setup, or the earlier container's delete if that went first: the start then fails with the machine.)
      const named = /guest agent did not answer (net_setup|delete) \(request \d+\) within 20000 ms: the agent's last frame came [\d.]+ s ago; \d+ bytes sent to it were never read \(it is not reading its port\)/;
      expect((err as Error).message).toMatch(named);
      const why = (await crashed).message;
      expect(why).toMatch(/^the guest agent stopped answering: guest agent did not answer .*; a ping then went unanswered for 5 s too; last console lines:/s);
      expect(why).toMatch(named);
      expect(first.state).toBe('crashed');
      // The next start boots (restores) another guest instead of waiting on the silent one.
      const again = await e.runContainer({ image: 'skiff/busybox', cmd: ['sh', '-c', 'echo fresh'] });
      expect(again.exit.exitCode).toBe(0);
      expect(await rt.machine()).not.toBe(first);
    } finally {
      await e.shutdown();
    }
  }, 300_000);

  it('an agent stuck in one request is reported on the console by its watchdog, with its syscall', async () => {
    const lines: string[] = [];
    // A 9P server that never answers: the agent's mount (Tversion, Tattach) waits in the kernel for good.
    const m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home), handle9p: () => new Promise<Uint8Array>(() => {}), onSerial: (l) => lines.push(l) });
    try {
      void m.agent.mount({ export: '', target: '/mnt/never' }).catch(() => {});
      const deadline = Date.now() + 60_000;
      while (!lines.some((l) => l.includes('stuck for')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      // i386 syscall 21 is mount(2); the state is D or S depending on where the 9P client waits.
      expect(lines.find((l) => l.includes('stuck for'))).toMatch(/^skiff-agent: stuck for \d+ ms in request \d+ \(mount\): state [DS], syscall 21 /);
    } finally {
      await m.shutdown();
    }
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
