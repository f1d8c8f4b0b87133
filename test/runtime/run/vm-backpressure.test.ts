/**
 * Per-process flow control on the real guest (PROTOCOL.md "Per-process flow control"): a VM
 * container whose sink stops accepting output blocks in write(2) once its window (256 KiB) and its
 * pipe are full, while other containers in the same VM run and finish and requests are answered;
 * when the sink drains, every byte arrives in order and the process exits normally. Stdin a
 * container does not read holds back that container's stdin only.
 */
import { describe, expect, it } from 'vitest';
import type { ProcessIO } from '../../../src/runtime/types.ts';
import { OUTPUT_WINDOW } from '../../../src/runtime/vm/flow.ts';
import { useGuest } from '../../helpers/guest.ts';

const guest = useGuest();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dec = new TextDecoder();

/** `seq 1 n` as busybox prints it. */
const seqText = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');

/** Holds every chunk on one promise until `drain()`; keeps all chunks in order. */
function stallingSink() {
  let drain!: () => void;
  const stalled = new Promise<void>((r) => (drain = r));
  const s = {
    stalled: true, heldBytes: 0, out: [] as Uint8Array[], err: [] as Uint8Array[],
    drain: () => { s.stalled = false; drain(); },
    text: (k: 'out' | 'err') => s[k].map((c) => dec.decode(c)).join(''),
  };
  const take = (k: 'out' | 'err') => (c: Uint8Array) => {
    s[k].push(c.slice());
    if (!s.stalled) return undefined;
    s.heldBytes += c.length;
    return stalled;
  };
  return { s, io: { onStdout: take('out'), onStderr: take('err') } as ProcessIO };
}

/** Waits until `value()` has not changed for `quietMs` (or `maxMs` passed); returns it. */
async function settled(value: () => number, quietMs: number, maxMs: number): Promise<number> {
  const t0 = Date.now();
  let last = value();
  let since = Date.now();
  while (Date.now() - t0 < maxMs) {
    await sleep(100);
    const v = value();
    if (v !== last) { last = v; since = Date.now(); } else if (Date.now() - since >= quietMs) break;
  }
  return last;
}

function collect() {
  const out: string[] = [];
  return { out, io: { onStdout: (c: Uint8Array) => void out.push(dec.decode(c)), onStderr: (c: Uint8Array) => void out.push(dec.decode(c)) } };
}

describe('VM per-process flow control', () => {
  it('a stalled reader blocks its own container only; the others run; on drain every byte arrives in order', async () => {
    const N = 100_000; // 588,895 bytes: past the window and the pipe, so the writer must block
    const a = stallingSink();
    const A = await guest.start(['sh', '-c', `seq 1 ${N}; seq 1 ${N} >&2; echo end`], a.io);
    let aExited = false;
    void A.proc.wait().then(() => (aExited = true));
    const held = await settled(() => a.s.heldBytes, 2000, 60_000);
    // Held output stops at the window: stdout's 256 KiB (stderr is not reached: seq blocks on stdout).
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(OUTPUT_WINDOW);
    expect(aExited).toBe(false);

    // Another container in the same VM starts, prints and exits while A is blocked.
    const b = collect();
    const t0 = Date.now();
    const B = await guest.start(['sh', '-c', 'for i in 1 2 3 4 5; do echo b$i; done; exit 7'], b.io);
    expect((await B.proc.wait()).exitCode).toBe(7);
    const bMs = Date.now() - t0;
    expect(b.out.join('')).toBe('b1\nb2\nb3\nb4\nb5\n');
    // ... and a request on A itself is answered (exec, through the same port).
    const e = collect();
    const ex = await guest.rt.exec({ id: A.id, args: ['echo', 'exec-ok'], io: e.io, tty: false, openStdin: false });
    expect((await ex.wait()).exitCode).toBe(0);
    expect(e.out.join('')).toBe('exec-ok\n');
    // A is still held where it was.
    expect(a.s.heldBytes).toBe(held);
    expect(aExited).toBe(false);
    await guest.rt.release(B.id);

    a.s.drain();
    const status = await A.proc.wait();
    expect(status.exitCode).toBe(0);
    // Output may still be in the sink's queue a moment after the exit.
    await sleep(200);
    expect(a.s.text('out')).toBe(seqText(N) + 'end\n');
    expect(a.s.text('err')).toBe(seqText(N));
    await guest.rt.release(A.id);
    console.log(`flow: A held ${held} bytes; B ran in ${bMs} ms meanwhile`);
  }, 300_000);

  it('a burst that ends at once delivers all of it and the exit code, through a slow sink', async () => {
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    // Every chunk accepted a little later: credit flows back in steps across the window's edge.
    const later = (into: Uint8Array[]) => (c: Uint8Array) => { into.push(c.slice()); return sleep(2); };
    const N = 60_000; // 348,894 bytes per stream: over the window, and both streams at once
    const { id, proc } = await guest.start(['sh', '-c', `seq 1 ${N} & seq 1 ${N} >&2; wait; exit 3`], { onStdout: later(out), onStderr: later(err) });
    expect((await proc.wait()).exitCode).toBe(3);
    await sleep(200);
    expect(out.map((c) => dec.decode(c)).join('')).toBe(seqText(N));
    expect(err.map((c) => dec.decode(c)).join('')).toBe(seqText(N));
    await guest.rt.release(id);
  }, 300_000);

  it('exactly a window of output into a stalled sink still exits; a killed blocked writer exits too', async () => {
    const a = stallingSink();
    // 256 KiB: fits the window, so the process exits although nothing was accepted.
    const A = await guest.start(['sh', '-c', `head -c ${OUTPUT_WINDOW} /dev/zero; exit 5`], a.io);
    expect((await A.proc.wait()).exitCode).toBe(5);
    expect(a.s.heldBytes).toBe(OUTPUT_WINDOW);
    await guest.rt.release(A.id);

    const y = stallingSink();
    const Y = await guest.start(['yes'], y.io);
    const held = await settled(() => y.s.heldBytes, 1500, 60_000);
    expect(held).toBeLessThanOrEqual(OUTPUT_WINDOW);
    await Y.proc.kill('SIGKILL');
    expect(await Y.proc.wait()).toEqual({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    await guest.rt.release(Y.id);
  }, 300_000);

  it('stdin a container does not read holds back that container only', async () => {
    const size = 1 << 20;
    const out = collect();
    // Reads nothing until /tmp/go exists, then counts its stdin.
    const A = await guest.start(['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.2; done; wc -c'], out.io, { interactive: true });
    const data = new Uint8Array(size).fill(0x61);
    for (let off = 0; off < size; off += 65536) A.proc.writeStdin(data.subarray(off, off + 65536));
    A.proc.closeStdin();
    await sleep(1000);
    const b = collect();
    const B = await guest.start(['echo', 'b-ran'], b.io);
    expect((await B.proc.wait()).exitCode).toBe(0);
    expect(b.out.join('')).toBe('b-ran\n');
    await guest.rt.release(B.id);
    const go = await guest.rt.exec({ id: A.id, args: ['touch', '/tmp/go'], io: collect().io, tty: false, openStdin: false });
    expect((await go.wait()).exitCode).toBe(0);
    expect((await A.proc.wait()).exitCode).toBe(0);
    expect(out.out.join('').trim()).toBe(String(size));
    await guest.rt.release(A.id);
  }, 300_000);
});
