/**
 * The engine's container lifecycle: a scripted runtime (the ContainerRuntime contract, in memory)
 * for the state machine, and the real WASI runtime running the bundled hello-wasm image.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { parseRunFlags } from '../../src/runtime/spec/options.ts';
import type { ContainerRuntime, ExitStatus, RuntimeProcess, StartContainerRequest } from '../../src/runtime/types.ts';
import { WasiRuntime } from '../../src/runtime/wasi/runtime.ts';
import { nodeWasiSpawn } from '../../src/node.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const te = new TextEncoder();
const td = new TextDecoder();

/** Echoes its argv to stdout, writes /out in its rootfs and each volume, exits on a signal or `exit N`. */
class ScriptedRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  readonly started: StartContainerRequest[] = [];
  readonly released: string[] = [];
  readonly resized: Array<{ cols: number; rows: number }> = [];
  shutDown = false;
  private ends = new Map<string, (s: ExitStatus) => void>();

  async start(req: StartContainerRequest): Promise<RuntimeProcess> {
    this.started.push(req);
    const args = req.spec.args;
    req.io.onStdout(te.encode(`${args.join(' ')}\n`));
    const root = req.rootfs;
    let f;
    try { f = root.lookup(root.root(), 'out'); } catch { f = root.create(root.root(), 'out', { mode: 0o644, uid: 0, gid: 0 }); }
    root.write(f, 0, te.encode('written by the process'));
    for (const v of req.volumes) {
      let vf;
      try { vf = v.fs.lookup(v.fs.root(), `from-${req.id.slice(0, 6)}`); } catch { vf = v.fs.create(v.fs.root(), `from-${req.id.slice(0, 6)}`, { mode: 0o644, uid: 0, gid: 0 }); }
      v.fs.write(vf, 0, te.encode(v.destination));
    }
    let end!: (s: ExitStatus) => void;
    const done = new Promise<ExitStatus>((r) => (end = r));
    this.ends.set(req.id, end);
    if (args[0] === 'exit') end({ exitCode: Number(args[1]), oomKilled: false });
    const stdin: Uint8Array[] = [];
    return {
      writeStdin: (c) => void stdin.push(c),
      closeStdin: () => { req.io.onStderr(te.encode(`stdin:${stdin.map((c) => td.decode(c)).join('')}`)); end({ exitCode: 0, oomKilled: false }); },
      kill: async (sig) => {
        if (sig === 'SIGTERM' && args.includes('ignore-term')) return;
        end({ exitCode: 128 + (sig === 'SIGKILL' || sig === 9 ? 9 : 15), signal: sig === 'SIGKILL' || sig === 9 ? 'SIGKILL' : 'SIGTERM', oomKilled: false });
      },
      resize: async (size) => void this.resized.push(size),
      wait: () => done,
    };
  }
  async exec(req: { id: string; args: string[]; io: { onStdout(c: Uint8Array): void } }): Promise<RuntimeProcess> {
    req.io.onStdout(te.encode(`exec ${req.args.join(' ')}`));
    const s = Promise.resolve({ exitCode: 0, oomKilled: false });
    return { writeStdin() {}, closeStdin() {}, kill: async () => {}, resize: async () => {}, wait: () => s };
  }
  async release(id: string): Promise<void> { this.released.push(id); }
  async shutdown(): Promise<void> { this.shutDown = true; }
}

async function engineWith(rt: ContainerRuntime) {
  const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { vm: () => rt } });
  const img = buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'] });
  const data = ociArchive([{ image: img, tags: ['docker.io/library/app:1'] }]);
  await e.loadArchive({ data });
  return e;
}

