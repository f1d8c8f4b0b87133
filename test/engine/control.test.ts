/**
 * The control channel (engine/control): two engines over one $SKIFF_HOME, each with its own
 * control plane, stand for two skiff processes. The owner's socket sits in a 0700 directory;
 * exec, signal, stop, wait and logs from the other engine go through it; a hostile client
 * (malformed frames, oversized frames, another container's id) ends only its own connection; and
 * a record whose owner pid now belongs to an unrelated process never gets that process signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NodeFsContentStore } from '../../src/content/node-fs.ts';
import { NodeControlPlane, controlDir, ensurePrivateDir } from '../../src/engine/control/node.ts';
import { processStart } from '../../src/engine/control/identity.ts';
import { encodeFrame, encodeJsonFrame, Frame, FrameReader, MAX_JSON_FRAME, parseRequest } from '../../src/engine/control/protocol.ts';
import { Engine } from '../../src/engine/engine.ts';
import { NodeFsStateStore } from '../../src/engine/state/node-fs.ts';
import type { ContainerRuntime, ExitStatus, RuntimeProcess, StartContainerRequest } from '../../src/runtime/types.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const te = new TextEncoder();
const td = new TextDecoder();
const dirs: string[] = [];
const children: ChildProcess[] = [];
const engines: Engine[] = [];

afterEach(async () => {
  for (const e of engines.splice(0)) await e.shutdown();
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Prints its argv, then runs until a signal; exec echoes, `cat` copies stdin. */
class ScriptedRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  readonly resized: { cols: number; rows: number }[] = [];
  /** The main process's output, for a test to write more. */
  io?: StartContainerRequest['io'];
  async start(req: StartContainerRequest): Promise<RuntimeProcess> {
    this.io = req.io;
    req.io.onStdout(te.encode('main started\n'));
    let end!: (s: ExitStatus) => void;
    const done = new Promise<ExitStatus>((r) => (end = r));
    return {
      writeStdin() {}, closeStdin() {},
      kill: async (sig) => end({ exitCode: 128 + (sig === 'SIGKILL' || sig === 9 ? 9 : 15), signal: String(sig), oomKilled: false }),
      resize: async (s) => void this.resized.push(s),
      wait: () => done,
    };
  }
  /** Bytes `flood N` has handed to its sink so far. */
  flooded = 0;
  /** 'slowreader': stdin bytes taken; while `full`, each write says wait (a process not reading). */
  stdinTaken = 0;
  stdinFull: { promise: Promise<void>; open: () => void } | null = null;
  async exec(req: { args: string[]; io: { onStdout(c: Uint8Array): unknown } }): Promise<RuntimeProcess> {
    let end!: (s: ExitStatus) => void;
    const done = new Promise<ExitStatus>((r) => (end = r));
    if (req.args[0] === 'flood') {
      // Writes N bytes (i & 0xff) in 64 KiB chunks, waiting whenever its sink says so (as a process blocks in write(2)).
      void (async () => {
        await new Promise((r) => setTimeout(r, 10)); // after exec() returned, as a real process's output comes
        const total = Number(req.args[1]);
        for (let off = 0; off < total; off += 65536) {
          const chunk = new Uint8Array(Math.min(65536, total - off)).map((_, i) => (off + i) & 0xff);
          this.flooded += chunk.length;
          const r = req.io.onStdout(chunk);
          if (r instanceof Promise) await r;
        }
        end({ exitCode: 0, oomKilled: false });
      })();
      return { writeStdin() {}, closeStdin() {}, kill: async () => end({ exitCode: 137, oomKilled: false }), resize: async () => {}, wait: () => done };
    }
    if (req.args[0] === 'slowreader') {
      return {
        writeStdin: (c) => { this.stdinTaken += c.length; return this.stdinFull?.promise; },
        closeStdin: () => end({ exitCode: 0, oomKilled: false }),
        kill: async () => end({ exitCode: 137, oomKilled: false }), resize: async () => {}, wait: () => done,
      };
    }
    const cat = req.args[0] === 'cat';
    if (!cat) {
      req.io.onStdout(te.encode(`exec ${req.args.join(' ')}\n`));
      end({ exitCode: Number(req.args[1] ?? 0), oomKilled: false });
    }
    return {
      writeStdin: (c) => { const r = req.io.onStdout(c); return r instanceof Promise ? r.then(() => {}) : undefined; }, closeStdin: () => end({ exitCode: 0, oomKilled: false }),
      kill: async () => end({ exitCode: 137, oomKilled: false }), resize: async (s) => void this.resized.push(s), wait: () => done,
    };
  }
  async release(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

function home(): string {
  const d = mkdtempSync(join(tmpdir(), 'skiff-control-'));
  dirs.push(d);
  return d;
}

function engineOver(dir: string, rt: ContainerRuntime = new ScriptedRuntime(), helloTimeoutMs?: number): Engine {
  const e = new Engine({
    content: new NodeFsContentStore({ root: join(dir, 'content') }),
    state: new NodeFsStateStore({ root: join(dir, 'state') }),
    runtimes: { vm: () => rt },
    control: new NodeControlPlane({ home: dir, ...(helloTimeoutMs ? { helloTimeoutMs } : {}) }),
  });
  engines.push(e);
  return e;
}

async function twoEngines() {
  const dir = home();
  const rt = new ScriptedRuntime();
  const owner = engineOver(dir, rt);
  await owner.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'] }), tags: ['docker.io/library/app:1'] }]) });
  const other = engineOver(dir);
  const c = await owner.createContainer({ image: 'app:1' });
  const out: string[] = [];
  const proc = await owner.startContainer({ id: c.id, io: { onStdout: (d) => out.push(td.decode(d)), onStderr: () => {} } });
  const rec = await owner.inspectContainer({ id: c.id });
  return { dir, rt, owner, other, id: c.id, proc, rec, out };
}

/** A raw client: frames out, frames in. */
async function raw(path: string) {
  const sock: Socket = createConnection(path);
  await new Promise((r, j) => sock.once('connect', r).once('error', j));
  const reader = new FrameReader();
  const frames: { type: number; text: string }[] = [];
  let closed = false;
  sock.on('data', (c) => { for (const f of reader.push(new Uint8Array(c))) frames.push({ type: f.type, text: td.decode(f.payload) }); });
  sock.on('close', () => (closed = true));
  sock.on('error', () => {});
  const until = async (pred: () => boolean) => { for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10)); };
  return {
    sock, frames, get closed() { return closed; }, until,
    request: (v: unknown) => sock.write(encodeJsonFrame(Frame.Request, v)),
  };
}

