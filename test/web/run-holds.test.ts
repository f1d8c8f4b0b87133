/**
 * The page's VM holds for wasm starts (web/client/run-holds.ts), one per prepared run: two
 * autorun elements of one image each keep theirs until their own run ends; a hold no run claims
 * ends after VM_HOLD_MAX_MS; a Linux image's holds end at once. The worker counts them per image. Through the real engine client
 * (its worker a comlink endpoint on a MessageChannel, the site's files a stubbed fetch): while a
 * wasm run may still go first the page leaves v86.wasm's compile to the worker, and compiles it
 * again once none may.
 */
import 'fake-indexeddb/auto';
import { expose } from 'comlink';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RunHolds } from '../../src/web/client/run-holds.ts';
import { isEarlyMessage, type EarlyMessage } from '../../src/web/worker/early-vm.ts';
import { VM_HOLD_MAX_MS } from '../../src/web/worker/vm-hold.ts';

const BASE = 'http://site.test/skiff/';
const WASM = 'skiff/hello-wasm:latest';
const LINUX = 'skiff/busybox:latest';
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('RunHolds', () => {
  it('two holds of one image: each run ends its own; the worker is told nothing a run ends itself', () => {
    const posted: EarlyMessage[] = [];
    const holds = new RunHolds((m) => posted.push(m), 60_000);
    holds.hold(WASM);
    holds.hold(WASM);
    const a = holds.claim(WASM)!;
    const b = holds.claim(WASM)!;
    expect(b).not.toBe(a);
    expect(holds.claim(WASM)).toBeUndefined();
    holds.end(a);
    expect(holds.size).toBe(1);
    holds.end(a);
    expect(holds.size).toBe(1);
    holds.end(b);
    expect(holds.size).toBe(0);
    expect(posted).toEqual([{ skiffEarly: 'hold', image: WASM }, { skiffEarly: 'hold', image: WASM }]);
  });

  it('unclaimed holds: each one ending, or timing out, tells the worker', async () => {
    const posted: EarlyMessage[] = [];
    const holds = new RunHolds((m) => posted.push(m), 30);
    const a = holds.hold(WASM);
    holds.hold(WASM);
    holds.end(a);
    expect(posted.filter((m) => m.skiffEarly === 'unhold')).toHaveLength(1);
    expect(holds.size).toBe(1);
    await tick(60);
    expect(holds.size).toBe(0);
    expect(posted.filter((m) => m.skiffEarly === 'unhold')).toHaveLength(2);
  });

  it('a Linux image\'s holds end at once, claimed or not; other images keep theirs', () => {
    const holds = new RunHolds(() => {}, 60_000);
    holds.hold(LINUX);
    holds.hold(LINUX);
    holds.claim(LINUX);
    holds.hold(WASM);
    holds.linux(LINUX);
    expect(holds.size).toBe(1);
    expect(holds.claim(LINUX)).toBeUndefined();
  });
});

describe('the worker\'s early holds (early-vm.ts)', () => {
  beforeEach(() => { vi.resetModules(); });

  it('two holds of one image keep the VM gate closed until both runs started', async () => {
    const { onEarlyMessage, endEarlyHold, vmGate } = await import('../../src/web/worker/early-vm.ts');
    let passed = false;
    onEarlyMessage({ skiffEarly: 'hold', image: WASM });
    onEarlyMessage({ skiffEarly: 'hold', image: WASM });
    void vmGate.passed('test').then(() => { passed = true; });
    endEarlyHold(WASM);
    await tick(20);
    expect(passed).toBe(false);
    endEarlyHold(WASM);
    await tick();
    expect(passed).toBe(true);
    // More ends than holds: nothing (no hold of another run is taken).
    endEarlyHold(WASM);
  });

  it('an unhold ends one hold', async () => {
    const { onEarlyMessage, vmGate } = await import('../../src/web/worker/early-vm.ts');
    let passed = false;
    onEarlyMessage({ skiffEarly: 'hold', image: WASM });
    onEarlyMessage({ skiffEarly: 'hold', image: WASM });
    void vmGate.passed('test').then(() => { passed = true; });
    onEarlyMessage({ skiffEarly: 'unhold', image: WASM });
    await tick(20);
    expect(passed).toBe(false);
    onEarlyMessage({ skiffEarly: 'unhold', image: WASM });
    await tick();
    expect(passed).toBe(true);
  });
});

