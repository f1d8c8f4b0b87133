/**
 * Shared image files (src/p9/share.ts) across a VM snapshot: the restored guest still holds the
 * inodes (and pages) of the ids it was given, so a server in a new process must keep giving each
 * of those files its id, and new files new ones. Without the ids in the saved state, the first
 * file the new server met would take id 1 and the guest would serve it the pages of the old one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TarEntry } from '../../src/archive/types.ts';
import { ChunkCache } from '../../src/fs/chunk-cache.ts';
import { FileContent } from '../../src/fs/file-content.ts';
import { applyLayer, type LayerEntry } from '../../src/fs/layer.ts';
import { ChunkHasher, LayerData } from '../../src/fs/layer-data.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { P9Server, type P9ServerState } from '../../src/p9/server.ts';
import { Machine } from '../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../src/node.ts';
import { sealSnapshot, type VmSnapshotStore } from '../../src/runtime/vm/snapshot-store.ts';
import { requireTool } from '../helpers/peers.ts';
import { dir } from '../fs/helpers.ts';

const machines: Machine[] = [];
afterAll(async () => {
  for (const m of machines) await m.shutdown();
});

/** Two files of 40 KB each, distinct bytes, as ranges of one layer copy named `sha256:share-test`. */
const A = Uint8Array.from({ length: 40_000 }, (_, i) => 65 + (i % 26));
const B = Uint8Array.from({ length: 40_000 }, (_, i) => 97 + ((i * 7) % 26));

/** The image as a new process would build it: a new LayerData over the same copy. */
function image() {
  const all = new Uint8Array(A.length + B.length);
  all.set(A, 0);
  all.set(B, A.length);
  const h = new ChunkHasher();
  h.update(all);
  const data = new LayerData('sha256:share-test', all.length, h.finish(), { read: async (o, n) => all.slice(o, o + n), readSync: (o, n) => all.slice(o, o + n) }, new ChunkCache());
  const file = (name: string, offset: number, size: number): LayerEntry => ({
    header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 1_000, linkname: '', devmajor: 0, devminor: 0 },
    data: new Uint8Array(0), content: FileContent.fromLayer(data, offset, size),
  });
  const entries: TarEntry[] = [dir('lib'), file('lib/a', 0, A.length), file('lib/b', A.length, B.length)];
  return applyLayer(null, entries);
}

function server(): P9Server {
  const s = new P9Server({ shareImageFiles: true });
  s.addExport('c1', new Overlay({ lower: image() }), { cacheable: true });
  s.addExport('c2', new Overlay({ lower: image() }), { cacheable: true });
  return s;
}

function buildProbe(): Uint8Array {
  const d = mkdtempSync(join(tmpdir(), 'shareprobe-'));
  try {
    execFileSync(requireTool('clang-16', 'clang-16'), [
      '--target=i386-linux-gnu', '-ffreestanding', '-nostdlib', '-static', '-fno-pic', '-O1',
      '-fuse-ld=/usr/lib/llvm-16/bin/ld.lld', '-o', join(d, 'p'), new URL('./fixtures/shareprobe.c', import.meta.url).pathname,
    ]);
    return readFileSync(join(d, 'p'));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

async function sh(m: Machine, script: string): Promise<string> {
  const p = await m.agent.spawn({ args: ['/bin/busybox', 'sh', '-c', script] });
  const [out, err, st] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
  if (st.exitCode !== 0) throw new Error(`guest: exit ${st.exitCode}: ${err}`);
  return out;
}

const md5 = (b: Uint8Array) => execFileSync('md5sum', { input: b }).toString().split(' ')[0];
/** inode and md5 of the bytes a mapping of `path` shows. */
const VIEW = (path: string) => `echo $(stat -c %i ${path}) $(/tmp/probe map ${path} | md5sum | cut -d' ' -f1)`;

describe('shared image files across a VM snapshot', () => {
  it('a restored guest keeps each shared file\'s inode and pages; a file first seen after the restore gets a new id', async () => {
    const probe = buildProbe();
    const before = server();
    const m1 = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), handle9p: (r) => before.handle(r), snapshots: null });
    machines.push(m1);
    await m1.agent.mkdir({ path: '/run/skiff/9p' });
    await m1.agent.mount({ export: 'c1', target: '/mnt/c1' });
    await m1.agent.mount({ export: 'c2', target: '/mnt/c2' });
    await m1.agent.writeFile({ path: '/tmp/probe', data: probe });
    await sh(m1, 'chmod 755 /tmp/probe');
    const a1 = await sh(m1, VIEW('/mnt/c1/lib/a'));
    expect(a1.split(' ')[1]!.trim()).toBe(md5(A));
    expect(await sh(m1, VIEW('/mnt/c2/lib/a'))).toBe(a1);

    const snapshot = await m1.saveSnapshot();
    const state = JSON.parse(JSON.stringify(before.saveState())) as P9ServerState;
    await m1.shutdown();

    // A new process: new overlays and layer objects, ids known only from the saved state.
    const after = server();
    const c = after.lookupExport('c1')!.fs;
    expect(c.imageFileKey!(c.lookup(c.lookup(c.root(), 'lib'), 'b'))).toEqual(expect.any(String));
    after.restoreState(state);
    const store: VmSnapshotStore = { get: (key) => sealSnapshot(key, snapshot.state), put: async () => {}, delete: async () => {} };
    const m2 = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), handle9p: (r) => after.handle(r), snapshots: store });
    machines.push(m2);
    expect(m2.boot.restored).toBe(true);
    const b2 = await sh(m2, VIEW('/mnt/c2/lib/b'));
    expect(b2.split(' ')[1]!.trim()).toBe(md5(B));
    expect(b2.split(' ')[0]).not.toBe(a1.split(' ')[0]);
    expect(await sh(m2, VIEW('/mnt/c1/lib/b'))).toBe(b2);
    expect(await sh(m2, VIEW('/mnt/c2/lib/a'))).toBe(a1);
    expect(await sh(m2, VIEW('/mnt/c1/lib/a'))).toBe(a1);
  }, 300_000);
});
