/**
 * The host side of the agent channel against a hostile guest: no frame a guest sends may throw
 * into the host's event loop. Malformed frames are reported, and the request or process they
 * were meant for fails with a clear error instead of hanging.
 */
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../../src/errors.ts';
import { AgentClient, AgentTimeout } from '../../../src/runtime/vm/agent-client.ts';
import { encodeFrame, encodeJson, FrameDecoder, FrameType, type Frame } from '../../../src/runtime/vm/protocol.ts';

const te = new TextEncoder();

function setup() {
  const sent: Frame[] = [];
  const dec = new FrameDecoder();
  const reported: SkiffError[] = [];
  const client = new AgentClient({ write: (b) => sent.push(...dec.push(b)), timeoutMs: 5000, onProtocolError: (e) => reported.push(e) });
  const lastRequest = (): { id: number; body: Record<string, unknown> } => {
    const f = sent.filter((x) => x.type === FrameType.Request).at(-1)!;
    return { id: f.channel, body: JSON.parse(new TextDecoder().decode(f.payload)) as Record<string, unknown> };
  };
  return { client, reported, lastRequest };
}

const raw = (type: number, channel: number, payload: string | Uint8Array): Uint8Array => encodeFrame(type as FrameType, channel, typeof payload === 'string' ? te.encode(payload) : payload);

describe('AgentClient with a hostile guest', () => {
  it('garbage frames of every type are reported, never thrown', () => {
    const { client, reported } = setup();
    const garbage = [
      raw(FrameType.Ack, 0, new Uint8Array(0)),
      raw(FrameType.Ack, 0, new Uint8Array(3)),
      raw(FrameType.Hello, 0, 'not json'),
      raw(FrameType.Hello, 0, 'null'),
      raw(FrameType.Hello, 0, '{"proto":"one"}'),
      raw(0x7f, 1, 'an unknown frame type'),
    ];
    for (const g of garbage) expect(() => client.receive(g)).not.toThrow();
    // random bytes too (the decoder resynchronises on the magic)
    let x = 7;
    const noise = new Uint8Array(100_000).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
    expect(() => client.receive(noise)).not.toThrow();
    expect(reported.length).toBe(5);
    expect(client.protocolErrors).toBe(5);
    expect(reported.map((e) => e.code)).toEqual(['VM', 'VM', 'VM', 'VM', 'VM']);
    expect(reported[0]!.message).toMatch(/guest agent sent a malformed Ack frame \(channel 0, 0 bytes\): an ACK carries 4 bytes/);
    expect(reported[2]!.message).toMatch(/malformed Hello frame .*malformed JSON/);
    expect(reported[3]!.message).toMatch(/malformed Hello frame .*not a JSON object/);
    expect(client.lastProtocolError!.message).toMatch(/HELLO without a numeric "proto"/);
  });

  it('a malformed response fails its request at once, with the reason (no timeout)', async () => {
    const { client, reported, lastRequest } = setup();
    for (const bad of ['{"ok":tru', '[1,2]', '"str"']) {
      const ping = client.ping();
      client.receive(raw(FrameType.Response, lastRequest().id, bad));
      await expect(ping).rejects.toMatchObject({ code: 'VM', message: expect.stringMatching(/guest agent ping: malformed response/) });
    }
    expect(reported.length).toBe(3);
    // and the channel still works afterwards
    const ping = client.ping();
    client.receive(encodeJson(FrameType.Response, lastRequest().id, { ok: true, uptime_ms: 5, mem_free_kb: 1, procs: 1 }));
    await expect(ping).resolves.toMatchObject({ uptime_ms: 5 });
  });

  it('a malformed exit status fails the process with the reason', async () => {
    const { client, reported, lastRequest } = setup();
    const started = client.spawn({ args: ['true'] });
    const { id, body } = lastRequest();
    client.receive(encodeJson(FrameType.Response, id, { ok: true, pid: 42 }));
    const proc = await started;
    client.receive(raw(FrameType.Exit, body.channel as number, '{"exitCode":"zero"}'));
    await expect(proc.wait()).rejects.toMatchObject({ code: 'VM', message: expect.stringMatching(/malformed exit status for process 42 \(EXIT without an integer "exitCode"\)/) });
    expect(reported.length).toBe(1);
    expect(client.liveProcesses).toBe(0);
  });

  it('a throwing report hook does not escape either', () => {
    const client = new AgentClient({ write: () => {}, onProtocolError: () => { throw new Error('hook'); } });
    expect(() => client.receive(raw(FrameType.Hello, 0, '{'))).not.toThrow();
    expect(client.protocolErrors).toBe(1);
  });
});

