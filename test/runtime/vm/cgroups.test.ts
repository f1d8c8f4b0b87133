/**
 * The sans-IO parts of container resources: parsing the guest's cgroup and proc files (as the
 * guest's busybox `head` prints them), the files `docker update` writes, I/O counting, Docker's
 * restart-policy rules and backoff, and the control channel's new requests checked field by field.
 */
import { describe, expect, it } from 'vitest';
import { countingFs, limitWrites, newIoCounter, parseNetDev, parseProcStat, sharesToWeight, splitHeadOutput } from '../../../src/runtime/vm/cgroups.ts';
import { limitsAfter } from '../../../src/engine/resources.ts';
import { parseRequest } from '../../../src/engine/control/protocol.ts';
import { nextDelay, shouldRestart } from '../../../src/api/restart.ts';
import { Overlay } from '../../../src/fs/overlay.ts';

const HEAD = `==> /sys/fs/cgroup/skiff/c1/cpu.stat <==
usage_usec 1500
user_usec 1000
system_usec 500

==> /sys/fs/cgroup/skiff/c1/memory.current <==
86016

==> /proc/stat <==
cpu  100 0 50 850 0 0 0 0 0 0
cpu0 100 0 50 850 0 0 0 0 0 0
intr 1 2 3
`;

describe('guest files', () => {
  it('head output splits per file, blank separators trimmed', () => {
    const m = splitHeadOutput(HEAD);
    expect([...m.keys()]).toEqual(['/sys/fs/cgroup/skiff/c1/cpu.stat', '/sys/fs/cgroup/skiff/c1/memory.current', '/proc/stat']);
    expect(m.get('/sys/fs/cgroup/skiff/c1/memory.current')).toBe('86016');
  });

  it('/proc/stat: the machine CPU time in ns (USER_HZ 100) and its CPUs', () => {
    expect(parseProcStat(splitHeadOutput(HEAD).get('/proc/stat'))).toEqual({ systemNs: 1000 * 10_000_000, onlineCpus: 1 });
    expect(parseProcStat(undefined)).toEqual({ systemNs: 0, onlineCpus: 1 });
  });

  it('/proc/<pid>/net/dev: interfaces without loopback, Docker\'s eight counters', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0
`;
    expect(parseNetDev(text)).toEqual({ eth0: { rxBytes: 5000, rxPackets: 40, rxErrors: 1, rxDropped: 2, txBytes: 3000, txPackets: 30, txErrors: 3, txDropped: 4 } });
  });
});

describe('docker update as cgroup writes', () => {
  it('memory with swap, cpus, shares and pids in Docker\'s conversions', () => {
    expect(limitWrites({ memory: 32 << 20, memorySwap: 64 << 20, cpus: 5e8, cpuShares: 512, pidsLimit: 20 })).toEqual([
      ['memory.max', String(32 << 20)], ['memory.swap.max', String(32 << 20)], ['cpu.max', '50000 100000'], ['cpu.weight', '20'], ['pids.max', '20'],
    ]);
    expect(limitWrites({ memory: -1, pidsLimit: 0, cpus: 0 })).toEqual([['memory.max', 'max'], ['memory.swap.max', 'max'], ['cpu.max', 'max 100000'], ['pids.max', 'max']]);
    expect(limitWrites({ cpuQuota: 20000, cpuPeriod: 50000 })).toEqual([['cpu.max', '20000 50000']]);
    expect(() => limitWrites({ memorySwap: 1 << 30 })).toThrow(/memory-swap limit needs a memory limit/);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(262144)).toBe(10000);
  });

  it('the record keeps the update for later starts', () => {
    expect(limitsAfter({ memory: 1 as never, memorySwap: 2 as never, pidsLimit: 5 }, { memory: 64 << 20, pidsLimit: -1, cpuQuota: 50000 })).toEqual({ memory: 64 << 20, cpus: 5e8 });
  });
});

describe('I/O counting', () => {
  it('counts reads and writes through the filesystem and leaves every other call to it', () => {
    const fs = new Overlay({ lower: null });
    const c = newIoCounter();
    const counted = countingFs(fs, c);
    const f = counted.create(counted.root(), 'a', { mode: 0o644, uid: 0, gid: 0 });
    expect(counted.write(f, 0, new Uint8Array(10))).toBe(10);
    expect(counted.read(f, 0, 100).length).toBe(10);
    expect(counted.lookup(counted.root(), 'a')).toBe(f);
    expect(c).toEqual({ readBytes: 10, writeBytes: 10, reads: 1, writes: 1 });
  });
});

describe('restart policies (Docker\'s restart manager)', () => {
  const p = (Name: string, MaximumRetryCount = 0) => ({ Name, MaximumRetryCount });
  it('which exits restart', () => {
    expect(shouldRestart(p('no'), 1, false, 0)).toBe(false);
    expect(shouldRestart(p('always'), 0, false, 9)).toBe(true);
    expect(shouldRestart(p('always'), 0, true, 0)).toBe(false);
    expect(shouldRestart(p('unless-stopped'), 0, false, 0)).toBe(true);
    expect(shouldRestart(p('on-failure'), 0, false, 0)).toBe(false);
    expect(shouldRestart(p('on-failure'), 1, false, 100)).toBe(true);
    expect(shouldRestart(p('on-failure', 2), 1, false, 1)).toBe(true);
    expect(shouldRestart(p('on-failure', 2), 1, false, 2)).toBe(false);
  });
  it('backoff: 100 ms doubling to a minute, back to 100 ms after a 10 s run', () => {
    expect(nextDelay(0, 0)).toBe(100);
    expect(nextDelay(100, 50)).toBe(200);
    expect(nextDelay(40_000, 50)).toBe(60_000);
    expect(nextDelay(60_000, 50)).toBe(60_000);
    expect(nextDelay(6400, 10_000)).toBe(100);
  });
});

describe('control channel requests for pause, stats, update', () => {
  const id = 'a'.repeat(64);
  it('are checked field by field', () => {
    expect(parseRequest({ v: 1, op: 'freeze', id, frozen: true })).toEqual({ v: 1, op: 'freeze', id, frozen: true });
    expect(parseRequest({ v: 1, op: 'stats', id })).toEqual({ v: 1, op: 'stats', id });
    expect(parseRequest({ v: 1, op: 'connect', id, networkId: id })).toEqual({ v: 1, op: 'connect', id, networkId: id });
    expect(() => parseRequest({ v: 1, op: 'connect', id, networkId: 'br0; reboot' })).toThrow(/64 hex/);
    expect(parseRequest({ v: 1, op: 'disconnect', id, networkId: id, ip: '172.18.0.3' })).toEqual({ v: 1, op: 'disconnect', id, networkId: id, ip: '172.18.0.3' });
    expect(() => parseRequest({ v: 1, op: 'disconnect', id, networkId: id, ip: '172.18.0.300' })).toThrow(/not an IPv4 address/);
    expect(parseRequest({ v: 1, op: 'update', id, limits: { memory: 1 << 25, pidsLimit: -1 } })).toEqual({ v: 1, op: 'update', id, limits: { memory: 1 << 25, pidsLimit: -1 } });
    expect(() => parseRequest({ v: 1, op: 'freeze', id, frozen: 'yes' })).toThrow(/frozen must be true or false/);
    expect(() => parseRequest({ v: 1, op: 'update', id, limits: { memory: 1.5 } })).toThrow(/limits.memory must be an integer/);
    expect(() => parseRequest({ v: 1, op: 'update', id, limits: { swappiness: 1 } })).toThrow(/unknown field "swappiness"/);
    expect(() => parseRequest({ v: 1, op: 'stats', id, frozen: true })).toThrow(/unknown field "frozen"/);
  });
});
