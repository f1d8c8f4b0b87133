/**
 * Image files shared between containers in the guest (src/p9/share.ts with
 * vm-images/kernel/skiff-9p-share.patch), on the real guest with the bundled skiff/busybox image:
 * a second container maps an image file without the guest reading it again, and nothing one
 * container does to such a file reaches another container's view of it.
 *
 * The checks read files both ways, `cat` and the probe's mapping (fixtures/shareprobe.c): on
 * skiff's mount the page cache serves mappings, and read(2) only of shared image files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Overlay } from '../../../src/fs/overlay.ts';
import type { FsNode } from '../../../src/fs/types.ts';
import { MessageCode } from '../../../src/p9/messages.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';
import type { VmProcess } from '../../../src/runtime/vm/container-runtime.ts';
import { useGuest } from '../../helpers/guest.ts';
import { requireTool } from '../../helpers/peers.ts';

const dec = new TextDecoder();
const enc = new TextEncoder();
const guest = useGuest();
let probe: Uint8Array;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'shareprobe-'));
  try {
    const out = join(dir, 'shareprobe');
    execFileSync(requireTool('clang-16', 'clang-16'), [
      '--target=i386-linux-gnu', '-ffreestanding', '-nostdlib', '-static', '-fno-pic', '-O1',
      '-fuse-ld=/usr/lib/llvm-16/bin/ld.lld', '-o', out, new URL('../../p9/fixtures/shareprobe.c', import.meta.url).pathname,
    ]);
    probe = readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function node(fs: Overlay, path: string): FsNode {
  let n = fs.root();
  for (const p of path.split('/').filter(Boolean)) n = fs.lookup(n, p);
  return n;
}
const fileText = (fs: Overlay, path: string) => { const n = node(fs, path); return dec.decode(fs.read(n, 0, fs.stat(n).size)); };

interface Box { id: string; rootfs: Overlay; proc: VmProcess; out: () => string }

/** A container of skiff/busybox running `script` (or argv), with the probe as its own file /probe. */
async function start(script: string | string[]): Promise<Box> {
  const e = guest.engine;
  const cmd = typeof script === 'string' ? ['sh', '-c', script] : script;
  const rec = await e.createContainer({ image: 'skiff/busybox', cmd });
  const rootfs = await e.containerFs({ id: rec.id });
  rootfs.write(rootfs.create(rootfs.root(), 'probe', { mode: 0o755, uid: 0, gid: 0 }), 0, probe);
  const spec = resolveContainerSpec({ id: rec.id, image: guest.image, run: parseRunFlags({ cmd }) });
  const chunks: string[] = [];
  const io = { onStdout: (c: Uint8Array) => chunks.push(dec.decode(c)), onStderr: (c: Uint8Array) => chunks.push(dec.decode(c)) };
  const proc = await guest.rt.start({ id: rec.id, rootfs, spec, volumes: [], io });
  return { id: rec.id, rootfs, proc, out: () => chunks.join('') };
}

async function run(script: string | string[]): Promise<{ out: string; rootfs: Overlay; code: number }> {
  const b = await start(script);
  const status = await b.proc.wait();
  await guest.rt.release(b.id);
  return { out: b.out(), rootfs: b.rootfs, code: status.exitCode };
}

async function exec(box: Box, script: string): Promise<string> {
  const chunks: string[] = [];
  const p = await guest.rt.exec({ id: box.id, args: ['sh', '-c', script], tty: false, openStdin: false, io: { onStdout: (c) => chunks.push(dec.decode(c)), onStderr: (c) => chunks.push(dec.decode(c)) } });
  await p.wait();
  return chunks.join('');
}

async function stop(box: Box): Promise<void> {
  await box.proc.kill(9);
  await box.proc.wait();
  await guest.rt.release(box.id);
}

/** Treads the guest sends for the image files of `keys` (through any fid) while `fn` runs, and the bytes they ask for. */
async function readsOf<T>(keys: string[], fn: () => Promise<T>): Promise<{ value: T; reads: number[]; bytes: number[] }> {
  const server = guest.rt.server;
  const handle = server.handleAsync;
  const reads = keys.map(() => 0);
  const bytes = keys.map(() => 0);
  server.handleAsync = (req) => {
    if (req[4] === MessageCode.Tread) {
      const view = new DataView(req.buffer, req.byteOffset);
      const id = view.getUint32(7, true);
      const fid = server.fids.has(id) ? server.fids.get(id) : undefined;
      const k = fid && !fid.stale ? fid.exp.fs.imageFileKey?.(fid.node, { lower: true }) : undefined;
      const i = k ? keys.indexOf(k) : -1;
      if (i >= 0) {
        reads[i]!++;
        bytes[i]! += view.getUint32(19, true);
      }
    }
    return handle.call(server, req);
  };
  try {
    return { value: await fn(), reads, bytes };
  } finally {
    server.handleAsync = handle;
  }
}

