/**
 * Issue 10's kill tests: SIGKILL the owning `skiff` process (node bin/skiff.js) mid-load,
 * mid-commit, mid-volume-write and mid-run, then reopen $SKIFF_HOME: the state is consistent,
 * every write the container finished before the kill (by more than the ~100 ms save interval,
 * engine/snapshots/live.ts; at once when it fsynced it) is there, and `system prune` leaves
 * nothing stray.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../src/node.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import type { ContainerRecord, ImageRecord, TagRecord, VolumeRecord } from '../../src/engine/types.ts';
import { Engine } from '../../src/engine/engine.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const repo = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function home(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'skiff-kill-'));
  dirs.push(d);
  return d;
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  /** Resolves when stdout+stderr contains `text`. */
  saw: (text: string, ms?: number) => Promise<void>;
  exited: Promise<number | null>;
}

function skiff(h: string, args: string[]): Running {
  const child = spawn(process.execPath, [join(repo, 'bin/skiff.js'), ...args], { cwd: repo, env: { ...process.env, SKIFF_HOME: h } });
  let text = '';
  const waiters: Array<() => void> = [];
  const on = (d: Buffer): void => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', on);
  child.stderr.on('data', on);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const saw = (needle: string, ms = 120_000): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${needle}" within ${ms} ms; output so far:\n${text}`)), ms);
    void exited.then((code) => {
      clearTimeout(timer);
      if (!text.includes(needle)) reject(new Error(`skiff exited ${code} before "${needle}"; output:\n${text}`));
    });
    const check = (): void => {
      if (text.includes(needle)) {
        clearTimeout(timer);
        resolve();
      } else waiters.push(check);
    };
    check();
  });
  return { child, out: () => text, saw, exited };
}

async function run(h: string, args: string[]): Promise<string> {
  const r = skiff(h, args);
  const code = await r.exited;
  if (code !== 0) throw new Error(`skiff ${args.join(' ')} exited ${code}: ${r.out()}`);
  return r.out();
}

async function kill(r: Running): Promise<void> {
  r.child.kill('SIGKILL');
  await r.exited;
}

/** Every file under `dir` whose name says it is a leftover (temp files, partial ingests). */
async function strays(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    if (e.name.startsWith('.tmp-') || (e.isFile() && p.includes(`${join(dir, 'content', 'ingest')}/`))) out.push(p);
  }
  return out;
}

/** The state after a kill: every tag names an image, every image's blobs verify, every record has what it names. */
async function checkConsistent(h: string): Promise<void> {
  const e = await openEngine({ home: h, bundled: false });
  const { state, content, snapshots } = Engine.contextOf(e);
  const images = await state.list<ImageRecord>('images');
  const byDigest = new Set(images.map((i) => i.digest));
  for (const t of await state.list<TagRecord>('tags')) expect(byDigest.has(t.digest), `tag ${t.ref}`).toBe(true);
  for (const img of images) {
    for (const d of [img.digest, img.config.digest, ...img.layers.map((l) => l.digest)]) {
      expect(await content.has(d), `blob ${d} of ${img.digest}`).toBe(true);
      expect(sha256Digest(await content.get(d))).toBe(d);
    }
  }
  const containers = await e.listContainers({ all: true });
  for (const c of containers) expect(c.state, c.name).not.toBe('running'); // reconciled: its owner was killed
  const known = new Set([...containers.flatMap((c) => [`container/${c.id}`, `logs/${c.id}`]), ...(await state.list<VolumeRecord>('volumes')).map((v) => `volume/${v.name}`)]);
  for (const k of await snapshots.list()) expect(known.has(k), `snapshot ${k}`).toBe(true);
  await e.shutdown();
}

async function prunedClean(h: string): Promise<void> {
  await run(h, ['system', 'prune', '-a', '-f', '--volumes']);
  expect(await strays(h)).toEqual([]);
  await checkConsistent(h);
}

const LUA_WRITER = (target: string): string =>
  `for i=1,200 do local f=io.open("${target}/f"..i,"w"); f:write(string.rep("x",100000)..i); f:close(); print("wrote "..i); io.stdout:flush(); local t=os.clock(); while os.clock()-t < 0.05 do end end`;

