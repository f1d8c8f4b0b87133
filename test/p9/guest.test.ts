/**
 * The real client: the guest's Linux 9P2000.L driver (v86, our kernel and agent) mounting P9Server
 * exports over the Overlay. What the guest does must land in the overlay, and what the overlay
 * holds must be what the guest reads.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { readTar } from '../../src/archive/tar-reader.ts';
import type { LayerTree } from '../../src/fs/layer.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Overlay } from '../../src/fs/overlay.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { P9Server } from '../../src/p9/server.ts';
import { Machine } from '../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../src/node.ts';
import type { AgentProcess } from '../../src/runtime/vm/agent-process.ts';
import { dir, file, hardlink, readText, resolve, symlink, text } from '../fs/helpers.ts';
import { busyboxConfig } from '../runtime/vm/bundle.ts';
import { requireTool } from '../helpers/peers.ts';

const BIG = 8 << 20;
const big = new Uint8Array(BIG);
for (let i = 0; i < BIG; i += 4) new DataView(big.buffer).setUint32(i, Math.imul(i, 2654435761) >>> 0, true);
const bigSha = createHash('sha256').update(big).digest('hex');

function image() {
  return applyLayer(null, [
    dir('etc'), file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'), file('etc/hostname', 'lower\n'),
    dir('data'), file('data/big', big), hardlink('data/big-link', 'data/big'), symlink('data/rel', '../etc/passwd'),
    dir('many'), ...Array.from({ length: 600 }, (_, i) => file(`many/f${i}`, `${i}\n`)),
  ]);
}

/** A container image: Debian's static i386 busybox (the host's /bin/busybox) and its applet links. */
function busyboxImage() {
  const applets = ['sh', 'ls', 'cat', 'echo', 'id', 'hostname', 'mkdir', 'mv', 'rm', 'ps', 'stat', 'sleep'];
  return applyLayer(null, [
    dir('bin'), file('bin/busybox', readFileSync(requireTool('/bin/busybox', 'busybox-static:i386')), { mode: 0o755 }),
    ...applets.map((a) => symlink(`bin/${a}`, 'busybox')),
    dir('etc'), file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'),
    dir('proc'), dir('sys'), dir('dev'), dir('tmp', { mode: 0o1777 }),
  ]);
}

const box = new Overlay({ lower: busyboxImage() });

/**
 * The umoci-built fixture (test/fixtures/make-umoci-image.sh: whiteouts, an opaque directory, a
 * hard link, a long path): its layers applied by fs/ as the lower, and umoci's own unpack of it.
 */
function umociImage(scratch: string): { lower: LayerTree; oracle: string } {
  const out = join(scratch, 'umoci');
  const layout = join(scratch, 'layout');
  // The script's own missing-tool message would be swallowed with its stderr: name the packages here.
  for (const tool of ['umoci', 'skopeo']) requireTool(tool, tool);
  execFileSync('bash', [new URL('../fixtures/make-umoci-image.sh', import.meta.url).pathname, out], { stdio: 'ignore' });
  execFileSync('mkdir', ['-p', layout]);
  execFileSync('tar', ['-xf', join(out, 'umoci-layers.tar'), '-C', layout]);
  const blob = (digest: string) => join(layout, 'blobs', ...digest.split(':'));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as { layers: { digest: string }[] };
  let lower: LayerTree | null = null;
  for (const l of manifest.layers) lower = applyLayer(lower, readTar(new Uint8Array(gunzipSync(readFileSync(blob(l.digest))))));
  return { lower: lower!, oracle: join(out, 'umoci-layers.rootfs') };
}

/** One line per path: type, mode, size, links, owner, mtime; then file digests and link targets. */
const LISTING = [
  // Directory sizes are each filesystem's own business (ext4 4096, ours 0): left out.
  "find . -print0 | xargs -0 stat -c '%n|%F|%a|%s|%h|%u:%g|%Y' | sed 's/|directory|\\([0-7]*\\)|[0-9]*|/|directory|\\1|-|/' | LC_ALL=C sort",
  "find . -type f -print0 | xargs -0 md5sum | LC_ALL=C sort -k2",
  'find . -type l | while read -r f; do echo "$f -> $(readlink "$f")"; done | LC_ALL=C sort',
].join('; ');

const scratch = mkdtempSync(join(tmpdir(), 'p9guest-'));
const umoci = umociImage(scratch);
const img = new Overlay({ lower: umoci.lower });
let m: Machine;
let server: P9Server;
const c1 = new Overlay({ lower: image() });
const c2 = new Overlay({ lower: image() });
const trace: string[] = [];

async function sh(script: string): Promise<{ out: string; err: string; code: number }> {
  const p: AgentProcess = await m.agent.spawn({ args: ['/bin/busybox', 'sh', '-c', script] });
  const [out, err, status] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
  return { out, err, code: status.exitCode };
}

