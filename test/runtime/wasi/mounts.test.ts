/** The container's namespace through the worker: volumes, read-only mounts, cwd, big files, big dirs. */
import { describe, expect, it } from 'vitest';
import type { FileSystem, FsNode } from '../../../src/fs/types.ts';
import { capture, emptyOverlay, fixture } from './helpers.ts';

const attr = { mode: 0o644, uid: 0, gid: 0 };
const enc = new TextEncoder();
const dec = new TextDecoder();

function writeFile(fs: FileSystem, dir: FsNode, name: string, text: string): void {
  const n = fs.create(dir, name, attr);
  fs.write(n, 0, enc.encode(text));
}
function readFile(fs: FileSystem, path: string): string {
  let n = fs.root();
  for (const c of path.split('/').filter(Boolean)) n = fs.lookup(n, c);
  return dec.decode(fs.read(n, 0, fs.stat(n).size));
}

describe('volumes', () => {
  it('a volume is shared by two containers and visible to the caller', async () => {
    const fsops = fixture('fsops');
    const vol = emptyOverlay();
    const a = await capture({ module: fsops, args: ['fsops', 'write', '/data/msg', 'from a', 'ls', '/', 'ls', '/data'], mounts: [{ path: '/', fs: emptyOverlay() }, { path: '/data', fs: vol }] });
    // "/data" does not exist in the root filesystem: the mount point still lists.
    expect(a.stdout).toBe('ok\ndata\nmsg\n');
    expect(readFile(vol, '/msg')).toBe('from a');
    const b = await capture({ module: fsops, args: ['fsops', 'cat', '/srv/vol/msg', 'append', '/srv/vol/msg', '+b'], mounts: [{ path: '/', fs: emptyOverlay() }, { path: '/srv/vol', fs: vol }] });
    expect(b.stdout).toBe('from a\nok\n');
    expect(readFile(vol, '/msg')).toBe('from a+b');
  });

  it('read-only volumes refuse writes with EROFS; cross-mount rename is EXDEV; a mount point is EBUSY', async () => {
    const vol = emptyOverlay();
    writeFile(vol, vol.root(), 'conf', 'setting=1');
    const rootfs = emptyOverlay();
    writeFile(rootfs, rootfs.root(), 'top.txt', 'top');
    const r = await capture({
      module: fixture('fsops'),
      args: ['fsops', 'cat', '/etc/app/conf', 'write', '/etc/app/conf', 'x', 'mkdir', '/etc/app/d', 'mv', '/top.txt', '/w/top.txt', 'rmdir', '/w', 'cat', '/w/../top.txt', 'ln-s', '/etc/app/conf', '/link', 'cat', '/link'],
      mounts: [{ path: '/', fs: rootfs }, { path: '/etc/app', fs: vol, readOnly: true }, { path: '/w', fs: emptyOverlay() }],
    });
    expect(r.stdout).toBe(['setting=1', 'errno EROFS', 'errno EROFS', 'errno EXDEV', 'errno EBUSY', 'top', 'ok', 'setting=1', ''].join('\n'));
    expect(readFile(vol, '/conf')).toBe('setting=1');
  });
});

describe('working directory', () => {
  it('is created and passed as PWD; absolute paths still resolve from the root', async () => {
    const fs = emptyOverlay();
    const r = await capture({ module: fixture('fsops'), args: ['fsops', 'env', 'PWD', 'write', '/app/abs.txt', 'here', 'cat', '/app/abs.txt', 'write', 'rel.txt', 'r'], cwd: '/app', mounts: [{ path: '/', fs }] });
    expect(r.stdout).toBe('/app\nok\nhere\nok\n');
    expect(readFile(fs, '/app/abs.txt')).toBe('here');
    // wasi-libc has no initial cwd: a relative path is relative to "/" (documented limitation).
    expect(readFile(fs, '/rel.txt')).toBe('r');
  });

  it('a cwd that is a file is a clear error', async () => {
    const fs = emptyOverlay();
    writeFile(fs, fs.root(), 'f', '');
    await expect(capture({ module: fixture('fsops'), args: ['fsops'], cwd: '/f', mounts: [{ path: '/', fs }] })).rejects.toThrow(/working directory "\/f"/);
  });
});

describe('through the channel', () => {
  it('moves files larger than the channel buffer both ways', async () => {
    const fs = emptyOverlay();
    const r = await capture({ module: fixture('fsops'), args: ['fsops', 'big', '/f', '3', 'sum', '/f'], mounts: [{ path: '/', fs }] });
    const n = fs.lookup(fs.root(), 'f');
    const bytes = fs.read(n, 0, fs.stat(n).size);
    expect(bytes.length).toBe(3 << 20);
    expect([bytes[0], bytes[(1 << 20) + 5], bytes[(3 << 20) - 1]]).toEqual([97, 98, 99]);
    let s = 0n;
    for (const b of bytes) s = (s * 131n + BigInt(b)) & 0xffffffffffffffffn;
    expect(r.stdout).toBe(`ok\n${3 << 20} bytes sum ${s}\n`);
  });

  it('lists a directory of 500 entries (readdir cookies across buffer refills)', async () => {
    const fs = emptyOverlay();
    const d = fs.mkdir(fs.root(), 'many', { mode: 0o755, uid: 0, gid: 0 });
    const names: string[] = [];
    for (let i = 0; i < 500; i++) {
      const name = `file-with-a-longish-name-${String(i).padStart(4, '0')}`;
      names.push(name);
      writeFile(fs, d, name, '');
    }
    const r = await capture({ module: fixture('fsops'), args: ['fsops', 'ls', '/many'], mounts: [{ path: '/', fs }] });
    expect(r.stdout).toBe(names.sort().join(' ') + '\n');
  });

  it('traces every WASI and filesystem call when asked', async () => {
    const lines: string[] = [];
    await capture({ module: fixture('fsops'), args: ['fsops', 'stat', '/nope'], mounts: [{ path: '/', fs: emptyOverlay() }], trace: (l) => lines.push(l) });
    expect(lines[0]).toBe('fs 0.root()');
    expect(lines.some((l) => /^fs 0\.lookup\(1, "nope"\)$/.test(l))).toBe(true);
    // path_filestat_get on fd 3 (the "/" preopen) failing with WASI ENOENT (44).
    expect(lines.some((l) => /^wasi path_filestat_get\(3, 0, \d+, 4, \d+\) = 44$/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('wasi fd_write(1, '))).toBe(true);
  });
});

describe('concurrent containers', () => {
  it('three modules at once, each in its own worker, append to one shared volume', async () => {
    const vol = emptyOverlay();
    writeFile(vol, vol.root(), 'log', '');
    const runs = ['a', 'b', 'c'].map((id) =>
      capture({ module: fixture('fsops'), args: ['fsops', 'append', '/v/log', `${id}\n`, 'write', `/mine-${id}`, id, 'ls', '/'], mounts: [{ path: '/', fs: emptyOverlay() }, { path: '/v', fs: vol }] }),
    );
    const results = await Promise.all(runs);
    results.forEach((r, i) => expect(r.stdout).toBe(`ok\nok\nmine-${'abc'[i]} v\n`));
    expect(readFile(vol, '/log').split('\n').filter(Boolean).sort()).toEqual(['a', 'b', 'c']);
  });
});
