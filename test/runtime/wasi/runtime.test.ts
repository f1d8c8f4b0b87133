/** The WASI backend through the engine's ContainerRuntime contract. */
import { describe, expect, it } from 'vitest';
import { WasiRuntime, wasiProcessOf } from '../../../src/runtime/wasi/index.ts';
import { nodeWasiSpawn } from '../../../src/node.ts';
import type { StartContainerRequest } from '../../../src/runtime/types.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import type { RunOptions } from '../../../src/runtime/spec/options.ts';
import type { ImageRunConfig } from '../../../src/runtime/spec/process.ts';
import { bytes } from '../../../src/runtime/spec/types.ts';
import { isSkiffError } from '../../../src/errors.ts';
import { STDIN_HIGH_WATER } from '../../../src/runtime/stdin-gate.ts';
import type { Overlay } from '../../../src/fs/overlay.ts';
import { PendingIO } from '../../../src/fs/pending-io.ts';
import { emptyOverlay, fixture } from './helpers.ts';

const ID = 'c0ffee'.repeat(10) + 'abcd';

function rootfsWith(name: string): Overlay {
  const fs = emptyOverlay();
  const app = fs.mkdir(fs.root(), 'app', { mode: 0o755, uid: 0, gid: 0 });
  fs.write(fs.create(app, `${name}.wasm`, { mode: 0o755, uid: 0, gid: 0 }), 0, fixture(name));
  return fs;
}

/** A start request whose spec is resolved as a create would, from `image` and `run`. */
function request(over: Partial<Omit<StartContainerRequest, 'spec'>> & { out?: string[]; image?: ImageRunConfig; run?: RunOptions }): StartContainerRequest {
  const { out = [], image = { Entrypoint: ['/app/fsops.wasm'], Env: ['FROM_IMAGE=yes', 'B=image'], WorkingDir: '/work' }, run = {}, ...rest } = over;
  const dec = new TextDecoder();
  return {
    id: ID,
    rootfs: rootfsWith('fsops'),
    spec: resolveContainerSpec({ id: ID, image, run }),
    volumes: [],
    io: { onStdout: (d) => out.push(dec.decode(d)), onStderr: (d) => out.push(`ERR:${dec.decode(d)}`) },
    ...rest,
  };
}

