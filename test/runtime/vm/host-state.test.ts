import { describe, expect, it } from 'vitest';
import { joinHostState, splitHostState } from '../../../src/runtime/vm/host-state.ts';
import { cgroupWrites } from '../../../src/runtime/vm/pool.ts';

describe('host state beside a VM state', () => {
  it('round-trips the host JSON in front of the state; a bare state has none', () => {
    const state = new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]).buffer;
    const joined = joinHostState({ pool: { slots: [] }, n: 1 }, state);
    const back = splitHostState(joined);
    expect(back.host).toEqual({ pool: { slots: [] }, n: 1 });
    expect([...new Uint8Array(back.state)]).toEqual([0x1f, 0x8b, 8, 0, 1, 2, 3]);
    expect(splitHostState(state)).toEqual({ host: null, state });
    const bad = new Uint8Array(joined.slice(0, 12));
    expect(() => splitHostState(bad.buffer)).toThrow(/overruns/);
  });
});

describe('the cgroup files a claim writes (crun 1.8.1 cgroup-resources.c)', () => {
  it('converts memory, swap, pids and cpu quota as crun does; anything else is not for the pool', () => {
    expect(cgroupWrites({ devices: [] })).toEqual([]);
    expect(cgroupWrites({ memory: { limit: 16 << 20, swap: 32 << 20 }, pids: { limit: 20 }, cpu: { quota: 50000, period: 100000 } })).toEqual([
      ['memory.swap.max', String(16 << 20)], ['memory.max', String(16 << 20)], ['pids.max', '20'], ['cpu.max', '50000 100000'],
    ]);
    expect(cgroupWrites({ memory: { swap: -1 } })).toEqual([['memory.swap.max', 'max']]);
    expect(cgroupWrites({ memory: { limit: 10, swap: 5 } })).toBeNull(); // crun refuses it: its path says so
    expect(cgroupWrites({ memory: { limit: 10, reservation: 5 } })).toBeNull();
    expect(cgroupWrites({ cpu: { shares: 512 } })).toBeNull();
    expect(cgroupWrites({ unified: { 'io.weight': '10' } })).toBeNull();
  });
});