describe('AgentClient: a request the agent does not answer', () => {
  /** A client whose clock the test moves; `sent` holds every request frame (id, op, bytes). */
  function stalled() {
    let t = 0;
    const dec = new FrameDecoder();
    const sent: Array<{ id: number; op: string; bytes: number }> = [];
    const timeouts: AgentTimeout[] = [];
    const client = new AgentClient({
      write: (b) => { for (const f of dec.push(b)) if (f.type === FrameType.Request) sent.push({ id: f.channel, op: (JSON.parse(new TextDecoder().decode(f.payload)) as { op: string }).op, bytes: f.payload.length + 12 }); },
      now: () => t, onTimeout: (e) => timeouts.push(e),
    });
    const ack = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); client.receive(encodeFrame(FrameType.Ack, 0, b)); };
    return { client, sent, timeouts, ack, advance: (ms: number) => { t += ms; } };
  }

  it('that it read: the timeout names the request, when the agent last spoke and what else waits for it', async () => {
    const { client, sent, timeouts, ack, advance } = stalled();
    const run = client.request('run', { id: 'c1' }, 60_000).catch((e: unknown) => e);
    ack(sent[0]!.bytes);
    advance(120_000);
    const setup = client.request('net_setup', { id: 'c2' }, 30);
    ack(sent[1]!.bytes);
    advance(45_000);
    const err = await setup.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentTimeout);
    expect((err as AgentTimeout).message).toBe('guest agent did not answer net_setup (request 2) within 30 ms: '
      + "the agent's last frame came 45.0 s ago; it read everything sent to it; also unanswered: run (request 1) for 165.0 s");
    expect(err).toMatchObject({ code: 'VM', op: 'net_setup', stall: { silentMs: 45_000, unacknowledged: 0, waiting: 0, others: [{ op: 'run', id: 1, ageMs: 165_000 }] } });
    expect(timeouts).toEqual([err]);
    client.close(new SkiffError('VM', 'done'));
    await run;
  });

  it('that it never read: the timeout says the agent is not reading its port, and what is still unsent', async () => {
    const { client, timeouts } = stalled();
    const first = client.request('ping', {}, 30);
    // 40 KB: more than the credit the agent's receive buffers give (flow.ts), so part of it is never sent.
    const big = client.request('write_file', { path: '/x', text: 'x'.repeat(40_000) }, 60_000).catch((e: unknown) => e);
    const err = await first.catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^guest agent did not answer ping \(request 1\) within 30 ms: the agent has sent nothing yet; \d+ bytes sent to it were never read \(it is not reading its port\); \d+ more bytes wait to be sent; also unanswered: write_file \(request 2\) for 0\.0 s$/);
    expect((err as AgentTimeout).stall).toMatchObject({ silentMs: null });
    expect((err as AgentTimeout).stall!.unacknowledged).toBeGreaterThan(28_000); // 8 chunks, the most unread (flow.ts)
    expect((err as AgentTimeout).stall!.waiting).toBeGreaterThan(7000);
    expect(timeouts).toHaveLength(1);
    client.close(new SkiffError('VM', 'done'));
    await big;
  });
});
