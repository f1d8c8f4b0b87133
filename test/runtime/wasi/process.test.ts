/** Process lifecycle: exit codes, kill of a runaway module, traps, sleep, stdin as a stream, memory cap. */
import { describe, expect, it } from 'vitest';
import { runWasi } from '../../../src/runtime/wasi/index.ts';
import { isSkiffError } from '../../../src/errors.ts';
import { nodeWasiSpawn } from '../../../src/node.ts';
import { capture, emptyOverlay, fixture } from './helpers.ts';

const root = () => [{ path: '/', fs: emptyOverlay() }];
const spawn = nodeWasiSpawn();

describe('where a module runs', () => {
  it('in a worker only with a spawner: auto without one runs inline, worker without one is refused', async () => {
    expect(runWasi({ spawn, module: fixture('hello'), args: ['hello'], mounts: root() }).mode).toBe('worker');
    const inline = runWasi({ module: fixture('hello'), args: ['hello'], mounts: root() });
    expect(inline.mode).toBe('inline');
    expect((await inline.exited).exitCode).toBe(0);
    expect(() => runWasi({ module: fixture('hello'), args: ['hello'], mounts: root(), mode: 'worker' })).toThrow(/needs `spawn`/);
  });
});

describe('exit codes', () => {
  it('returns the code main returns, masked to 8 bits as on Linux', async () => {
    const fsops = fixture('fsops');
    expect((await capture({ module: fsops, args: ['fsops'], mounts: root() })).exitCode).toBe(0);
    // A failing verb makes fsops return 1.
    const r = await capture({ module: fsops, args: ['fsops', 'cat', '/nope'], mounts: root() });
    expect(r).toMatchObject({ exitCode: 1, stdout: 'errno ENOENT\n' });
    const probe = fixture('probe');
    for (const code of [0, 3, 255, 256 + 9]) {
      const fs = emptyOverlay();
      fs.mkdir(fs.root(), 'w', { mode: 0o755, uid: 0, gid: 0 });
      const p = await capture({ module: probe, args: ['probe', '/w', String(code)], mounts: [{ path: '/', fs }] });
      expect(p.exitCode).toBe(code & 255);
    }
  });

  it('passes the last line without a newline through (shim bug 4)', async () => {
    const fs = emptyOverlay();
    fs.mkdir(fs.root(), 'w', { mode: 0o755, uid: 0, gid: 0 });
    const p = await capture({ module: fixture('probe'), args: ['probe', '/w', '0'], mounts: [{ path: '/', fs }] });
    expect(p.stdout.endsWith('\nno newline at end')).toBe(true);
  });
});

describe('kill', () => {
  it('stops a module spinning without WASI calls and reports 128+signal, caller stays responsive', async () => {
    const proc = runWasi({ spawn, module: fixture('spin'), args: ['spin'], mounts: root(), mode: 'worker' });
    // The caller's event loop keeps running while the module spins.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
    const t0 = performance.now();
    proc.kill('SIGKILL');
    const exit = await proc.exited;
    expect(exit).toEqual({ exitCode: 137, signal: 9 });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('SIGTERM gives 143; kill before start never runs the module', async () => {
    const p1 = runWasi({ spawn, module: fixture('spin'), args: ['spin'], mounts: root() });
    await new Promise((r) => setTimeout(r, 100));
    p1.kill('TERM');
    expect(await p1.exited).toEqual({ exitCode: 143, signal: 15 });
    let out = '';
    const p2 = runWasi({ spawn, module: fixture('hello'), args: ['hello'], mounts: root(), onStdout: (d) => (out += new TextDecoder().decode(d)) });
    p2.kill(2);
    expect(await p2.exited).toEqual({ exitCode: 130, signal: 2 });
    expect(out).toBe('');
  });

  it('rejects an unknown signal name', () => {
    const p = runWasi({ spawn, module: fixture('hello'), args: ['hello'], mounts: root() });
    expect(() => p.kill('SIGNOPE')).toThrow(/Invalid signal: SIGNOPE/);
    p.kill();
    return p.exited;
  });
});

describe('traps', () => {
  for (const mode of ['worker', 'inline'] as const) {
    it(`reports a trap with its message and exit code 134 (${mode})`, async () => {
      const r = await capture({ module: fixture('trap'), args: ['trap'], mounts: root(), mode });
      expect(r.stdout).toBe('about to trap\n');
      expect(r.exitCode).toBe(134);
      expect(r.trap).toMatch(/^wasm trap: unreachable/);
    });
  }

  it('rejects bytes that are not a module, and a module without _start, with clear errors', async () => {
    const bad = runWasi({ spawn, module: new TextEncoder().encode('#!/bin/sh\necho hi\n'), args: ['x'], mounts: root() });
    await expect(bad.exited).rejects.toThrow(/does not compile/);
    // A reactor-style module: memory but no _start.
    const reactor = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0]);
    const err = await runWasi({ spawn, module: reactor, args: ['x'], mounts: root() }).exited.catch((e: unknown) => e);
    expect(isSkiffError(err, 'RUNTIME')).toBe(true);
    expect(String(err)).toMatch(/no _start export/);
  });
});

