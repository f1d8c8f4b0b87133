/**
 * Issue 10 Medium 5: the writable layer's quota. Writes, truncates, creates and copy-ups past it
 * fail with ENOSPC and change nothing; statfs reports the limit and the usage; removing files
 * gives the space back.
 */
import { describe, expect, it } from 'vitest';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { bytes, dir, errno, file, resolve } from './helpers.ts';

const A = { mode: 0o644, uid: 0, gid: 0 };
const MiB = 1 << 20;

describe('Overlay quota', () => {
  it('refuses writes past the byte limit with ENOSPC and reports the truth in statfs', () => {
    const fs = new Overlay({ lower: null, quota: { bytes: 4 * MiB, inodes: 100 } });
    expect(fs.statfs()).toMatchObject({ blockSize: 4096, blocks: 1024, blocksFree: 1024, files: 100 });
    const f = fs.create(fs.root(), 'big', A);
    const chunk = new Uint8Array(MiB).fill(7);
    for (let k = 0; k < 4; k++) fs.write(f, k * MiB, chunk);
    expect(errno(() => fs.write(f, 4 * MiB, bytes('x')))).toBe('ENOSPC');
    expect(fs.stat(f).size).toBe(4 * MiB);
    expect(errno(() => fs.setattr(f, { size: 4 * MiB + 1 }))).toBe('ENOSPC');
    expect(fs.statfs()).toMatchObject({ blocks: 1024, blocksFree: 0 });
    // Overwriting in place costs nothing; shrinking and unlinking give space back.
    fs.write(f, 0, chunk);
    fs.setattr(f, { size: 3 * MiB });
    expect(fs.statfs().blocksFree).toBe(256);
    const g = fs.create(fs.root(), 'g', A);
    fs.write(g, 0, chunk);
    expect(errno(() => fs.write(g, MiB, bytes('x')))).toBe('ENOSPC');
    fs.unlink(fs.root(), 'big');
    expect(fs.statfs().blocksFree).toBe(3 * 256);
    fs.write(g, MiB, chunk);
  });

  it('counts inodes, and a copy-up at the whole size of the lower file', () => {
    const lower = applyLayer(null, [dir('etc'), file('etc/big', new Uint8Array(3 * MiB)), file('etc/small', 'x')]);
    const fs = new Overlay({ lower, quota: { bytes: 2 * MiB, inodes: 4 } });
    // The root is the one inode the upper starts with.
    expect(fs.statfs()).toMatchObject({ files: 4, filesFree: 3 });
    expect(errno(() => fs.setattr(resolve(fs, 'etc/big'), { mode: 0o600 }))).toBe('ENOSPC');
    expect(fs.stat(resolve(fs, 'etc/big')).mode).toBe(0o644);
    fs.setattr(resolve(fs, 'etc/small'), { mode: 0o600 }); // copies up etc and small: 3 inodes
    fs.create(fs.root(), 'one', A);
    expect(errno(() => fs.create(fs.root(), 'two', A))).toBe('ENOSPC');
    expect(errno(() => fs.mkdir(fs.root(), 'two', A))).toBe('ENOSPC');
    expect(errno(() => fs.symlink(fs.root(), 'two', 'x', A))).toBe('ENOSPC');
    expect(fs.readdir(fs.root()).map((e) => e.name).sort()).toEqual(['etc', 'one']);
    fs.unlink(fs.root(), 'one');
    fs.symlink(fs.root(), 'two', 'x', A);
  });

  it('starts from what a restored upper already holds, and refuses a bad quota', () => {
    const fs = Overlay.fromUpper({ lower: null, entries: [file('kept', new Uint8Array(MiB))], quota: { bytes: 2 * MiB } });
    expect(fs.statfs().blocksFree).toBe(256);
    expect(errno(() => fs.write(resolve(fs, 'kept'), MiB, new Uint8Array(MiB + 1)))).toBe('ENOSPC');
    expect(errno(() => new Overlay({ lower: null, quota: { bytes: -1 } }))).toBe('EINVAL');
  });
});
