/**
 * The host half of per-process flow control (flow.ts, PROTOCOL.md "Per-process flow control"),
 * against a scripted agent: CREDIT frames go out as readers accept output, in steps, never for a
 * process that prints a little; stdin stays within its window per process and follows the
 * agent's STDIN_CREDIT, EOF after the queued bytes.
 */
import { describe, expect, it } from 'vitest';
import { AgentClient } from '../../../src/runtime/vm/agent-client.ts';
import { CREDIT_STEP, OUTPUT_HELD_MAX, OutputCredit, STDIN_FRAME, STDIN_WINDOW, StdinWindow } from '../../../src/runtime/vm/flow.ts';
import { STDIN_HIGH_WATER, STDIN_QUEUED_MAX } from '../../../src/runtime/stdin-gate.ts';
import { StdinQueue } from '../../../src/runtime/wasi/stdin-source.ts';
import { encodeFrame, encodeJson, FrameDecoder, FrameType, type Frame } from '../../../src/runtime/vm/protocol.ts';

function u32s(...v: number[]): Uint8Array {
  const b = new Uint8Array(4 * v.length);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setUint32(4 * i, x, true));
  return b;
}

function credits(frames: Frame[]): Array<[number, number, number]> {
  return frames.filter((f) => f.type === FrameType.Credit).map((f) => {
    const dv = new DataView(f.payload.buffer, f.payload.byteOffset, 8);
    return [f.channel, dv.getUint32(0, true), dv.getUint32(4, true)];
  });
}

/** A client whose agent acknowledges every byte of the port at once, and one started process. */
async function withProcess() {
  const sent: Frame[] = [];
  const dec = new FrameDecoder();
  let client!: AgentClient;
  client = new AgentClient({
    write: (b) => { sent.push(...dec.push(b)); queueMicrotask(() => client.receive(encodeFrame(FrameType.Ack, 0, u32s(b.length)))); },
    timeoutMs: 5000,
  });
  const started = client.spawn({ args: ['x'] });
  const req = sent.find((f) => f.type === FrameType.Request)!;
  const channel = (JSON.parse(new TextDecoder().decode(req.payload)) as { channel: number }).channel;
  client.receive(encodeJson(FrameType.Response, req.channel, { ok: true, pid: 9 }));
  const proc = await started;
  const out = (n: number, type: FrameType = FrameType.Stdout) => client.receive(encodeFrame(type, channel, new Uint8Array(n)));
  return { client, proc, channel, sent, out };
}

describe('output credit', () => {
  it('a little output sends no CREDIT; accepted output comes back in steps of CREDIT_STEP per stream', async () => {
    const { proc, channel, sent, out } = await withProcess();
    proc.stdout.on(() => undefined);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    proc.stderr.on((c) => (c ? held : undefined));
    out(100);
    expect(credits(sent)).toEqual([]);
    for (let i = 0; i < 4; i++) out(CREDIT_STEP / 4);
    expect(credits(sent)).toEqual([[channel, CREDIT_STEP + 100, 0]]);
    // stderr held by its reader: no credit until the promise settles.
    out(CREDIT_STEP, FrameType.Stderr);
    await Promise.resolve();
    expect(credits(sent)).toHaveLength(1);
    release();
    await held;
    await new Promise((r) => setTimeout(r, 0));
    expect(credits(sent)).toEqual([[channel, CREDIT_STEP + 100, 0], [channel, 0, CREDIT_STEP]]);
  });

  it('unread output is not credited until an iterator takes it', async () => {
    const { proc, channel, sent, out } = await withProcess();
    out(CREDIT_STEP);
    expect(credits(sent)).toEqual([]);
    const it = proc.stdout[Symbol.asyncIterator]();
    await it.next();
    expect(credits(sent)).toEqual([[channel, CREDIT_STEP, 0]]);
  });

  it('a guest that ignores the window cannot make the host hold more than OUTPUT_HELD_MAX per stream', async () => {
    const { client, proc, out } = await withProcess();
    const frame = 1 << 20; // MAX_PAYLOAD
    for (let sent = 0; sent < OUTPUT_HELD_MAX + 3 * frame; sent += frame) {
      out(frame);
      out(frame, FrameType.Stderr);
    }
    expect(client.protocolErrors).toBeGreaterThan(0);
    expect(client.lastProtocolError?.message).toMatch(/past its output window/);
    let held = 0;
    proc.stdout.on((c) => { if (c) held += c.length; });
    expect(held).toBeLessThanOrEqual(OUTPUT_HELD_MAX);
    expect(held).toBeGreaterThan(OUTPUT_HELD_MAX - frame);
    // Read, the room is back: stdout is taken again; stderr, still read by nobody, is not.
    const errors = client.protocolErrors;
    out(frame);
    expect(held).toBeGreaterThan(OUTPUT_HELD_MAX);
    expect(client.protocolErrors).toBe(errors);
    out(frame, FrameType.Stderr);
    expect(client.protocolErrors).toBe(errors + 1);
  });

  it('output read as it comes is never dropped however much there is', async () => {
    const { client, proc, out } = await withProcess();
    let got = 0;
    proc.stdout.on((c) => { if (c) got += c.length; });
    const frames = Math.ceil((3 * OUTPUT_HELD_MAX) / (1 << 20));
    for (let i = 0; i < frames; i++) out(1 << 20);
    expect(got).toBe(frames * (1 << 20));
    expect(client.protocolErrors).toBe(0);
  });

  it('OutputCredit reports both streams once either reaches a step', () => {
    const got: Array<[number, number]> = [];
    const c = new OutputCredit((o, e) => got.push([o, e]));
    c.accepted(1, 10);
    c.accepted(0, CREDIT_STEP - 1);
    expect(got).toEqual([]);
    c.accepted(0, 1);
    expect(got).toEqual([[CREDIT_STEP, 10]]);
  });
});