describe('poll_oneoff', () => {
  it('sleeps for the requested time and reports the event (shim bug 1)', async () => {
    const r = await capture({ module: fixture('sleep'), args: ['sleep'], mounts: root() });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'slept ok\n' });
  });
});

describe('stdin', () => {
  it('streams stdin from an async iterable while the module runs (worker)', async () => {
    const enc = new TextEncoder();
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 20));
        pulled++;
        yield enc.encode(`chunk ${i}\n`);
      }
    }
    const fs = emptyOverlay();
    fs.mkdir(fs.root(), 'w', { mode: 0o755, uid: 0, gid: 0 });
    const r = await capture({ module: fixture('probe'), args: ['probe', '/w', '0'], mounts: [{ path: '/', fs }], stdin: source() });
    expect(pulled).toBe(5);
    const expected = 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n';
    let sum = 0;
    for (const b of enc.encode(expected)) sum = (Math.imul(sum, 31) + b) >>> 0;
    expect(r.stdout).toContain(`stdin ${expected.length} bytes sum ${sum}\n`);
  });
});

describe('memory limit', () => {
  it('caps linear memory: malloc fails past the limit instead of growing', async () => {
    const fsops = fixture('fsops');
    const free = await capture({ module: fsops, args: ['fsops', 'alloc', '64'], mounts: root() });
    expect(free.stdout).toBe('allocated 64 MiB\n');
    expect(free).toMatchObject({ exitCode: 0, memoryBytes: expect.any(Number) });
    expect(free.memoryBytes!).toBeGreaterThan(64 << 20);
    expect(free.oomKilled).toBeUndefined();
    // 16 MiB = 256 pages; the module's own data and stack take some of it.
    const capped = await capture({ module: fsops, args: ['fsops', 'alloc', '64'], mounts: root(), memoryLimitPages: 256 });
    const got = Number(/allocated (\d+) MiB/.exec(capped.stdout)?.[1]);
    expect(got).toBeGreaterThanOrEqual(10);
    expect(got).toBeLessThan(16);
    // The module failed at its memory cap: reported as the nearest thing to an OOM kill.
    expect(capped).toMatchObject({ exitCode: 1, oomKilled: true });
    expect(capped.memoryBytes!).toBeLessThanOrEqual(16 << 20);
  });

  it('refuses a limit below what the module needs at start', async () => {
    const p = runWasi({ spawn, module: fixture('fsops'), args: ['fsops'], mounts: root(), memoryLimitPages: 1 });
    await expect(p.exited).rejects.toThrow(/needs \d+ pages .* at start, over the memory limit of 1 pages/);
  });
});
