/**
 * Exit statuses 126/127 come from the agent's structured `reason` (PROTOCOL.md, RESPONSE), not from
 * the wording of an error: an AgentClient fed the agent's RESPONSE frames, and the mapping through
 * the wraps the engine adds on the way up.
 */
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../../src/errors.ts';
import { startFailureExitCode, startFailureReason, StartFailure } from '../../../src/runtime/start-failure.ts';
import { AgentClient } from '../../../src/runtime/vm/agent-client.ts';
import { encodeJson, FrameDecoder, FrameType } from '../../../src/runtime/vm/protocol.ts';

/** An agent client whose requests are answered with `answer`. */
function clientAnswering(answer: Record<string, unknown>): AgentClient {
  const decoder = new FrameDecoder();
  const client: AgentClient = new AgentClient({
    write: (bytes) => {
      for (const f of decoder.push(bytes)) {
        if (f.type === FrameType.Request) queueMicrotask(() => client.receive(encodeJson(FrameType.Response, f.channel, answer)));
      }
    },
    timeoutMs: 2000,
  });
  return client;
}

describe('start failure reasons', () => {
  it('the agent\'s reason makes the error a StartFailure: not-found 127, not-executable 126', async () => {
    const text = 'crun run c1 failed (status 1): executable file `/no/such` not found: No such file or directory';
    const nf = await clientAnswering({ ok: false, errno: 5, error: text, reason: 'not-found' }).request('run', {}).catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(StartFailure);
    expect(nf).toMatchObject({ reason: 'not-found', code: 'RUNTIME' });
    expect(startFailureExitCode(SkiffError.wrap(SkiffError.wrap(nf, 'exec in container abc'), 'starting container x'))).toBe(127);
    const ne = await clientAnswering({ ok: false, errno: 5, error: 'crun run c1 failed', reason: 'not-executable' }).request('run', {}).catch((e: unknown) => e);
    expect(startFailureExitCode(SkiffError.wrap(ne, 'starting container x'))).toBe(126);
  });

  it('without a reason (an older agent, any other failure) it is 125, whatever the message says', async () => {
    const old = await clientAnswering({ ok: false, errno: 5, error: 'crun run c1 failed (status 1): executable file `/no/such` not found in $PATH: No such file or directory' })
      .request('run', {}).catch((e: unknown) => e);
    expect(old).toBeInstanceOf(SkiffError);
    expect(startFailureReason(old)).toBeUndefined();
    expect(startFailureExitCode(old)).toBe(125);
    expect(startFailureExitCode(new Error('exec: "x": permission denied'))).toBe(125);
    // An unknown reason from a newer agent is a generic failure, not an error of its own.
    const newer = await clientAnswering({ ok: false, errno: 5, error: 'x', reason: 'cosmic-rays' }).request('run', {}).catch((e: unknown) => e);
    expect(newer).toBeInstanceOf(SkiffError);
    expect(startFailureExitCode(newer)).toBe(125);
    // A cause chain that loops is not followed forever.
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = a;
    expect(startFailureExitCode(a)).toBe(125);
  });
});