/** Builds the lock/xattr probe (fixtures/p9probe.c, libc-free) for i386 and puts it in c1's /bin. */
function installProbe(): void {
  const dir = mkdtempSync(join(tmpdir(), 'p9probe-'));
  try {
    const out = join(dir, 'p9probe');
    execFileSync(requireTool('clang-16', 'clang-16'), [
      '--target=i386-linux-gnu', '-ffreestanding', '-nostdlib', '-static', '-fno-pic', '-O1',
      '-fuse-ld=/usr/lib/llvm-16/bin/ld.lld', '-o', out, new URL('./fixtures/p9probe.c', import.meta.url).pathname,
    ]);
    const bin = c1.mkdir(c1.root(), 'bin', { mode: 0o755, uid: 0, gid: 0 });
    c1.write(c1.create(bin, 'p9probe', { mode: 0o755, uid: 0, gid: 0 }), 0, readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  installProbe();
  server = new P9Server({ trace: (l) => { if (trace.length < 200_000) trace.push(l); } });
  server.addExport('c1', c1);
  server.addExport('c2', c2);
  server.addExport('box', box);
  server.addExport('img', img);
  m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), handle9p: (req) => server.handle(req), snapshots: null });
  // The agent does not create its 9P mount point yet (vm-images/agent/ops.c op_mount).
  await m.agent.mkdir({ path: '/run/skiff/9p' });
  await m.agent.mount({ export: 'c1', target: '/mnt/c1' });
  await m.agent.mount({ export: 'c2', target: '/mnt/c2' });
}, 240_000);

afterAll(async () => {
  await m?.shutdown();
  rmSync(scratch, { recursive: true, force: true });
});