describe('lifecycle (scripted runtime)', () => {
  it('run: output, exit code, layer and logs saved, --rm removes the container and its anonymous volumes', async () => {
    const rt = new ScriptedRuntime();
    const e = await engineWith(rt);
    const out: string[] = [];
    const r = await e.runContainer({ image: 'app:1', run: parseRunFlags({ cmd: ['exit', '3'], volume: ['/scratch', 'named:/data'] }), io: { onStdout: (c) => out.push(td.decode(c)), onStderr: () => {} } });
    expect(r.exit).toEqual({ exitCode: 3, oomKilled: false });
    expect(out.join('')).toBe('exit 3\n');
    const rec = await e.inspectContainer({ id: r.id });
    expect(rec).toMatchObject({ state: 'exited', exitCode: 3, exit: { oomKilled: false } });
    expect(rec.spec.mounts.map((m) => m.destination)).toEqual(['/scratch', '/data']);
    expect(await e.containerChanges({ id: r.id })).toEqual([{ kind: 'A', path: '/out' }]);
    expect((await e.containerLogs({ id: r.id })).map((l) => [l.stream, td.decode(l.data)])).toEqual([['stdout', 'exit 3\n']]);
    expect(rt.released).toEqual([r.id]);
    // the named volume kept what the process wrote
    const vfs = await e.volumeFs({ name: 'named' });
    expect(vfs.readdir(vfs.root()).map((d) => d.name)).toEqual([`from-${r.id.slice(0, 6)}`]);

    const rm = await e.runContainer({ image: 'app:1', run: parseRunFlags({ cmd: ['exit', '0'], rm: true, volume: ['/tmpvol'] }) });
    await expect(e.inspectContainer({ id: rm.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await e.listVolumes()).map((v) => v.name).sort()).toEqual(['named', rec.spec.mounts[0]!.type === 'volume' ? rec.spec.mounts[0]!.name : ''].sort());
  });

  it('start, exec, stop (TERM then KILL after the timeout), wait, restart, rm -f, stdin, shutdown', async () => {
    const rt = new ScriptedRuntime();
    const e = await engineWith(rt);
    const c = await e.createContainer({ image: 'app:1', cmd: ['ignore-term'] });
    await e.startContainer({ id: c.id });
    expect((await e.inspectContainer({ id: c.id })).state).toBe('running');
    await expect(e.startContainer({ id: c.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(e.removeContainer({ id: c.id })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('running') });
    const ex: string[] = [];
    const p = await e.execContainer({ id: c.id, cmd: ['ls', '/'], io: { onStdout: (d) => ex.push(td.decode(d)), onStderr: () => {} } });
    expect(await p.wait()).toMatchObject({ exitCode: 0 });
    expect(ex).toEqual(['exec ls /']);
    const t0 = Date.now();
    expect(await e.stopContainer({ id: c.id, timeout: 0.2 })).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(await e.waitContainer({ id: c.id })).toMatchObject({ exitCode: 137 });
    await expect(e.killContainer({ id: c.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    await e.restartContainer({ id: c.id });
    expect((await e.inspectContainer({ id: c.id })).state).toBe('running');
    // the log goes on across runs
    expect((await e.containerLogs({ id: c.id })).map((l) => td.decode(l.data))).toEqual(['ignore-term\n', 'ignore-term\n']);
    await e.removeContainer({ id: c.id, force: true });
    await expect(e.inspectContainer({ id: c.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const errs: string[] = [];
    const r = await e.runContainer({ image: 'app:1', stdin: 'piped', io: { onStdout: () => {}, onStderr: (d) => errs.push(td.decode(d)) } });
    expect(r.exit.exitCode).toBe(0);
    expect(errs).toEqual(['stdin:piped']);
    await e.shutdown();
    expect(rt.shutDown).toBe(true);
  });

  it('run is the one orchestration: hooks in order, streamed stdin, detach, attach, resize, --rm', async () => {
    const rt = new ScriptedRuntime();
    const e = await engineWith(rt);
    const seen: string[] = [];
    const keys = (async function* () {
      yield te.encode('typed ');
      await new Promise((r) => setTimeout(r, 10));
      yield te.encode('slowly');
    })();
    const r = await e.runContainer({
      image: 'app:1', run: { rm: true, tty: true }, stdin: keys, consoleSize: { cols: 80, rows: 24 },
      io: { onStdout: (d) => seen.push(`out:${td.decode(d)}`), onStderr: (d) => seen.push(`err:${td.decode(d)}`) },
      onCreated: async (c) => { seen.push(`created ${c.spec.tty} ${c.spec.openStdin} ${c.autoRemove}`); },
      onStarted: ({ container, process }) => { seen.push(`started ${container.name}`); void process.resize({ cols: 100, rows: 30 }); },
    });
    expect(r.exit).toEqual({ exitCode: 0, oomKilled: false });
    expect(seen).toEqual(['created true true true', 'out:serve\n', `started ${r.name}`, 'err:stdin:typed slowly']);
    expect(rt.resized).toEqual([{ cols: 100, rows: 30 }]);
    expect(rt.started.at(-1)?.consoleSize).toEqual({ cols: 80, rows: 24 });
    await expect(e.inspectContainer({ id: r.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // -d: back once started; attach sees later output; resize through the engine; the exit is recorded.
    const d = await e.runContainer({ image: 'app:1', cmd: ['ignore-term'], detach: true });
    expect((await e.inspectContainer({ id: d.id })).state).toBe('running');
    const attached: string[] = [];
    const a = await e.attachContainer({ id: d.id, io: { onStdout: (x) => attached.push(td.decode(x)), onStderr: (x) => attached.push(td.decode(x)) } });
    await e.resizeContainer({ id: d.name, cols: 120, rows: 40 });
    expect(rt.resized.at(-1)).toEqual({ cols: 120, rows: 40 });
    a.closeStdin();
    expect(await a.wait()).toEqual({ exitCode: 0, oomKilled: false });
    expect(attached).toEqual(['stdin:']);
    expect(await e.inspectContainer({ id: d.id })).toMatchObject({ state: 'exited', exitCode: 0 });
    await expect(e.attachContainer({ id: d.id, io: { onStdout() {}, onStderr() {} } })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('start it first') });
    await expect(e.resizeContainer({ id: d.id, cols: 1, rows: 1 })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it("a new volume starts with the image's content at its mount point (not with nocopy, not twice)", async () => {
    const rt = new ScriptedRuntime();
    const e = await engineWith(rt);
    const { tar } = await import('./fixtures/images.ts');
    await e.importImage({
      data: tar([{ name: 'seed/', type: 'directory', mode: 0o750 }, { name: 'seed/conf', content: 'from the image', mode: 0o600 }, { name: 'seed/link', type: 'symlink', target: 'conf' }]),
      ref: 'seeded:1', changes: { Volumes: { '/seed': {} }, Cmd: ['exit', '0'] },
    });
    const r = await e.runContainer({ image: 'seeded:1', run: parseRunFlags({ volume: ['keep:/other', 'bare:/seed2:nocopy'] }) });
    const rec = await e.inspectContainer({ id: r.id });
    const anon = rec.spec.mounts.find((m) => m.destination === '/seed')!;
    expect(anon).toMatchObject({ type: 'volume', anonymous: true, copyData: true });
    const fs = await e.volumeFs({ name: (anon as { name: string }).name });
    const names = fs.readdir(fs.root()).map((d) => d.name).filter((n) => !n.startsWith('from-')).sort();
    expect(names).toEqual(['conf', 'link']);
    expect(td.decode(fs.read(fs.lookup(fs.root(), 'conf'), 0, 100))).toBe('from the image');
    expect(fs.stat(fs.lookup(fs.root(), 'conf')).mode).toBe(0o600);
    expect(fs.readlink(fs.lookup(fs.root(), 'link'))).toBe('conf');
    expect(fs.stat(fs.root()).mode).toBe(0o750);
    // a restart does not copy again over what the container changed
    fs.unlink(fs.root(), 'conf');
    await e.persistVolume({ name: (anon as { name: string }).name });
    await e.startContainer({ id: r.id }).then((p) => p.wait());
    expect(fs.readdir(fs.root()).map((d) => d.name)).not.toContain('conf');
  });

  it('an engine without that runtime says so', async () => {
    const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore() });
    await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'a', content: 'a' }] }] }), tags: ['docker.io/library/x:1'] }]) });
    await expect(e.runContainer({ image: 'x:1' })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('no "vm" runtime') });
  });
});

describe('lifecycle (real WASI runtime)', () => {
  const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) } });
  afterAll(() => e.shutdown());

  it('runs the bundled hello-wasm image: output, exit, logs', async () => {
    const out: string[] = [];
    const r = await e.runContainer({ image: 'skiff/hello-wasm', cmd: ['one', 'two'], io: { onStdout: (d) => out.push(td.decode(d)), onStderr: () => {} } });
    expect(r.exit.exitCode).toBe(0);
    expect(out.join('')).toContain('hello from skiff');
    const rec = await e.inspectContainer({ id: r.id });
    expect(rec).toMatchObject({ runtime: 'wasi', state: 'exited', exitCode: 0 });
    expect((await e.containerLogs({ id: r.id })).map((l) => td.decode(l.data)).join('')).toBe(out.join(''));
  });
});
