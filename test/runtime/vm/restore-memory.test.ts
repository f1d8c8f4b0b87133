/**
 * restoreFresh (src/runtime/vm/restore-memory.ts): v86's full clear of guest RAM before a restore
 * is cut to the firmware area for that one call, every other clear passes through, and a v86
 * without the expected layout restores as before. (With our artifacts a freshly built emulator
 * has written only 33 pages, all below 1 MiB: measured by scanning RAM after construction.)
 */
import { describe, expect, it } from 'vitest';
import { restoreFresh } from '../../../src/runtime/vm/restore-memory.ts';

const MiB = 1 << 20;

function fakeEmulator(memory: number) {
  const clears: [number, number][] = [];
  const cpu = {
    memory_size: new Uint32Array([memory]),
    zero_memory(addr: number, len: number) { clears.push([addr, len]); },
  };
  const original = cpu.zero_memory;
  const emu = {
    v86: { cpu },
    // As v86's set_state/unpack_memory: one full clear, then what else it clears (virtio buffers).
    async restore_state(_s: ArrayBuffer) {
      cpu.zero_memory(0, cpu.memory_size[0]!);
      cpu.zero_memory(5 * MiB, 4096);
    },
  };
  return { emu, cpu, clears, original };
}

describe('restoreFresh', () => {
  it('clears only the first MiB instead of all RAM, passes other clears through, and unpatches', async () => {
    const { emu, cpu, clears, original } = fakeEmulator(128 * MiB);
    await restoreFresh(emu, new ArrayBuffer(8));
    expect(clears).toEqual([[0, MiB], [5 * MiB, 4096]]);
    expect(cpu.zero_memory).toBe(original);
    cpu.zero_memory(0, 128 * MiB);
    expect(clears.at(-1)).toEqual([0, 128 * MiB]);
  });

  it('unpatches when the restore fails', async () => {
    const { emu, cpu, original } = fakeEmulator(64 * MiB);
    emu.restore_state = async () => { throw new Error('bad state'); };
    await expect(restoreFresh(emu, new ArrayBuffer(8))).rejects.toThrow('bad state');
    expect(cpu.zero_memory).toBe(original);
  });

  it('restores untouched through a v86 laid out differently', async () => {
    let restored = 0;
    await restoreFresh({ restore_state: async () => { restored++; } }, new ArrayBuffer(8));
    await restoreFresh({ v86: { cpu: {} }, restore_state: async () => { restored++; } } as never, new ArrayBuffer(8));
    expect(restored).toBe(2);
  });
});