describe('P9Server mounted by the guest kernel', () => {
  it('negotiates 9P2000.L and attaches to the directory of exports', () => {
    expect(trace[0]).toMatch(/^9p <- Tversion tag=65535 msize=131072 version="9P2000.L"/);
    expect(trace.some((l) => /^9p <- Tattach .*aname=""/.test(l))).toBe(true);
  });

  it('reads the image: contents, modes, links, symlinks, a 600-entry directory', async () => {
    const r = await sh('cat /mnt/c1/etc/passwd; stat -c "%s %a %h %F" /mnt/c1/data/big /mnt/c1/data/big-link /mnt/c1/etc; readlink /mnt/c1/data/rel; ls /mnt/c1/many | wc -l; cat /mnt/c1/many/f599');
    expect(r.err).toBe('');
    expect(r.out).toBe([
      'root:x:0:0:root:/root:/bin/sh',
      `${BIG} 644 2 regular file`, `${BIG} 644 2 regular file`, '0 755 2 directory',
      '../etc/passwd', '600', '599', '',
    ].join('\n'));
  });

  it('reads 8 MB byte-exact and reports the throughput', async () => {
    const t0 = performance.now();
    const r = await sh('sha256sum /mnt/c1/data/big');
    const ms = performance.now() - t0;
    expect(r.out.split(' ')[0]).toBe(bigSha);
    const t1 = performance.now();
    const d = await sh('dd if=/mnt/c1/data/big of=/dev/null bs=131072 2>&1');
    const ddMs = performance.now() - t1;
    expect(d.code).toBe(0);
    console.log(`p9 guest read: sha256sum 8 MB ${ms.toFixed(0)} ms; dd 8 MB ${ddMs.toFixed(0)} ms = ${(8 / (ddMs / 1000)).toFixed(1)} MB/s (host wall clock, spawn included)`);
  });

  it('lands writes, renames, deletes, links and chmods in the overlay', async () => {
    const r = await sh([
      'set -e', 'cd /mnt/c1',
      'echo hello > etc/new', 'echo more >> etc/new',
      'mkdir -p a/b/c', 'echo deep > a/b/c/file', 'mv a/b a/moved',
      'rm etc/hostname', 'ln -s /etc/passwd a/abs', 'ln etc/new a/hard',
      'chmod 600 etc/new', 'rmdir a/moved/c 2>/dev/null || echo notempty',
      'mv data/big-link data/renamed',
      'dd if=/dev/zero of=zeros bs=65536 count=20 2>/dev/null',
      'touch -d "2001-02-03 04:05:06" etc/passwd',
      'stat -c "%s %a %h" etc/new',
    ].join('\n'));
    expect(r.err).toBe('');
    expect(r.out).toBe('notempty\n11 600 2\n');
    expect(readText(c1, 'etc/new')).toBe('hello\nmore\n');
    expect(c1.stat(resolve(c1, 'etc/new'))).toMatchObject({ mode: 0o600, nlink: 2 });
    expect(resolve(c1, 'a/hard').ino).toBe(resolve(c1, 'etc/new').ino);
    expect(readText(c1, 'a/moved/c/file')).toBe('deep\n');
    expect(() => resolve(c1, 'a/b')).toThrow(/ENOENT/);
    expect(() => resolve(c1, 'etc/hostname')).toThrow(/ENOENT/);
    expect(c1.readlink(resolve(c1, 'a/abs'))).toBe('/etc/passwd');
    expect(c1.stat(resolve(c1, 'zeros')).size).toBe(20 * 65536);
    expect(c1.stat(resolve(c1, 'data/renamed')).size).toBe(BIG);
    expect(new Date(c1.stat(resolve(c1, 'etc/passwd')).mtimeMs).toISOString()).toBe('2001-02-03T04:05:06.000Z');
    // The other container saw none of it.
    expect(readText(c2, 'etc/hostname')).toBe('lower\n');
    const other = await sh('ls /mnt/c2; cat /mnt/c2/etc/hostname; ls /mnt/c2/etc/new 2>&1');
    expect(other.out).toBe('data\netc\nmany\nlower\nls: /mnt/c2/etc/new: No such file or directory\n');
  });

  it('sees host-side changes and removes whole trees (rm -rf over paged readdir)', async () => {
    c2.write(c2.create(resolve(c2, 'etc'), 'from-host', { mode: 0o644, uid: 0, gid: 0 }), 0, new TextEncoder().encode('host\n'));
    const r = await sh('cat /mnt/c2/etc/from-host; rm -rf /mnt/c2/many; ls /mnt/c2; df -k /mnt/c2 | tail -1 | wc -w');
    expect(r.err).toBe('');
    expect(r.out).toBe('host\ndata\netc\n6\n');
    expect(c2.readdir(c2.root()).map((e) => e.name).sort()).toEqual(['data', 'etc']);
  });

  it('takes, tests and releases POSIX locks through Tlock/Tgetlock (fcntl from a probe run off the mount)', async () => {
    const r = await sh('/mnt/c1/bin/p9probe lock /mnt/c1/lockme');
    expect(r.err).toBe('');
    expect(r.out).toBe([
      'parent locked 0-99',
      'child blocked: EAGAIN',
      'getlock: type=WR start=0 len=100 holder-is-parent=1',
      'child locked 100-109',
      'after unlock child got it', '',
    ].join('\n'));
    // F_GETLK is answered from the guest's own lock list when it holds a conflicting lock.
    expect(trace.filter((l) => l.startsWith('9p <- Tlock ')).length).toBeGreaterThanOrEqual(4);
  });

  it('sets, gets, lists and removes xattrs through Txattrcreate/Txattrwalk', async () => {
    const r = await sh('/mnt/c1/bin/p9probe xattr /mnt/c1/etc/passwd');
    expect(r.err).toBe('');
    expect(r.out).toBe([
      'list before: 0', 'create again: EEXIST', 'get: value-two', 'get missing: ENODATA',
      'list: user.skiff user.other', 'after remove: 11', '',
    ].join('\n'));
    expect(c1.listxattr(resolve(c1, 'etc/passwd'))).toEqual(['user.other']);
    expect(text(c1.getxattr(resolve(c1, 'etc/passwd'), 'user.other'))).toBe('value-two');
  });

  it('shows the umoci fixture exactly as `umoci unpack` does (whiteouts, opaque dir, hard link, long path)', async () => {
    const oracle = execFileSync('sh', ['-c', `cd '${umoci.oracle}' || exit 1; ${LISTING}`], { encoding: 'utf8' });
    await m.agent.mount({ export: 'img', target: '/mnt/img' });
    const guest = await sh(`cd /mnt/img || exit 1; ${LISTING}`);
    expect(guest.err).toBe('');
    expect(oracle.split('\n').length).toBeGreaterThan(30);
    expect(guest.out).toBe(oracle);
  });

  it('runs a crun container whose root filesystem is an export', async () => {
    await m.agent.mount({ export: 'box', target: '/run/box/rootfs' });
    const script = 'echo pid=$$; hostname; id -u; ls /; echo hi > /tmp/x; mkdir /newdir; mv /etc/passwd /etc/pw; rm /bin/sleep; cat /etc/pw';
    const p = await m.agent.run({ id: 'p9box', bundle: '/run/box', config: busyboxConfig({ args: ['/bin/sh', '-c', script], hostname: 'p9box' }) });
    const [out, err, status] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
    await m.agent.delete({ id: 'p9box', force: true });
    expect(err).toBe('');
    expect(status.exitCode).toBe(0);
    expect(out).toBe('pid=1\np9box\n0\nbin\ndev\netc\nproc\nsys\ntmp\nroot:x:0:0:root:/root:/bin/sh\n');
    // The container's writes are in the export's overlay.
    expect(readText(box, 'tmp/x')).toBe('hi\n');
    expect(box.stat(resolve(box, 'newdir')).kind).toBe('directory');
    expect(readText(box, 'etc/pw')).toContain('root');
    expect(() => resolve(box, 'etc/passwd')).toThrow(/ENOENT/);
    expect(() => resolve(box, 'bin/sleep')).toThrow(/ENOENT/);
  });

  it('never answered with EIO (no handler threw anything but FsError)', () => {
    const eio = trace.filter((l) => / ecode=5$/.test(l));
    expect(eio).toEqual([]);
  });
});
