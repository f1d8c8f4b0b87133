/** The agent frame codec and host-side flow control, without a VM. */
import { describe, expect, it } from 'vitest';
import { CHUNK, CreditWriter, MAX_BYTES, MAX_CHUNKS } from '../../../src/runtime/vm/flow.ts';
import { encodeFrame, encodeJson, FrameDecoder, FrameType, MAX_PAYLOAD } from '../../../src/runtime/vm/protocol.ts';
import { signalName, signalNumber } from '../../../src/runtime/vm/signals.ts';

function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

describe('frame codec', () => {
  const frames = [
    encodeJson(FrameType.Request, 7, { op: 'ping' }),
    encodeFrame(FrameType.Stdout, 3, new Uint8Array([1, 2, 3, 0x5c, 0xf1])),
    encodeFrame(FrameType.Stderr, 0xffffffff, new Uint8Array(0)),
    encodeFrame(FrameType.Stdin, 9, new Uint8Array(70_000).map((_, i) => i & 0xff)),
  ];
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  frames.reduce((off, f) => (stream.set(f, off), off + f.length), 0);

  it('reassembles frames from chunks of any width', () => {
    const r = rng(42);
    for (let trial = 0; trial < 50; trial++) {
      const d = new FrameDecoder();
      const got = [];
      for (let off = 0; off < stream.length;) {
        const n = 1 + Math.floor(r() * (trial % 2 ? 16 : 9000));
        got.push(...d.push(stream.subarray(off, off + n)));
        off += n;
      }
      expect(got.map((f) => [f.type, f.channel, f.payload.length])).toEqual([
        [FrameType.Request, 7, 13], [FrameType.Stdout, 3, 5], [FrameType.Stderr, 0xffffffff, 0], [FrameType.Stdin, 9, 70_000],
      ]);
      expect(got[3]!.payload[69_999]).toBe(69_999 & 0xff);
      expect(d.skipped).toBe(0);
    }
  });

  it('skips garbage (a serial console\'s boot noise) before a frame', () => {
    const d = new FrameDecoder();
    const noise = new TextEncoder().encode('[    0.1] booting \\\xf1\n');
    const got = [...d.push(noise), ...d.push(frames[0]!)];
    expect(got).toHaveLength(1);
    expect(got[0]!.channel).toBe(7);
    expect(d.skipped).toBe(noise.length);
  });

  it('refuses to build an oversized frame', () => {
    expect(() => encodeFrame(FrameType.Stdin, 1, new Uint8Array(MAX_PAYLOAD + 1))).toThrow(/exceeds/);
  });
});

describe('credit writer', () => {
  it('never has more than the allowed chunks or bytes unacknowledged, and loses nothing', () => {
    const sent: Uint8Array[] = [];
    const w = new CreditWriter((c) => sent.push(c));
    const data = new Uint8Array(100_000).map((_, i) => (i * 13) & 0xff);
    for (let off = 0; off < data.length; off += 777) w.write(data.subarray(off, off + 777));
    let acked = 0;
    const r = rng(1);
    while (acked < data.length) {
      const inflight = sent.reduce((n, c) => n + c.length, 0) - acked;
      expect(inflight).toBeLessThanOrEqual(MAX_BYTES);
      expect(sent.every((c) => c.length <= CHUNK)).toBe(true);
      const n = Math.min(inflight, 1 + Math.floor(r() * 6000));
      acked += n;
      w.ack(n);
    }
    const joined = new Uint8Array(sent.reduce((n, c) => n + c.length, 0));
    sent.reduce((off, c) => (joined.set(c, off), off + c.length), 0);
    expect(joined).toEqual(data);
    expect(w.pending).toBe(0);
  });

  it('counts chunks too: many small writes still stop at MAX_CHUNKS in flight', () => {
    const sent: Uint8Array[] = [];
    const w = new CreditWriter((c) => sent.push(c));
    for (let i = 0; i < 20; i++) w.write(new Uint8Array(100));
    expect(sent).toHaveLength(MAX_CHUNKS); // 800 bytes, far under MAX_BYTES: the chunk count bit
    w.reset(); // after a restore the guest's buffers are free again; the rest goes out coalesced
    expect(sent.map((c) => c.length).slice(MAX_CHUNKS)).toEqual([(20 - MAX_CHUNKS) * 100]);
  });
});

describe('signals', () => {
  it('accepts Docker\'s forms and rejects nonsense', () => {
    expect(signalNumber('KILL')).toBe(9);
    expect(signalNumber('sigterm')).toBe(15);
    expect(signalNumber('10')).toBe(10);
    expect(signalNumber(28)).toBe(28);
    expect(signalName(9)).toBe('SIGKILL');
    expect(() => signalNumber('SIGNOPE')).toThrow(/unknown signal/);
    expect(() => signalNumber(0)).toThrow(/unknown signal/);
  });
});
