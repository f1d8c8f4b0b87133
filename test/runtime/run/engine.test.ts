/**
 * The engine's container lifecycle on both runtimes, on real images: the bundled skiff/busybox
 * (linux/386, in the VM), skiff/hello-wasm and skiff/lua-wasm (WASI), and the umoci-built fixture.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from '../../../src/archive/index.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { openEngine } from '../../../src/node.ts';
import type { ProcessIO } from '../../../src/runtime/types.ts';
import { logLines } from '../../../src/cli/present/log-lines.ts';
import { buildImage, ociArchive } from '../../engine/fixtures/images.ts';
import { requireTool } from '../../helpers/peers.ts';

const dec = new TextDecoder();
const enc = new TextEncoder();
let home: string;
let engine: Engine;

function sink(): ProcessIO & { out: () => string; err: () => string } {
  const o: string[] = [];
  const e: string[] = [];
  return { onStdout: (c) => o.push(dec.decode(c)), onStderr: (c) => e.push(dec.decode(c)), out: () => o.join(''), err: () => e.join('') };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'skiff-run-engine-'));
  engine = await openEngine({ home });
}, 60_000);

afterAll(async () => {
  await engine?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

describe('Engine lifecycle, VM', () => {
  it('runs skiff/busybox echo hello with --rm: output, exit code, record gone', async () => {
    const io = sink();
    const r = await engine.runContainer({ image: 'skiff/busybox', cmd: ['echo', 'hello'], run: { rm: true }, io });
    expect(io.out()).toBe('hello\n');
    expect(r.exit).toEqual({ exitCode: 0, oomKilled: false });
    await expect(engine.inspectContainer({ id: r.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 240_000);

  it('keeps the writable layer after exit: diff, export and a second start see the writes', async () => {
    const io = sink();
    const r = await engine.runContainer({
      image: 'skiff/busybox', name: 'writer',
      cmd: ['sh', '-c', 'echo one > /f.txt; mkdir /d; mv /etc/motd /etc/motd2 2>/dev/null; rm -f /bin/vi; echo $(hostname)'], io,
    });
    expect(r.exit.exitCode).toBe(0);
    const changes = (await engine.containerChanges({ id: 'writer' })).map((c) => `${c.kind} ${c.path}`);
    expect(changes).toContain('A /f.txt');
    expect(changes).toContain('A /d');
    expect(changes).toContain('D /bin/vi');
    // crun's mount points (the init layer) are not the container's changes.
    expect(changes.filter((c) => /\/(proc|sys|dev|etc\/hosts|etc\/hostname|etc\/resolv\.conf)$/.test(c))).toEqual([]);
    const names = readTar(await collect(await engine.exportContainer({ id: 'writer' }))).map((e) => e.header.name);
    expect(names).toContain('f.txt');
    expect(names).not.toContain('bin/vi');
    // A fresh engine (a new process) sees the same layer.
    const other = await openEngine({ home });
    try {
      expect((await other.containerChanges({ id: 'writer' })).map((c) => `${c.kind} ${c.path}`)).toContain('A /f.txt');
    } finally {
      await other.shutdown();
    }
    // start again: the file is there.
    const io2 = sink();
    const spec = (await engine.inspectContainer({ id: 'writer' })).spec;
    await engine.updateContainer({ id: 'writer', patch: { spec: { ...spec, args: ['cat', '/f.txt'], entrypoint: [], cmd: ['cat', '/f.txt'] } } });
    await engine.startContainer({ id: 'writer', io: io2 });
    expect((await engine.waitContainer({ id: 'writer' })).exitCode).toBe(0);
    expect(io2.out()).toBe('one\n');
    const rec = await engine.inspectContainer({ id: 'writer' });
    expect(rec.state).toBe('exited');
    await engine.removeContainer({ id: 'writer' });
  }, 240_000);

  it('start with stdin, logs with timestamps and tail (also from a new engine), inspect state, wait', async () => {
    const c = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sh', '-c', 'echo start; while read l; do echo "got $l"; echo "err $l" >&2; done; exit 5'], openStdin: true });
    const io = sink();
    const p = await engine.startContainer({ id: c.id, io });
    const rec = await engine.inspectContainer({ id: c.id });
    expect(rec.state).toBe('running');
    expect(rec.runtimeData?.['pid']).toBeGreaterThan(0);
    p.writeStdin(enc.encode('a\nb\n'));
    p.closeStdin();
    expect(await engine.waitContainer({ id: c.id })).toEqual({ exitCode: 5, oomKilled: false });
    expect(io.out()).toBe('start\ngot a\ngot b\n');
    const lines = logLines(await engine.containerLogs({ id: c.id }));
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text).join('')).toBe('start\ngot a\ngot b\n');
    expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.text).join('')).toBe('err a\nerr b\n');
    const tail = logLines(await engine.containerLogs({ id: c.id }), { tail: 1, timestamps: true });
    expect(tail).toHaveLength(1);
    expect(tail[0]!.text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (got|err) b\n$/);
    const after = await engine.inspectContainer({ id: c.id });
    expect(after).toMatchObject({ state: 'exited', exitCode: 5 });
    expect(after.finishedAt! >= after.startedAt!).toBe(true);
    expect(after.runtimeData?.['owner']).toBeUndefined();
    const other = await openEngine({ home });
    expect(logLines(await other.containerLogs({ id: c.id })).length).toBe(lines.length);
    await other.shutdown();
    await engine.removeContainer({ id: c.id });
  }, 240_000);

  it('stop sends the stop signal, then SIGKILL after the timeout; kill -s; restart; exec', async () => {
    const trap = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sh', '-c', 'trap "echo term; exit 3" TERM; echo ready; while :; do sleep 1; done'], run: { stopTimeout: 30 } });
    const io = sink();
    await engine.startContainer({ id: trap.id, io });
    await until(() => io.out().includes('ready'));
    const e = sink();
    const p = await engine.execContainer({ id: trap.id, cmd: ['sh', '-c', 'echo $$ ; cat /proc/1/cmdline | tr "\\0" " "'], io: e });
    expect((await p.wait()).exitCode).toBe(0);
    expect(e.out()).toMatch(/^\d+\nsh -c trap/);
    await engine.stopContainer({ id: trap.id });
    expect(io.out()).toContain('term');
    expect((await engine.inspectContainer({ id: trap.id })).exitCode).toBe(3);

    // PID 1 without a TERM handler ignores SIGTERM: stop falls back to SIGKILL after -t.
    const stubborn = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sleep', '1000'] });
    await engine.startContainer({ id: stubborn.id });
    const t0 = Date.now();
    await engine.stopContainer({ id: stubborn.id, timeout: 2 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(await engine.waitContainer({ id: stubborn.id })).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });

    await engine.restartContainer({ id: stubborn.id, timeout: 0 });
    expect((await engine.inspectContainer({ id: stubborn.id })).state).toBe('running');
    await engine.killContainer({ id: stubborn.id });
    expect(await engine.waitContainer({ id: stubborn.id })).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
    await expect(engine.killContainer({ id: stubborn.id })).rejects.toMatchObject({ code: 'CONFLICT' });

    // With --init, a signal reaches the command through skiff-init (PID 1 would ignore it).
    const inited = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sleep', '1000'], run: { init: true } });
    await engine.startContainer({ id: inited.id });
    await engine.killContainer({ id: inited.id, signal: 'USR1' });
    expect((await engine.waitContainer({ id: inited.id })).exitCode).toBe(138);
    await engine.removeContainer({ id: inited.id });
    await engine.removeContainer({ id: stubborn.id });
    await engine.removeContainer({ id: trap.id });
  }, 240_000);

  it('rm -f kills a running container', async () => {
    const c = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sleep', '1000'] });
    await engine.startContainer({ id: c.id });
    await expect(engine.removeContainer({ id: c.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    await engine.removeContainer({ id: c.id, force: true });
    await expect(engine.inspectContainer({ id: c.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 120_000);

  it('reports OOM: exit 137 and OOMKilled in the record', async () => {
    const r = await engine.runContainer({ image: 'skiff/busybox', cmd: ['sh', '-c', 'x=$(head -c 40000000 /dev/zero | tr "\\0" a)'], run: { memory: (16 << 20) as never }, io: sink() });
    expect(r.exit).toMatchObject({ exitCode: 137, oomKilled: true });
    expect((await engine.inspectContainer({ id: r.id })).exit?.oomKilled).toBe(true);
  }, 120_000);
});

describe('Engine lifecycle, WASI and shared volumes', () => {
  it('picks the backend from the platform and refuses an image it cannot run, naming its platform', async () => {
    const io = sink();
    const r = await engine.runContainer({ image: 'skiff/hello-wasm', run: { rm: true }, io });
    expect(r.exit.exitCode).toBe(0);
    expect(io.out().length).toBeGreaterThan(0);
    const c = await engine.createContainer({ image: 'skiff/busybox', cmd: ['true'] });
    expect(c.runtime).toBe('vm');
    await engine.removeContainer({ id: c.id });
  }, 120_000);

  it('refuses an image no runtime can run, naming its platform, before creating anything', async () => {
    const img = buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }, { name: 'bin/app', content: 'x', mode: 0o755 }] }], cmd: ['/bin/app'], architecture: 'arm64' });
    await engine.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/armapp:1'] }]) });
    const before = (await engine.listVolumes()).length;
    await expect(engine.createContainer({ image: 'armapp:1', run: { volumes: [{ type: 'volume', destination: '/data', readOnly: false, copyData: true }] } }))
      .rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/armapp:1 has no platform skiff can run: it has linux\/arm64; skiff runs linux\/386/) });
    expect((await engine.listVolumes()).length).toBe(before);
  });

  it('a wasm container and a linux container share a named volume', async () => {
    await engine.createVolume({ name: 'shared' });
    const w = await engine.runContainer({
      image: 'skiff/busybox', cmd: ['sh', '-c', 'echo from-linux > /data/linux.txt'],
      run: { rm: true, volumes: [{ type: 'volume', name: 'shared', destination: '/data', readOnly: false, copyData: true }] }, io: sink(),
    });
    expect(w.exit.exitCode).toBe(0);
    const io = sink();
    const lua = await engine.runContainer({
      image: 'skiff/lua-wasm',
      cmd: ['-e', 'local f = io.open("/data/linux.txt"); io.write(f:read("a")); local g = io.open("/data/wasm.txt", "w"); g:write("from-wasm\\n"); g:close()'],
      run: { rm: true, volumes: [{ type: 'volume', name: 'shared', destination: '/data', readOnly: false, copyData: true }] }, io,
    });
    expect(io.err()).toBe('');
    expect(lua.exit.exitCode).toBe(0);
    expect(io.out()).toBe('from-linux\n');
    const back = sink();
    await engine.runContainer({
      image: 'skiff/busybox', cmd: ['cat', '/data/wasm.txt'],
      run: { rm: true, volumes: [{ type: 'volume', name: 'shared', destination: '/data', readOnly: false, copyData: true }] }, io: back,
    });
    expect(back.out()).toBe('from-wasm\n');
    // The volume outlives its containers and this engine.
    const other = await openEngine({ home });
    const fs = await other.volumeFs({ name: 'shared' });
    expect(fs.readdir(fs.root()).map((e) => e.name).sort()).toEqual(['linux.txt', 'wasm.txt']);
    await other.shutdown();
  }, 240_000);
});

describe('umoci fixture', () => {
  it('the merged view inside the container equals `umoci unpack`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-umoci-'));
    try {
      for (const tool of ['umoci', 'skopeo']) requireTool(tool, tool);
      execFileSync('bash', [new URL('../../fixtures/make-umoci-image.sh', import.meta.url).pathname, dir], { stdio: 'ignore' });
      await engine.loadArchive({ data: new Uint8Array(readFileSync(join(dir, 'umoci-layers.docker.tar'))) });
      // Busybox comes in through a volume; the listing leaves it and the mount points out.
      await engine.createVolume({ name: 'bb' });
      const bbFs = await engine.volumeFs({ name: 'bb' });
      const bb = bbFs.create(bbFs.root(), 'busybox', { mode: 0o755, uid: 0, gid: 0 });
      bbFs.write(bb, 0, new Uint8Array(readFileSync(requireTool('/bin/busybox', 'busybox-static:i386'))));
      const LISTING = [
        "find . -xdev -path ./.bb -prune -o -print0 | xargs -0 stat -c '%n|%F|%a|%s|%h|%u:%g|%Y' | sed 's/|directory|\\([0-7]*\\)|[0-9]*|/|directory|\\1|-|/' | LC_ALL=C sort",
        "find . -xdev -path ./.bb -prune -o -type f -print0 | xargs -0 md5sum | LC_ALL=C sort -k2",
        'find . -xdev -path ./.bb -prune -o -type l -print | while read -r f; do echo "$f -> $(readlink "$f")"; done | LC_ALL=C sort',
      ].join('; ');
      const oracle = execFileSync('sh', ['-c', `cd '${join(dir, 'umoci-layers.rootfs')}' && ${LISTING}`], { encoding: 'utf8' });
      const io = sink();
      const r = await engine.runContainer({
        image: 'docker.io/skiff-fixture/umoci:latest', entrypoint: ['/.bb/busybox'], cmd: ['sh', '-c', `export PATH=/.bb; /.bb/busybox --install -s /.bb 2>/dev/null; cd / && ${LISTING}`],
        run: { volumes: [{ type: 'volume', name: 'bb', destination: '/.bb', readOnly: false, copyData: false }] }, io,
      });
      expect(io.err()).toBe('');
      expect(r.exit.exitCode).toBe(0);
      // Left out on both sides: the mount points (their content is the mount's) and the root
      // directory's link count, which counts the init layer's /proc, /sys, /dev and /.bb.
      const mountpoints = /(^|\s)\.\/(proc|sys|dev|\.bb|etc\/hosts|etc\/hostname|etc\/resolv\.conf)(\||$| ->)|^\.\|directory\|/;
      const guest = io.out().split('\n').filter((l) => !mountpoints.test(l)).join('\n');
      expect(oracle.split('\n').length).toBeGreaterThan(30);
      expect(guest).toBe(oracle.split('\n').filter((l) => !mountpoints.test(l)).join('\n'));
      // Nothing the runtime did shows as the container's change.
      expect(await engine.containerChanges({ id: r.id })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

async function until(cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
