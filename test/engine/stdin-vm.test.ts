/**
 * Stdin backpressure on the real guest, Engine level (runtime/stdin-gate.ts): a writer into a
 * container that never reads is told to wait once a bounded amount is held on the host, and one
 * that ignores it is refused; a container that reads gets every byte and exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { nodeRuntimes } from '../../src/node.ts';
import { parseRunFlags } from '../../src/runtime/spec/options.ts';
import { STDIN_HIGH_WATER, STDIN_QUEUED_MAX } from '../../src/runtime/stdin-gate.ts';
import { STDIN_WINDOW } from '../../src/runtime/vm/flow.ts';

const td = new TextDecoder();
const CHUNK = 64 << 10;
const FLOOD = 64 << 20;
let e: Engine;

beforeAll(async () => {
  e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: { vm: nodeRuntimes.vm! } });
  await e.runContainer({ image: 'skiff/busybox', run: parseRunFlags({ cmd: ['true'], rm: true }), io: { onStdout: () => {}, onStderr: () => {} } }); // boots the guest
}, 240_000);

afterAll(async () => { await e?.shutdown(); });

describe('stdin backpressure on the VM', () => {
  it('a container that never reads: the writer waits with little held; one that ignores the wait is refused', async () => {
    const c = await e.createContainer({ image: 'skiff/busybox', cmd: ['sleep', '1000'], openStdin: true });
    await e.startContainer({ id: c.id });
    const p = await e.attachContainer({ id: c.id, io: { onStdout: () => {}, onStderr: () => {} } });
    const chunk = new Uint8Array(CHUNK).fill(0x61);
    // As fast as allowed: each write that says wait is awaited, for at most 5 s.
    let written = 0;
    let waits = 0;
    let stuck = false;
    while (written < FLOOD && !stuck) {
      const wait = p.writeStdin(chunk);
      written += chunk.length;
      if (!wait) continue;
      waits++;
      stuck = await Promise.race([wait.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 5000))]);
    }
    expect(stuck).toBe(true);
    expect(waits).toBeGreaterThan(0);
    // Held on the host: under the mark plus a chunk; the rest sits in the agent's window and the pipe.
    expect(written).toBeLessThanOrEqual(STDIN_HIGH_WATER + STDIN_WINDOW + (1 << 20));
    // A writer that goes on regardless is refused before it holds much more than STDIN_QUEUED_MAX.
    let refused: unknown;
    let more = 0;
    try {
      for (; more < FLOOD; more += chunk.length) void p.writeStdin(chunk);
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({ code: 'RUNTIME' });
    expect(more).toBeLessThanOrEqual(STDIN_QUEUED_MAX);
    await e.removeContainer({ id: c.id, force: true });
    console.log(`stdin: sleep container, writer let through ${written} bytes before waiting (${waits} waits)`);
  }, 300_000);

  it('a container that reads gets every byte of a large stdin and exits 0', async () => {
    const SIZE = 8 << 20;
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      const chunk = new Uint8Array(CHUNK).fill(0x62);
      for (; pulled < SIZE; pulled += chunk.length) yield chunk;
    }
    const out: string[] = [];
    const t0 = Date.now();
    const r = await e.runContainer({
      image: 'skiff/busybox', run: parseRunFlags({ cmd: ['wc', '-c'], interactive: true, rm: true }), stdin: source(),
      io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => out.push(td.decode(d)) },
    });
    expect(r.exit.exitCode).toBe(0);
    expect(out.join('').trim()).toBe(String(SIZE));
    console.log(`stdin: ${SIZE} bytes into wc -c in ${Date.now() - t0} ms`);
  }, 600_000);
});
