/**
 * web/worker/warm-rootfs: a container's files are read once, in the background, a chunk at a
 * time, waiting for bytes that come from an asynchronous store; hard links count once; a budget
 * bounds what is read.
 */
import { describe, expect, it } from 'vitest';
import { Overlay } from '../../src/fs/overlay.ts';
import { PendingIO } from '../../src/fs/pending-io.ts';
import { LAYER_CHUNK } from '../../src/fs/layer-data.ts';
import { warmFiles } from '../../src/web/worker/warm-rootfs.ts';

const attr = { mode: 0o755, uid: 0, gid: 0 };

/** A root with /bin/busybox (hard-linked as /bin/sh), /etc/passwd and a symlink; reads wait once per file. */
function rootfs(): { fs: Overlay; reads: Map<string, number>; waits: () => number } {
  const fs = new Overlay({ lower: null });
  const bin = fs.mkdir(fs.root(), 'bin', attr);
  const etc = fs.mkdir(fs.root(), 'etc', attr);
  const busybox = fs.create(bin, 'busybox', attr);
  fs.write(busybox, 0, new Uint8Array(300_000).fill(7));
  fs.link(bin, 'sh', busybox);
  fs.write(fs.create(etc, 'passwd', attr), 0, new TextEncoder().encode('root:x:0:0::/root:/bin/sh\n'));
  fs.symlink(fs.root(), 'init', '/bin/busybox', { uid: 0, gid: 0 });
  const reads = new Map<string, number>();
  const arrived = new Set<number>();
  let waits = 0;
  const read = fs.read.bind(fs);
  fs.read = (node, offset, length) => {
    const ino = fs.stat(node).ino;
    if (!arrived.has(ino)) {
      waits++;
      throw new PendingIO(new Promise<void>((r) => setTimeout(() => { arrived.add(ino); r(); }, 5)), `file ${ino}`);
    }
    reads.set(String(ino), (reads.get(String(ino)) ?? 0) + length);
    return read(node, offset, length);
  };
  return { fs, reads, waits: () => waits };
}

describe('warmFiles', () => {
  it('reads every regular file once, waiting for the store, and skips hard links and symlinks', async () => {
    const { fs, reads, waits } = rootfs();
    const w = await warmFiles(fs);
    expect(w).toEqual({ files: 2, bytes: 300_000 + 26 });
    expect(waits()).toBe(2);
    expect([...reads.values()].sort((a, b) => a - b)).toEqual([26, 300_000]);
  });

  it('asks for one chunk at a time, so that other reads of the store are not queued behind a whole file', async () => {
    const { fs } = rootfs();
    const asked: [number, number][] = [];
    const read = fs.read.bind(fs);
    fs.read = (node, offset, length) => {
      asked.push([offset, length]);
      return read(node, offset, length);
    };
    await warmFiles(fs);
    const busybox = asked.filter(([, n]) => n !== 26);
    expect(Math.max(...busybox.map(([, n]) => n))).toBe(LAYER_CHUNK);
    // 300 000 bytes: five chunks, each asked until it arrived, in order.
    expect([...new Set(busybox.map(([o]) => o))]).toEqual([0, 1, 2, 3, 4].map((i) => i * LAYER_CHUNK));
  });

  it('stops at the budget, reading only the part of a file that fits', async () => {
    const { fs, reads } = rootfs();
    const w = await warmFiles(fs, 1000);
    expect(w.bytes).toBe(1000);
    expect([...reads.values()].reduce((a, b) => a + b, 0)).toBe(1000);
  });
});