describe('control channel', () => {
  it('puts the socket in a 0700 directory under $SKIFF_HOME, records owner pid, start time and socket', async () => {
    const { dir, rec } = await twoEngines();
    const owner = rec.runtimeData?.['owner'] as { session: string; pid: number; start: string; control: string };
    expect(owner.pid).toBe(process.pid);
    expect(owner.start).toBe(processStart('self'));
    expect(owner.session).toMatch(/^[0-9a-f]{32}$/);
    expect(owner.control.startsWith(join(dir, 'run') + '/')).toBe(true);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
    expect(lstatSync(owner.control).isSocket()).toBe(true);
  });

  it('refuses a socket directory that is a symlink or not a directory, and closes one left too open', () => {
    const d = home();
    mkdirSync(join(d, 'elsewhere'));
    symlinkSync(join(d, 'elsewhere'), join(d, 'link'));
    expect(() => ensurePrivateDir(join(d, 'link'))).toThrow(/symlink/);
    mkdirSync(join(d, 'open'), { mode: 0o755 });
    chmodSync(join(d, 'open'), 0o777);
    ensurePrivateDir(join(d, 'open'));
    expect(statSync(join(d, 'open')).mode & 0o777).toBe(0o700);
    // Someone else's directory (as in a shared /tmp) is refused, not used.
    if (process.getuid?.() === 0) {
      mkdirSync(join(d, 'theirs'), { mode: 0o700 });
      chownSync(join(d, 'theirs'), 65534, 65534);
      expect(() => ensurePrivateDir(join(d, 'theirs'))).toThrow(/owned by uid 65534/);
    }
  });

  it('falls back to $XDG_RUNTIME_DIR, then <tmpdir>/skiff-<uid>, when $SKIFF_HOME is too long for a socket address', () => {
    const name = `${process.pid}-${'a'.repeat(32)}.sock`;
    expect(controlDir({ home: '/h', env: {} }, name)).toBe('/h/run');
    const long = `/${'x'.repeat(90)}`;
    expect(controlDir({ home: long, env: { XDG_RUNTIME_DIR: '/run/user/1000' } }, name)).toBe('/run/user/1000/skiff');
    expect(controlDir({ home: long, env: {} }, name)).toBe(join(tmpdir(), `skiff-${process.getuid?.()}`));
  });

  it('exec, logs, kill, stop and wait from another engine go through the owner', async () => {
    const { other, id, rt, out } = await twoEngines();
    const got: string[] = [];
    const p = await other.execContainer({ id, cmd: ['echo', '5'], io: { onStdout: (d) => got.push(td.decode(d)), onStderr: () => {} } });
    expect(await p.wait()).toEqual({ exitCode: 5, oomKilled: false });
    expect(got.join('')).toBe('exec echo 5\n');
    // stdin both ways and resize through an interactive exec
    const echoed: string[] = [];
    const cat = await other.execContainer({ id, cmd: ['cat'], openStdin: true, tty: true, io: { onStdout: (d) => echoed.push(td.decode(d)), onStderr: () => {} } });
    cat.writeStdin(te.encode('piped\n'));
    await cat.resize({ cols: 101, rows: 33 });
    cat.closeStdin();
    expect((await cat.wait()).exitCode).toBe(0);
    expect(echoed.join('')).toBe('piped\n');
    expect(rt.resized).toContainEqual({ cols: 101, rows: 33 });
    await other.resizeContainer({ id, cols: 120, rows: 40 });
    expect(rt.resized).toContainEqual({ cols: 120, rows: 40 });
    // the live log, not the one stored every few seconds
    expect((await other.containerLogs({ id })).map((e) => td.decode(e.data)).join('')).toBe('main started\n');
    const waited = other.waitContainer({ id });
    const stopped = await other.stopContainer({ id, timeout: 5 });
    expect(stopped).toMatchObject({ exitCode: 143 });
    expect(await waited).toMatchObject({ exitCode: 143 });
    expect(out.join('')).toBe('main started\n');
    expect(await other.inspectContainer({ id })).toMatchObject({ state: 'exited', exitCode: 143 });
  });

  it('an exec whose client stops reading is held back (not buffered), and delivers every byte once it reads again', async () => {
    const { other, id, rt } = await twoEngines();
    const total = 32 << 20;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let stalled = true;
    let got = 0;
    let bad = 0;
    const p = await other.execContainer({
      id, cmd: ['flood', String(total)],
      io: { onStdout: (d) => { for (let i = 0; i < d.length; i++) if (d[i] !== ((got + i) & 0xff)) bad++; got += d.length; return stalled ? gate : undefined; }, onStderr: () => {} },
    });
    let last = -1;
    for (let i = 0; i < 100 && rt.flooded !== last; i++) { last = rt.flooded; await new Promise((r) => setTimeout(r, 50)); }
    // Held: the client's queue (1 MiB), the sockets' buffers and the owner's backlog (1 MiB), not 32 MiB.
    expect(rt.flooded).toBeLessThan(8 << 20);
    expect(rt.flooded).toBeGreaterThan(0);
    stalled = false;
    release();
    expect(await p.wait()).toEqual({ exitCode: 0, oomKilled: false });
    expect(got).toBe(total);
    expect(bad).toBe(0);
  });

  it("an exec's stdin into a process that does not read waits at the client (not buffered), then every byte arrives", async () => {
    const { other, id, rt } = await twoEngines();
    let open!: () => void;
    rt.stdinFull = { promise: new Promise<void>((r) => (open = r)), open: () => open() };
    const p = await other.execContainer({ id, cmd: ['slowreader'], openStdin: true, io: { onStdout: () => {}, onStderr: () => {} } });
    const total = 32 << 20;
    const chunk = new Uint8Array(64 << 10);
    let written = 0;
    let stuck = false;
    while (written < total && !stuck) {
      const wait = p.writeStdin(chunk);
      written += chunk.length;
      if (wait) stuck = await Promise.race([wait.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 1000))]);
    }
    // Held: the owner took one socket read's frames, the sockets' buffers and the client's mark, not 32 MiB.
    expect(stuck).toBe(true);
    expect(written).toBeLessThan(8 << 20);
    expect(rt.stdinTaken).toBeLessThan(2 << 20);
    rt.stdinFull = null;
    open();
    while (written < total) {
      const wait = p.writeStdin(chunk);
      written += chunk.length;
      if (wait) await wait;
    }
    p.closeStdin();
    expect(await p.wait()).toEqual({ exitCode: 0, oomKilled: false });
    expect(rt.stdinTaken).toBe(total);
  });

  it('logs follow: what the owner has, then each new entry, until the container exits', async () => {
    const { other, owner, id, rt } = await twoEngines();
    const rec = await other.inspectContainer({ id });
    const plane = new NodeControlPlane({ home: home() });
    const link = await plane.connect(rec.runtimeData?.['owner'] as never, id);
    expect(link).toBeDefined();
    const seen: string[] = [];
    const { entries, done } = await link!.logs((e) => seen.push(`${e.stream}:${td.decode(e.data)}`));
    expect(entries.map((e) => td.decode(e.data))).toEqual(['main started\n']);
    rt.io!.onStderr(te.encode('later\n'));
    rt.io!.onStdout(new Uint8Array(3 << 20).fill(0x61)); // bigger than a frame: split, not refused
    await owner.stopContainer({ id, timeout: 1 });
    await done;
    expect(seen[0]).toBe('stderr:later\n');
    expect(seen.slice(1).map((s) => s.length - 'stdout:'.length).reduce((a, b) => a + b, 0)).toBe(3 << 20);
    plane.close();
  });

  it('followContainerLogs from another engine: the log so far, then new output, ends when the container does', async () => {
    const { other, owner, id, rt } = await twoEngines();
    const later: string[] = [];
    const { entries, done } = await other.followContainerLogs({ id, onEntry: (e) => later.push(td.decode(e.data)) });
    expect(entries.map((e) => td.decode(e.data))).toEqual(['main started\n']);
    rt.io!.onStdout(te.encode('more\n'));
    await owner.killContainer({ id });
    await done();
    expect(later).toEqual(['more\n']);
  });

  it('a malformed Resize frame, an oversized frame or a bad request ends only that connection', async () => {
    const { other, id, rec } = await twoEngines();
    const path = (rec.runtimeData?.['owner'] as { control: string }).control;
    // exec, then a Resize that is not JSON: an error reply, the connection closes, the owner lives.
    const a = await raw(path);
    a.request({ v: 1, op: 'hello', id });
    a.request({ v: 1, op: 'exec', id, exec: { cmd: ['cat'], openStdin: true } });
    await a.until(() => a.frames.length >= 2);
    a.sock.write(encodeFrame(Frame.Resize, '{"cols":'));
    await a.until(() => a.closed);
    expect(a.closed).toBe(true);
    expect(a.frames.at(-1)).toMatchObject({ type: Frame.Reply });
    expect(JSON.parse(a.frames.at(-1)!.text)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    // Resize values out of range are refused the same way.
    const a2 = await raw(path);
    a2.request({ v: 1, op: 'hello', id });
    a2.request({ v: 1, op: 'exec', id, exec: { cmd: ['cat'], openStdin: true } });
    await a2.until(() => a2.frames.length >= 2);
    a2.sock.write(encodeFrame(Frame.Resize, '{"cols":-1,"rows":1e9}'));
    await a2.until(() => a2.closed);
    expect(a2.closed).toBe(true);
    // a header announcing 4 GiB: refused at once, nothing buffered
    const b = await raw(path);
    const huge = new Uint8Array(5);
    huge[0] = Frame.Request;
    new DataView(huge.buffer).setUint32(1, 0xffffffff, true);
    b.sock.write(huge);
    await b.until(() => b.closed);
    expect(JSON.parse(b.frames.at(-1)!.text)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    // a request line of endless bytes without a frame boundary is bounded by the JSON frame limit
    const c = await raw(path);
    c.sock.write(encodeFrame(Frame.Stdout, new Uint8Array(0)).subarray(0, 1));
    c.sock.write(new Uint8Array([0, 0, 16, 0])); // rest of a header: Stdout of 1 MiB before hello
    c.sock.write(new Uint8Array(1 << 20));
    await c.until(() => c.closed);
    expect(c.closed).toBe(true);
    // The owner still serves: an exec from the other engine works.
    const p = await other.execContainer({ id, cmd: ['echo'], io: { onStdout: () => {}, onStderr: () => {} } });
    expect((await p.wait()).exitCode).toBe(0);
  });

  it('packets: each relayed packet reaches the runtime; an oversized or foreign frame ends only that connection', async () => {
    const dir = home();
    const relayed: number[] = [];
    const rt = Object.assign(new ScriptedRuntime(), { relayIn: async (p: Uint8Array) => { relayed.push(p.length); return true; } });
    const owner = engineOver(dir, rt);
    await owner.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'] }), tags: ['docker.io/library/app:1'] }]) });
    const c = await owner.createContainer({ image: 'app:1' });
    await owner.startContainer({ id: c.id, io: { onStdout: () => {}, onStderr: () => {} } });
    const path = ((await owner.inspectContainer({ id: c.id })).runtimeData?.['owner'] as { control: string }).control;
    const a = await raw(path);
    a.request({ v: 1, op: 'hello', id: c.id });
    a.request({ v: 1, op: 'packets', id: c.id });
    a.sock.write(encodeFrame(Frame.Packet, new Uint8Array(40)));
    a.sock.write(encodeFrame(Frame.Packet, new Uint8Array(1500)));
    await a.until(() => relayed.length >= 2);
    expect(relayed).toEqual([40, 1500]);
    a.sock.write(encodeFrame(Frame.Packet, new Uint8Array(1501)));
    await a.until(() => a.closed);
    expect(JSON.parse(a.frames.at(-1)!.text)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    const b = await raw(path);
    b.request({ v: 1, op: 'hello', id: c.id });
    b.request({ v: 1, op: 'packets', id: c.id });
    b.sock.write(encodeFrame(Frame.Stdin, new Uint8Array(40)));
    await b.until(() => b.closed);
    expect(b.closed).toBe(true);
    expect(relayed).toEqual([40, 1500]);
    // Through the client side too: the channel delivers, and the owner still serves.
    const plane = new NodeControlPlane({ home: dir });
    const remote = await plane.connect((await owner.inspectContainer({ id: c.id })).runtimeData?.['owner'] as never, c.id);
    const ch = await remote!.packets();
    expect(ch.send(new Uint8Array(60))).toBe(true);
    expect(ch.send(new Uint8Array(1501))).toBe(false);
    await a.until(() => relayed.length >= 3);
    expect(relayed).toEqual([40, 1500, 60]);
    ch.close();
    plane.close();
  });

  it('a request cannot name another container than the ones the process runs, nor override its id', async () => {
    const { id, rec, owner } = await twoEngines();
    const path = (rec.runtimeData?.['owner'] as { control: string }).control;
    const notRunning = await owner.createContainer({ image: 'app:1' });
    // hello for a container the process does not run
    const a = await raw(path);
    a.request({ v: 1, op: 'hello', id: notRunning.id });
    await a.until(() => a.closed);
    expect(JSON.parse(a.frames[0]!.text)).toMatchObject({ ok: false, code: 'CONFLICT' });
    // hello for ours, then a request for another
    const b = await raw(path);
    b.request({ v: 1, op: 'hello', id });
    b.request({ v: 1, op: 'exec', id: notRunning.id, exec: { cmd: ['echo'] } });
    await b.until(() => b.closed);
    expect(JSON.parse(b.frames.at(-1)!.text)).toMatchObject({ ok: false, code: 'CONFLICT' });
    // an `id` smuggled into the exec options is an unknown field
    expect(() => parseRequest({ v: 1, op: 'exec', id, exec: { cmd: ['sh'], id: notRunning.id } })).toThrow(/unknown field "id"/);
    const c = await raw(path);
    c.request({ v: 1, op: 'hello', id });
    c.request({ v: 1, op: 'exec', id, exec: { cmd: ['echo'], id: notRunning.id } });
    await c.until(() => c.closed);
    expect(JSON.parse(c.frames.at(-1)!.text)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(() => parseRequest({ v: 1, op: 'signal', id, signal: 'KILL; rm -rf /' })).toThrow(/not a signal/);
    expect(() => parseRequest({ v: 1, op: 'exec', id, exec: { cmd: ['x'.repeat(MAX_JSON_FRAME)] } })).toThrow(/at most/);
  });

  it('never signals an unrelated process that now has the owner pid: stop reconciles the record instead', async () => {
    const dir = home();
    const e = engineOver(dir);
    await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'] }), tags: ['docker.io/library/app:1'] }]) });
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(sleeper);
    await new Promise((r) => sleeper.once('spawn', r));
    const pid = sleeper.pid!;
    // A record from a skiff process whose pid the sleeper got since (another start time), one from
    // before owners had start times (pid only), and one whose socket path is gone.
    const forms = [
      { session: 'a'.repeat(32), pid, start: '1', control: join(dir, 'run', `${pid}-x.sock`) },
      { session: 'b'.repeat(32), pid },
      { session: 'c'.repeat(32), pid, start: '2' },
    ];
    for (const owner of forms) {
      const c = await e.createContainer({ image: 'app:1' });
      await e.updateContainer({ id: c.id, patch: { state: 'running', startedAt: new Date().toISOString(), runtimeData: { owner } } });
      await e.stopContainer({ id: c.id, timeout: 1 });
      await e.killContainer({ id: c.id }).catch(() => {});
      expect(await e.inspectContainer({ id: c.id })).toMatchObject({ state: 'exited' });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(sleeper.exitCode).toBe(null);
    expect(sleeper.signalCode).toBe(null);
    expect(() => process.kill(pid, 0)).not.toThrow();
  });

  it('an owner proven by pid and start time that accepts but never answers is killed by stop, and only then', async () => {
    const dir = home();
    const e = engineOver(dir, undefined, 500);
    await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'] }), tags: ['docker.io/library/app:1'] }]) });
    const sock = join(dir, 'hung.sock');
    const hung = spawn(process.execPath, ['-e', `require('node:net').createServer(() => {}).listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(hung);
    await new Promise((r) => hung.stdout!.once('data', r));
    const exited = new Promise<string | null>((r) => hung.once('exit', (_code, sig) => r(sig)));
    const c = await e.createContainer({ image: 'app:1' });
    const owner = { session: 'd'.repeat(32), pid: hung.pid!, start: processStart(hung.pid!)!, control: sock };
    await e.updateContainer({ id: c.id, patch: { state: 'running', startedAt: new Date().toISOString(), runtimeData: { owner } } });
    // kill and exec do not get an answer, and do not kill it.
    await expect(e.killContainer({ id: c.id, signal: 'SIGTERM' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(hung.exitCode).toBe(null);
    expect(await e.inspectContainer({ id: c.id })).toMatchObject({ state: 'running' });
    // stop: no answer within the timeout, so the proven owner is SIGKILLed and the record reconciled.
    const status = await e.stopContainer({ id: c.id, timeout: 0 });
    expect(await exited).toBe('SIGKILL');
    expect(status).toMatchObject({ exitCode: 137 });
    expect(await e.inspectContainer({ id: c.id })).toMatchObject({ state: 'exited' });
  });
});