describe('WasiRuntime', () => {
  it('runs the image entrypoint with Docker env/cwd rules, volumes, tmpfs and piped stdin', async () => {
    const out: string[] = [];
    const vol = emptyOverlay();
    const rt = new WasiRuntime({ spawn: nodeWasiSpawn() });
    const req = request({
      out,
      run: { cmd: ['env', 'FROM_IMAGE', 'env', 'B', 'env', 'HOSTNAME', 'write', '/work/here.txt', 'x', 'env', 'PWD', 'write', '/vol/v', 'y', 'write', '/tmp/t', 'z', 'ls', '/tmp', 'stdin'], env: ['B=run'], tmpfs: [{ destination: '/tmp', options: [] }], interactive: true },
      volumes: [{ source: 'data', destination: '/vol', readOnly: false, fs: vol }],
    });
    const proc = await rt.start(req);
    proc.writeStdin(new TextEncoder().encode('piped '));
    proc.writeStdin(new TextEncoder().encode('input'));
    proc.closeStdin();
    const status = await proc.wait();
    expect(out.join('')).toBe(`yes\nrun\n${ID.slice(0, 12)}\nok\n/work\nok\nok\nt\npiped input`);
    expect(status).toEqual({ exitCode: 0, oomKilled: false });
    // -w from the image, created; the volume got its file; tmpfs is not in the root filesystem.
    const rootfs = req.rootfs;
    const work = rootfs.lookup(rootfs.root(), 'work');
    expect(rootfs.readdir(work).map((e) => e.name)).toEqual(['here.txt']);
    expect(vol.readdir(vol.root()).map((e) => e.name)).toEqual(['v']);
    expect(rootfs.readdir(rootfs.lookup(rootfs.root(), 'tmp'))).toEqual([]);
  });

  it('waits for a module whose bytes come from an asynchronous store (image layers in IndexedDB)', async () => {
    const out: string[] = [];
    const rootfs = rootfsWith('fsops');
    // The first read of the module answers "on its way" (PendingIO), as a layer chunk not cached yet does.
    let arrived = false;
    let waits = 0;
    const read = rootfs.read.bind(rootfs);
    rootfs.read = (node, offset, length) => {
      if (!arrived) {
        waits++;
        throw new PendingIO(new Promise<void>((r) => setTimeout(() => { arrived = true; r(); }, 20)), 'layer sha256:test');
      }
      return read(node, offset, length);
    };
    const rt = new WasiRuntime({ spawn: nodeWasiSpawn() });
    const proc = await rt.start(request({ out, rootfs, run: { cmd: ['env', 'FROM_IMAGE'] } }));
    expect(await proc.wait()).toEqual({ exitCode: 0, oomKilled: false });
    expect(out.join('')).toBe('yes\n');
    expect(waits).toBe(1);
  });

  it('stdin a module does not read makes its writer wait, the exit releases it; a reading module gets every byte', async () => {
    const rt = new WasiRuntime({ spawn: nodeWasiSpawn() });
    const spin = await rt.start(request({ rootfs: rootfsWith('spin'), image: { Entrypoint: ['/app/spin.wasm'] }, run: { interactive: true } }));
    const chunk = new Uint8Array(64 << 10).fill(0x7a);
    let written = 0;
    let wait: void | Promise<void>;
    while (!(wait = spin.writeStdin(chunk))) written += chunk.length;
    expect(written + chunk.length).toBe(STDIN_HIGH_WATER);
    await spin.kill('SIGKILL');
    await spin.wait();
    await wait; // released by the exit, not left pending
    const out: string[] = [];
    const reader = await rt.start(request({ out, run: { cmd: ['stdin'], interactive: true } }));
    const size = 2 << 20;
    for (let n = 0; n < size; n += chunk.length) await reader.writeStdin(chunk);
    reader.closeStdin();
    expect(await reader.wait()).toEqual({ exitCode: 0, oomKilled: false });
    expect(out.join('')).toBe('z'.repeat(size));
  });

  it('kill reports the signal by name; ignored signals do nothing; exit codes pass through', async () => {
    const rt = new WasiRuntime({ spawn: nodeWasiSpawn() });
    const spin = await rt.start(request({ rootfs: rootfsWith('spin'), image: { Entrypoint: ['/app/spin.wasm'] } }));
    await spin.kill('SIGWINCH');
    await spin.kill('SIGTERM');
    expect(await spin.wait()).toEqual({ exitCode: 143, signal: 'SIGTERM', oomKilled: false });
    const exit = await rt.start(request({ run: { cmd: ['exit', '42'] } }));
    expect(await exit.wait()).toEqual({ exitCode: 42, oomKilled: false });
  });

  it('a trap is the exit error; exec is unsupported; a missing entrypoint fails start', async () => {
    const rt = new WasiRuntime({ spawn: nodeWasiSpawn() });
    const trap = await rt.start(request({ rootfs: rootfsWith('trap'), image: { Entrypoint: ['/app/trap.wasm'] } }));
    expect(await trap.wait()).toMatchObject({ exitCode: 134, oomKilled: false, error: expect.stringMatching(/wasm trap: unreachable/) });
    await expect(rt.exec({ id: ID, args: ['x'], tty: false, openStdin: false, io: { onStdout() {}, onStderr() {} } })).rejects.toThrow(/single module/);
    const err = await rt.start(request({ image: { Entrypoint: ['/app/missing.wasm'] } })).catch((e: unknown) => e);
    expect(isSkiffError(err, 'NOT_FOUND')).toBe(true);
    expect(String(err)).toMatch(/entrypoint \/app\/missing\.wasm/);
  });

  it('--memory becomes a cap on linear memory; too small a cap fails start', async () => {
    const req = request({ run: { memory: bytes(16 << 20), cmd: ['alloc', '64'] } });
    expect(wasiProcessOf(req).memoryLimitPages).toBe(256);
    const out: string[] = [];
    const rt = new WasiRuntime({ spawn: nodeWasiSpawn() });
    const p = await rt.start({ ...req, io: { onStdout: (d) => out.push(new TextDecoder().decode(d)), onStderr() {} } });
    expect(await p.wait()).toEqual({ exitCode: 1, oomKilled: true });
    expect(Number(/allocated (\d+) MiB/.exec(out.join(''))?.[1])).toBeLessThan(16);
    // Docker refuses a limit under 6 MB at create; a runtime handed a smaller cap fails start.
    expect(() => request({ run: { memory: bytes(65536) } })).toThrow(/Minimum memory limit allowed is 6MB/);
    const tiny = request({});
    await expect(rt.start({ ...tiny, spec: { ...tiny.spec, limits: { memory: bytes(65536) } } })).rejects.toThrow(/over the memory limit of 1 pages/);
    await rt.shutdown();
  });
});
