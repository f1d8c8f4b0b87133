/**
 * web/worker/vm-hold: a wasm start holds the VM's heavy restore steps back. The emulator's boot
 * message waits while a hold is open and goes once the last hold ends or times out; what is posted
 * meanwhile follows it in order; with no hold nothing waits.
 */
import { describe, expect, it } from 'vitest';
import { bootAfter, holdGate } from '../../src/web/worker/vm-hold.ts';
import type { HostToWorker } from '../../src/runtime/vm/worker-protocol.ts';
import type { VmWorkerHandle } from '../../src/runtime/vm/worker-handle.ts';

function recorder(): { handle: VmWorkerHandle; sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    handle: {
      wasmPath: 'v86.wasm',
      post: (m) => void sent.push(m.t),
      onMessage: () => {},
      onError: () => {},
      terminate: async () => {},
    },
  };
}

const boot: HostToWorker = { t: 'boot', wasmPath: '', memoryBytes: 1, cmdline: '', bios: new ArrayBuffer(1) };
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('vm-hold', () => {
  it('sends the boot at once when no hold is open, and other messages straight through', async () => {
    const gate = holdGate();
    const { handle, sent } = recorder();
    const w = bootAfter(handle, () => gate.passed('boot'));
    w.post({ t: 'count' });
    expect(sent).toEqual(['count']);
    w.post(boot);
    await tick();
    expect(sent).toEqual(['count', 'boot']);
  });

  it('holds the boot (and what follows it) until every hold is released, in order', async () => {
    const waited: string[] = [];
    const gate = holdGate({ onWaited: (step) => waited.push(step) });
    const { handle, sent } = recorder();
    const w = bootAfter(handle, () => gate.passed('emulator build'));
    const a = gate.hold();
    const b = gate.hold();
    w.post(boot);
    w.post({ t: 'console', data: new Uint8Array([1]) });
    await tick(20);
    expect(sent).toEqual([]);
    a();
    a(); // a second release of the same hold changes nothing
    await tick(20);
    expect(sent).toEqual([]);
    b();
    await tick();
    expect(sent).toEqual(['boot', 'console']);
    expect(waited).toEqual(['emulator build']);
    w.post({ t: 'count' });
    expect(sent).toEqual(['boot', 'console', 'count']);
  });

  it('ends a hold nobody releases after maxMs', async () => {
    const gate = holdGate({ maxMs: 50 });
    gate.hold();
    const t0 = performance.now();
    await gate.passed('snapshot read');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
    // Timed out holds are gone: the next waiter passes at once.
    let passed = false;
    void gate.passed('again').then(() => { passed = true; });
    await tick();
    expect(passed).toBe(true);
  });
});