/** What a container sees of a file: "inode mode size links mtime", its bytes by read(2) and by mapping. */
const VIEW = (f: string) => `stat -c '%i %a %s %h %Y' ${f}; echo "cat:$(cat ${f})"; echo "map:$(/probe map ${f})"`;

describe('image files shared between containers', () => {
  let a: Box;
  let passwd: string;
  let inode: string;
  beforeAll(async () => {
    // A lives through every test: a container that had the files before the others changed theirs.
    a = await start(`${VIEW('/etc/passwd')}; echo ready; sleep 100000`);
    await until(() => a.out().includes('ready'));
    passwd = fileText(a.rootfs, 'etc/passwd');
    inode = a.out().split(' ')[0]!;
    expect(a.out()).toContain(`map:${passwd.trimEnd()}`);
  }, 240_000);
  afterAll(async () => { if (a) await stop(a); });

  it('a second container reads, maps and runs image files without a Tread for any of them, at the same inode', async () => {
    const keys = ['etc/passwd', 'bin/busybox'].map((p) => a.rootfs.imageFileKey(node(a.rootfs, p))!);
    expect(keys.every((k) => typeof k === 'string')).toBe(true);
    const script = VIEW('/etc/passwd');
    const on = await readsOf(keys, () => run(script));
    expect(on.value.out).toBe(a.out().slice(0, a.out().indexOf('ready')));
    // read(2), mappings and execve's header reads alike come from the one page cache.
    expect(on.reads).toEqual([0, 0]);
    // Sharing off (what this test fails on without it): the container reads both into its own page cache.
    guest.rt.server.shareImageFiles = false;
    try {
      const off = await readsOf(keys, () => run(script));
      expect(off.value.out).toContain(`map:${passwd.trimEnd()}`);
      expect(off.value.out.split(' ')[0]).not.toBe(inode);
      expect(off.reads[0]).toBeGreaterThan(0);
      expect(off.bytes[1]).toBeGreaterThan(256 << 10);
    } finally {
      guest.rt.server.shareImageFiles = true;
    }
  }, 240_000);

  const changes: [what: string, script: string, expect: (view: string, b: Overlay) => void][] = [
    ['chmod', 'chmod 600 /etc/passwd', (v) => expect(v).toMatch(/^\d+ 600 /m)],
    ['truncate', 'truncate -s 4 /etc/passwd', (v) => { expect(v).toMatch(/^\d+ 644 4 1 /m); expect(v).toContain('cat:root\nmap:root\n'); }],
    ['write', 'echo mine > /etc/passwd', (v) => expect(v).toContain('cat:mine\nmap:mine\n')],
    ['append', 'echo more >> /etc/passwd', (v) => expect(v).toContain(`map:${passwd}more\n`)],
    ['touch', 'touch -d "2001-02-03 04:05:06" /etc/passwd', (v) => expect(v).toMatch(/^\d+ 644 \d+ 1 981173106$/m)],
    ['hard link', 'ln /etc/passwd /etc/passwd.2', (v) => expect(v).toMatch(/^\d+ 644 \d+ 2 /m)],
    ['xattr', '/probe xattr /etc/passwd v1', (v) => expect(v).toContain('xattr:v1')],
    ['rename', 'mv /etc/passwd /etc/passwd.old && cp /etc/passwd.old /etc/passwd && echo new >> /etc/passwd', (v) => expect(v).toContain(`map:${passwd}new\n`)],
    ['unlink', 'rm /etc/passwd && echo x > /etc/passwd', (v) => expect(v).toContain('cat:x\nmap:x\n')],
    ['exec', 'printf "#!/bin/sh\\necho ran-mine\\n" > /etc/passwd && chmod 755 /etc/passwd && /etc/passwd', (v) => expect(v).toContain('ran-mine')],
  ];

  it('a container that changes an image file sees its own copy at once; the others keep the image\'s', async () => {
    for (const [what, script, check] of changes) {
      const b = await run(`set -e; ${script}; ${VIEW('/etc/passwd')}`);
      expect(b.code, `${what}: ${b.out}`).toBe(0);
      check(b.out, b.rootfs);
      expect(/^(\d+) \d+ \d+ \d+ \d+$/m.exec(b.out)?.[1], what).not.toBe(inode);
      // A, running since before, and a new container: the image's file, as before.
      const seen = await exec(a, VIEW('/etc/passwd'));
      expect(seen, what).toBe(a.out().slice(0, a.out().indexOf('ready')));
    }
    const c = await run(VIEW('/etc/passwd'));
    expect(c.out).toBe(a.out().slice(0, a.out().indexOf('ready')));
  }, 600_000);

  it('a mapping taken before its container overwrote the file still shows the image file, and so does every other container', async () => {
    // Nobody mapped /etc/group yet: B's old mapping is the first to fault it in.
    const group = fileText(a.rootfs, 'etc/group');
    const b = await run('/probe poison /etc/group POISON');
    expect(b.out).toBe(`map:${group}|read:${group}|new:POISON\n`);
    expect(fileText(b.rootfs, 'etc/group')).toBe('POISON');
    expect(await exec(a, '/probe map /etc/group')).toBe(group);
    expect((await run('/probe map /etc/group; cat /etc/group')).out).toBe(group + group);
  }, 240_000);

  it('an image file another container executes cannot be opened for writing (ETXTBSY, the documented limit)', async () => {
    // A runs busybox (its sleep); B runs only the probe, which opens /bin/busybox for writing.
    const b = await run(['/probe', 'poison', '/bin/busybox', 'X']);
    expect(b.out).toBe('open failed\n');
    expect(b.rootfs.imageFileKey(node(b.rootfs, 'bin/busybox'))).toEqual(expect.any(String));
  }, 240_000);

  it('a container asks the server for a symlink\'s target once, however often it crosses it', async () => {
    const server = guest.rt.server;
    const handle = server.handleAsync;
    let readlinks = 0;
    server.handleAsync = (req) => {
      if (req[4] === MessageCode.Treadlink) readlinks++;
      return handle.call(server, req);
    };
    try {
      // /bin/ls, /bin/sh and readlink's own path are symlinks to /bin/busybox in this image.
      const r = await run('for i in 1 2 3 4 5 6 7 8 9 10; do readlink /bin/ls; done | uniq -c');
      expect(r.out.trim()).toBe('10 /bin/busybox');
    } finally {
      server.handleAsync = handle;
    }
    // Without the cache: one per readlink(2) and per exec through a symlink (14 here).
    expect(readlinks).toBeLessThan(8);
  }, 240_000);

  /** A container B that saw the shared /etc/passwd, then the engine writes into its copy (as skiff cp does). */
  async function startWithCopiedIn(): Promise<Awaited<ReturnType<typeof start>>> {
    const b = await start(`${VIEW('/etc/passwd')}; echo ready; sleep 100000`);
    try {
      await until(() => b.out().includes('ready'));
      expect(b.out().split(' ')[0]).toBe(inode);
      const n = node(b.rootfs, 'etc/passwd');
      b.rootfs.setattr(n, { size: 0 });
      b.rootfs.write(n, 0, enc.encode('copied in\n'));
      await guest.rt.filesChanged(b.id);
      return b;
    } catch (err) {
      await stop(b);
      throw err;
    }
  }

  it('a file the engine writes into a running container (skiff cp) shows in it at once, in no other', async () => {
    const b = await startWithCopiedIn();
    try {
      const view = await exec(b, VIEW('/etc/passwd'));
      expect(view).toContain('cat:copied in\nmap:copied in\n');
      expect(view.split(' ')[0]).not.toBe(inode);
      expect(await exec(a, VIEW('/etc/passwd'))).toBe(a.out().slice(0, a.out().indexOf('ready')));
    } finally {
      await stop(b);
    }
  }, 240_000);

  it('... also when another container used the file first since (freshness is each name\'s, not the shared inode\'s)', async () => {
    const b = await startWithCopiedIn();
    try {
      // A revalidates its own name of the shared inode first: the inode is fresh again, B's name is not.
      const before = a.out().slice(0, a.out().indexOf('ready'));
      expect(await exec(a, VIEW('/etc/passwd'))).toBe(before);
      const view = await exec(b, VIEW('/etc/passwd'));
      expect(view).toContain('cat:copied in\nmap:copied in\n');
      expect(view).toMatch(/^\d+ 644 10 1 /);
      expect(view.split(' ')[0]).not.toBe(inode);
      expect(await exec(a, VIEW('/etc/passwd'))).toBe(before);
    } finally {
      await stop(b);
    }
  }, 240_000);
});

async function until(cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