describe('stdin window', () => {
  it('sends at most STDIN_WINDOW ahead of the agent, in frames of at most STDIN_FRAME, EOF last', () => {
    const frames: Uint8Array[] = [];
    const w = new StdinWindow((b) => frames.push(b.slice()));
    const total = STDIN_WINDOW * 3 + 5;
    const data = new Uint8Array(total).map((_, i) => i & 0xff);
    w.write(data);
    w.close();
    const sentBytes = () => frames.reduce((n, f) => n + f.length, 0);
    expect(sentBytes()).toBe(STDIN_WINDOW);
    expect(Math.max(...frames.map((f) => f.length))).toBe(STDIN_FRAME);
    expect(w.queued).toBe(total - STDIN_WINDOW);
    w.credit(1000);
    expect(sentBytes()).toBe(STDIN_WINDOW + 1000);
    while (sentBytes() < total) w.credit(STDIN_WINDOW);
    expect(frames.at(-1)!.length).toBe(0); // EOF, after every byte
    const joined = new Uint8Array(total);
    let off = 0;
    for (const f of frames) { joined.set(f, off); off += f.length; }
    expect(joined).toEqual(data);
    w.write(new Uint8Array(3)); // after EOF: nothing
    expect(frames.at(-1)!.length).toBe(0);
  });

  it('tells the writer to wait past STDIN_HIGH_WATER queued, releases it on credit, refuses a writer that ignores it', async () => {
    const w = new StdinWindow(() => {});
    const chunk = new Uint8Array(64 << 10);
    let written = 0;
    let wait: Promise<void> | undefined;
    while (!(wait = w.write(chunk))) written += chunk.length;
    written += chunk.length;
    // Told to wait once the host holds the mark (the window went out first).
    expect(w.queued).toBeGreaterThanOrEqual(STDIN_HIGH_WATER);
    expect(written).toBe(STDIN_WINDOW + w.queued);
    let released = false;
    void wait.then(() => (released = true));
    w.credit(0);
    await Promise.resolve();
    expect(released).toBe(false); // still at the mark
    w.credit(STDIN_FRAME);
    await Promise.resolve();
    expect(released).toBe(true);
    // A writer that ignores the promises: refused at STDIN_QUEUED_MAX, nothing more kept.
    let err: unknown;
    try { for (;;) w.write(chunk); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'RUNTIME' });
    expect(w.queued).toBeLessThan(STDIN_QUEUED_MAX + chunk.length);
    // The process ends: a waiting writer is released, the queue dropped, later writes ignored.
    const waiting = new StdinWindow(() => {});
    let p: Promise<void> | undefined;
    while (!(p = waiting.write(chunk)));
    waiting.abandon();
    await p;
    expect(waiting.queued).toBe(0);
    expect(waiting.write(chunk)).toBeUndefined();
  });

  it('the WASI stdin queue tells its writer to wait until the module reads', async () => {
    const q = new StdinQueue();
    const chunk = new Uint8Array(64 << 10);
    let p: Promise<void> | undefined;
    let n = 0;
    while (!(p = q.push(chunk))) n++;
    expect(q.queued).toBe(STDIN_HIGH_WATER);
    let released = false;
    void p.then(() => (released = true));
    const it = q[Symbol.asyncIterator]();
    await it.next();
    await Promise.resolve();
    expect(released).toBe(true);
    expect(n).toBe(STDIN_HIGH_WATER / chunk.length - 1);
    q.end();
  });

  it('each process has its own window: a stalled one does not hold back another, STDIN_CREDIT reopens it', async () => {
    const { client, channel, proc, sent } = await withProcess();
    const startedB = client.spawn({ args: ['y'] });
    const reqB = sent.filter((f) => f.type === FrameType.Request).at(-1)!;
    const chB = (JSON.parse(new TextDecoder().decode(reqB.payload)) as { channel: number }).channel;
    client.receive(encodeJson(FrameType.Response, reqB.channel, { ok: true, pid: 10 }));
    const procB = await startedB;
    await new Promise((r) => setTimeout(r, 0));
    const stdinOf = (ch: number) => sent.filter((f) => f.type === FrameType.Stdin && f.channel === ch).reduce((n, f) => n + f.payload.length, 0);
    proc.write(new Uint8Array(STDIN_WINDOW * 2));
    await new Promise((r) => setTimeout(r, 0));
    expect(stdinOf(channel)).toBe(STDIN_WINDOW);
    procB.write('hello');
    await new Promise((r) => setTimeout(r, 0));
    expect(stdinOf(chB)).toBe(5);
    client.receive(encodeFrame(FrameType.StdinCredit, channel, u32s(STDIN_FRAME)));
    await new Promise((r) => setTimeout(r, 0));
    expect(stdinOf(channel)).toBe(STDIN_WINDOW + STDIN_FRAME);
    expect(proc.stdinQueued).toBe(STDIN_WINDOW - STDIN_FRAME);
  });
});