/** The files f1..fN the writer finished, read back through a fresh engine; how many there are. */
async function finished(fs: { root(): unknown; lookup(d: never, n: string): unknown; read(n: never, o: number, l: number): Uint8Array }, dir: string[], upTo: number): Promise<number> {
  let node = fs.root();
  for (const p of dir) node = fs.lookup(node as never, p);
  for (let i = 1; i <= upTo; i++) {
    const f = fs.lookup(node as never, `f${i}`);
    const body = new TextDecoder().decode(fs.read(f as never, 0, 200_000));
    expect(body, `f${i}`).toBe('x'.repeat(100000) + i);
  }
  return upTo;
}

describe('SIGKILL of the owning skiff process', () => {
  it('mid-run and mid-volume-write (wasm): the layer and the volume keep every finished write', async () => {
    const h = await home();
    const r = skiff(h, ['run', '--name', 'victim', '-v', 'data:/data', 'skiff/lua-wasm', '-e', `${LUA_WRITER('/data')}`]);
    await r.saw('wrote 8');
    const done = Number(/wrote (\d+)\n(?![\s\S]*wrote)/.exec(r.out())![1]);
    // More than the save interval after the container reported the write.
    await new Promise((res) => setTimeout(res, 600));
    await kill(r);
    const l = skiff(h, ['run', '--name', 'victim2', 'skiff/lua-wasm', '-e', `${LUA_WRITER('')}`]);
    await l.saw('wrote 6', 40_000);
    const doneLayer = Number(/wrote (\d+)\n(?![\s\S]*wrote)/.exec(l.out())![1]);
    await new Promise((res) => setTimeout(res, 600));
    await kill(l);

    const e = await openEngine({ home: h, bundled: false });
    expect(await finished(await e.volumeFs({ name: 'data' }), [], done)).toBe(done);
    expect(await finished(await e.containerFs({ id: 'victim2' }), [], doneLayer)).toBe(doneLayer);
    expect((await e.listContainers({ all: true })).every((c) => c.state === 'exited')).toBe(true);
    await e.shutdown();
    await checkConsistent(h);
    await prunedClean(h);
  }, 240_000);

  it('mid-load: no partial image, the partial blob is swept', async () => {
    const h = await home();
    const big = new Uint8Array(48 << 20).map((_, i) => (i * 2654435761) >>> 24);
    const archive = join(h, 'big.tar');
    await writeFile(archive, ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'big', content: big }] }] }), tags: ['docker.io/x/big:1'] }]));
    await run(h, ['load', '-i', archive]); // fills the store once, so the second load is mid-way when killed
    await run(h, ['rmi', 'x/big:1']);
    const r = skiff(h, ['load', '-i', archive]);
    // Killed while blobs are being ingested: wait for the ingest file to appear.
    for (let i = 0; i < 400; i++) {
      const ing = await readdir(join(h, 'content', 'ingest')).catch(() => []);
      if (ing.length > 0) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    await kill(r);
    await checkConsistent(h);
    await prunedClean(h);
  }, 240_000);

  it('mid-commit: no image without its blobs, nothing stray after prune', async () => {
    const h = await home();
    const r = skiff(h, ['run', '--name', 'src', 'skiff/lua-wasm', '-e', 'local f=io.open("/big","w"); for i=1,400 do f:write(string.rep(string.char(65+i%26),65536)) end f:close() print("made")']);
    await r.saw('made');
    await r.exited;
    const c = skiff(h, ['commit', 'src', 'x/committed:1']);
    // Killed once the commit writes its first blob.
    for (let i = 0; i < 1200; i++) {
      const ing = await readdir(join(h, 'content', 'ingest')).catch(() => []);
      if (ing.length > 0) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    await kill(c);
    await checkConsistent(h);
    await prunedClean(h);
  }, 240_000);

  it('mid-run in the VM: a volume keeps every write the guest fsynced, killed right after', async () => {
    const h = await home();
    // `sync FILE` is fsync(2): 9P Tfsync, whose reply waits for the volume's save (no grace period).
    const r = skiff(h, ['run', '-v', 'vmdata:/data', 'skiff/busybox', 'sh', '-c',
      'i=1; while [ $i -le 200 ]; do head -c 100000 /dev/zero | tr "\\0" x > /data/f$i; echo -n $i >> /data/f$i; sync /data/f$i; echo wrote $i; i=$((i+1)); done']);
    await r.saw('wrote 5', 200_000);
    await kill(r);
    const done = Number(/wrote (\d+)\n(?![\s\S]*wrote)/.exec(r.out())![1]);
    const e = await openEngine({ home: h, bundled: false });
    expect(await finished(await e.volumeFs({ name: 'vmdata' }), [], done)).toBe(done);
    await e.shutdown();
    await checkConsistent(h);
    await prunedClean(h);
  }, 300_000);
});
