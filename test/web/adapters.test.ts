/**
 * rpc/adapters over a real MessageChannel with comlink: the Engine's own method shapes cross
 * unchanged — a byte stream in an options object and as a result, callbacks inside options, a
 * result object of methods (a process), and errors keep their SkiffError code.
 */
import { expose, wrap } from 'comlink';
import { afterAll, describe, expect, it } from 'vitest';
import { SkiffError } from '../../src/errors.ts';
import { StartFailure, startFailureExitCode } from '../../src/runtime/start-failure.ts';
import { installEngineAdapters } from '../../src/web/rpc/adapters.ts';
import { installErrorTransfer } from '../../src/web/rpc/errors.ts';

installErrorTransfer();
installEngineAdapters();

async function* chunks(n: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < n; i++) yield new Uint8Array([i, i, i]);
}

const te = new TextEncoder();
const { port1, port2 } = new MessageChannel();
const served = {
  async load(o: { stream: AsyncIterable<Uint8Array>; onProgress?: (p: { done: number }) => void }): Promise<number> {
    let done = 0;
    for await (const c of o.stream) { done += c.byteLength; o.onProgress?.({ done }); }
    return done;
  },
  async save(o: { n: number }): Promise<AsyncIterable<Uint8Array>> {
    return chunks(o.n);
  },
  async start(o: { io: { onStdout(d: Uint8Array): unknown } }) {
    let stdin = '';
    let end!: (s: { exitCode: number }) => void;
    const exited = new Promise<{ exitCode: number }>((r) => (end = r));
    return {
      pid: 7,
      writeStdin: (c: Uint8Array) => { stdin += new TextDecoder().decode(c); },
      closeStdin: () => { void o.io.onStdout(te.encode(stdin.toUpperCase())); end({ exitCode: stdin.length }); },
      wait: () => exited,
    };
  },
  async fail(): Promise<never> {
    throw new SkiffError('NOT_FOUND', 'No such container: nope');
  },
  async failStart(): Promise<never> {
    throw SkiffError.wrap(new StartFailure('not-found', 'RUNTIME', 'exec: "nope": not found'), 'starting container x');
  },
};
expose(served, port1);
const remote = wrap<typeof served>(port2) as unknown as typeof served;
afterAll(() => { port1.close(); port2.close(); });

describe('engine adapters over comlink', () => {
  it('a stream and a callback inside options; a stream as the result', async () => {
    const seen: number[] = [];
    expect(await remote.load({ stream: chunks(4), onProgress: (p) => seen.push(p.done) })).toBe(12);
    await expect.poll(() => seen.length).toBe(4);
    expect(seen).toEqual([3, 6, 9, 12]);
    const got: number[] = [];
    for await (const c of await remote.save({ n: 3 })) got.push(...c);
    expect(got).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
  });

  it('a process: methods called back through the worker, io callbacks called from it', async () => {
    const out: string[] = [];
    const proc = await remote.start({ io: { onStdout: (d) => out.push(new TextDecoder().decode(d)) } });
    expect(proc.pid).toBe(7);
    await proc.writeStdin(te.encode('hi '));
    await proc.writeStdin(te.encode('there'));
    await proc.closeStdin();
    expect(await proc.wait()).toEqual({ exitCode: 8 });
    await expect.poll(() => out).toEqual(['HI THERE']);
  });

  it('errors keep their code, and a start failure its reason (126/127 on the page as in the CLI)', async () => {
    await expect(remote.fail()).rejects.toMatchObject({ name: 'SkiffError', code: 'NOT_FOUND', message: 'No such container: nope' });
    const err = await remote.failStart().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RUNTIME', message: 'starting container x: exec: "nope": not found' });
    expect(startFailureExitCode(err)).toBe(127);
  });
});