/** A worker answering comlink as the engine worker does, runs ending when the test says. */
function fakeWorker() {
  const { port1, port2 } = new MessageChannel();
  const early: EarlyMessage[] = [];
  const ends: Array<() => void> = [];
  port2.addEventListener('message', (ev: MessageEvent) => { if (isEarlyMessage(ev.data)) early.push(ev.data); });
  expose({
    init: async () => ({}),
    prepare: async () => {},
    vmStarted: async () => true,
    engine: {
      runContainer: async () => {
        await new Promise<void>((r) => ends.push(r));
        return { id: 'c', name: 'n', exit: { exitCode: 0 } };
      },
    },
  }, port2 as never);
  port2.start();
  const worker = Object.assign(port1, { terminate: () => { port1.close(); port2.close(); } }) as unknown as Worker;
  return { worker, early, ends };
}

function site(): typeof fetch {
  const files: Record<string, string> = {
    'vm-images/images/dist/manifest.json': JSON.stringify([
      { name: LINUX, platform: { os: 'linux', architecture: '386' } },
      { name: WASM, platform: { os: 'wasi', architecture: 'wasm' } },
    ]),
    'vm-images/dist/manifest.json': JSON.stringify({ v86: '0.5.462+test', cmdline: 'console=ttyS0', memoryMiB: 128, files: {} }),
  };
  return (async (url: URL | string) => {
    const body = files[String(url).slice(BASE.length)];
    return body === undefined ? new Response('no', { status: 404 }) : new Response(body);
  }) as typeof fetch;
}

async function until<T>(f: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = f();
    if (v !== undefined) return v;
    await tick(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('engine client holds', () => {
  beforeEach(() => {
    vi.resetModules();
    vi.stubGlobal('fetch', site());
  });
  afterEach(() => { vi.unstubAllGlobals(); });

  /**
   * Whether the page compiles v86.wasm itself when a Linux element is prepared now (its 'vm'
   * message names the URL); once per page: the next prepare finds the snapshot's download begun.
   */
  async function pageCompiles(client: { prepare(i: string): Promise<void> }, early: EarlyMessage[]): Promise<boolean> {
    await client.prepare(LINUX);
    const vm = await until(() => early.find((m) => m.skiffEarly === 'vm'), 'the vm message');
    return vm.skiffEarly === 'vm' && vm.v86 !== undefined;
  }

  /** Two autorun elements of the wasm image, running; `ended` of their runs ended. */
  async function twoRuns(ended: number) {
    const { createEngineClient } = await import('../../src/web/client/engine-client.ts');
    const w = fakeWorker();
    const client = createEngineClient({ assetBase: BASE, spawnWorker: () => w.worker });
    const out = { stdout() {}, stderr() {} };
    await client.prepare(WASM, { run: true });
    await client.prepare(WASM, { run: true });
    const runs = [client.run({ image: WASM }, out), client.run({ image: WASM }, out)];
    await until(() => (w.ends.length === 2 ? true : undefined), 'both runs');
    for (let i = 0; i < ended; i++) {
      w.ends[i]!();
      await runs[i];
    }
    return { client, w };
  }

  it('two autorun elements of a wasm image: while the second still runs the page leaves v86 to the worker', async () => {
    const { client, w } = await twoRuns(1);
    try {
      expect(await pageCompiles(client, w.early)).toBe(false);
    } finally {
      client.terminate();
    }
  });

  it('two autorun elements of a wasm image: once both runs ended the page compiles v86', async () => {
    const { client, w } = await twoRuns(2);
    try {
      expect(await pageCompiles(client, w.early)).toBe(true);
    } finally {
      client.terminate();
    }
  });

  it('an element prepared to run that never runs holds the page\'s compile only for VM_HOLD_MAX_MS', async () => {
    const { createEngineClient } = await import('../../src/web/client/engine-client.ts');
    const w = fakeWorker();
    const client = createEngineClient({ assetBase: BASE, spawnWorker: () => w.worker });
    try {
      await client.prepare(WASM, { run: true });
      await tick(VM_HOLD_MAX_MS + 100);
      expect(w.early.filter((m) => m.skiffEarly === 'unhold')).toEqual([{ skiffEarly: 'unhold', image: WASM }]);
      expect(await pageCompiles(client, w.early)).toBe(true);
    } finally {
      client.terminate();
    }
  });
});
