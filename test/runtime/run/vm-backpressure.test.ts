/**
 * Output backpressure on the real guest: a VM container's sink that returns a pending promise
 * pauses the emulator once ~1 MiB is held (flow.ts OutputGate, Machine.pauseForOutput), so a
 * stalled reader of `yes` no longer grows host memory at emulation speed (~4 MB/s), and the guest
 * resumes when the sink drains, or when the stalled process is killed.
 */
import { describe, expect, it } from 'vitest';
import type { ProcessIO } from '../../../src/runtime/types.ts';
import { useGuest } from '../../helpers/guest.ts';

const guest = useGuest();
const MiB = 1 << 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const start = (cmd: string[], io: ProcessIO) => guest.start(cmd, io);

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

describe('VM output backpressure', () => {
  it('a stalled sink pauses the guest: held output stays bounded, resumes on drain, kill works', async () => {
    const { s, io } = stallingSink();
    const { id, proc } = await start(['yes'], io);
    const m = await guest.rt.machine();
    let sawPaused = false;
    const poll = setInterval(() => { sawPaused ||= m.outputPaused; }, 20);
    try {
      await sleep(4000);
      // Unbounded, `yes` holds 5.6 MB here after 4 s (1.4-4 MB/s of emulated output); gated, ~1 MiB.
      expect(s.heldBytes).toBeGreaterThan(MiB);
      expect(s.heldBytes).toBeLessThan(2 * MiB);
      expect(guest.rt.outputGate.buffered).toBe(s.heldBytes);
      expect(sawPaused).toBe(true);
      s.drain();
      const t0 = Date.now();
      while (s.acceptedBytes < 256 * 1024 && Date.now() - t0 < 20_000) await sleep(50);
      expect(s.acceptedBytes).toBeGreaterThanOrEqual(256 * 1024);
      expect(guest.rt.outputGate.buffered).toBe(0);
      expect(m.outputPaused).toBe(false);
    } finally {
      clearInterval(poll);
    }
    await proc.kill('SIGKILL');
    expect(await proc.wait()).toEqual({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    await guest.rt.release(id);
  }, 120_000);

  it('a sink that never drains cannot wedge the guest: kill resumes it, other containers run again', async () => {
    const { s, io } = stallingSink();
    const { id, proc } = await start(['yes'], io);
    const m = await guest.rt.machine();
    const t0 = Date.now();
    while (!m.outputPaused && Date.now() - t0 < 30_000) await sleep(20);
    expect(m.outputPaused).toBe(true);
    await sleep(500);
    expect(s.heldBytes).toBeLessThan(2 * MiB);
    await proc.kill('SIGKILL');
    expect((await proc.wait()).signal).toBe('SIGKILL');
    expect(m.outputPaused).toBe(false);
    await guest.rt.release(id);
    const out: string[] = [];
    const echo = await start(['echo', 'after'], { onStdout: (c) => void out.push(new TextDecoder().decode(c)), onStderr: () => {} });
    expect((await echo.proc.wait()).exitCode).toBe(0);
    expect(out.join('')).toBe('after\n');
    await guest.rt.release(echo.id);
  }, 120_000);
});
