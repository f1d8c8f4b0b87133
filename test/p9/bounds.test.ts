/**
 * Issue 10 Medium 5, 9P parts: what a guest can make the host hold is bounded. xattr buffers of
 * all fids together, lock records per export (and a lock costs a search, not a scan), readdir
 * listings kept on fids.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/fs/errno.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { MAX_LISTED_ENTRIES, MAX_XATTR_BYTES } from '../../src/p9/fids.ts';
import { MAX_LOCKS } from '../../src/p9/locks.ts';
import { OpenFlags } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { setup, TestClient } from './client.ts';

describe('9P server bounds', () => {
  it('bounds the xattr buffers all fids hold, and gives the budget back at clunk', () => {
    const { server, c } = setup();
    let refused = 0;
    for (let f = 1; f <= 200; f++) {
      c.walk(0, f, 'etc/passwd');
      try {
        c.call({ type: 'Txattrcreate', fid: f, name: 'user.big', attrSize: 65536, flags: 0 });
      } catch {
        expect(c.errno({ type: 'Txattrcreate', fid: f, name: 'user.big', attrSize: 65536, flags: 0 })).toBe(Errno.ENOSPC);
        refused++;
      }
    }
    expect(refused).toBe(200 - MAX_XATTR_BYTES / 65536);
    expect(server.fids.xattrBytes).toBe(MAX_XATTR_BYTES);
    for (let f = 1; f <= 10; f++) c.raw({ type: 'Tclunk', tag: 1, fid: f }); // incomplete: EINVAL, but the fid and its buffer are gone
    expect(server.fids.xattrBytes).toBe(MAX_XATTR_BYTES - 10 * 65536);
    c.call({ type: 'Txattrcreate', fid: 199, name: 'user.big', attrSize: 65536, flags: 0 });
    // Txattrwalk results count too; a new session (Tversion) frees everything.
    c.version();
    expect(server.fids.xattrBytes).toBe(0);
  });

  it('bounds lock records per export and sets each in logarithmic time', () => {
    const { server, c } = setup();
    c.walk(0, 1, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.RDWR });
    const lock = (start: number, procId = 7) => c.raw({ type: 'Tlock', tag: 1, fid: 1, lockType: 1, flags: 0, start, length: 1, procId, clientId: 'g' });
    const t0 = performance.now();
    for (let i = 0; i < MAX_LOCKS; i++) expect(lock(i * 2).type).toBe('Rlock');
    const perLock = (performance.now() - t0) / MAX_LOCKS;
    expect(lock(MAX_LOCKS * 2)).toMatchObject({ type: 'Rlerror', ecode: Errno.ENOLCK });
    // Replacing a held range does not grow the table; another owner is still checked against every range.
    expect(lock(0).type).toBe('Rlock');
    expect(c.call({ type: 'Tgetlock', fid: 1, lockType: 1, start: 2 * 5000, length: 1, procId: 8, clientId: 'g' })).toMatchObject({ lockType: 1, start: 10000, procId: 7 });
    expect(c.call({ type: 'Tgetlock', fid: 1, lockType: 1, start: 2 * 5000 + 1, length: 1, procId: 8, clientId: 'g' }).lockType).toBe(2);
    // Well under the old O(n) scan per lock (20,000 locks took 4.9 s: ~250 us each at the end).
    expect(perLock).toBeLessThan(100);
    c.call({ type: 'Tclunk', fid: 1 });
    expect(server.fids.size).toBe(1);
    c.walk(0, 2, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 2, flags: OpenFlags.RDWR });
    expect(c.call({ type: 'Tlock', fid: 2, lockType: 1, flags: 0, start: 0, length: 0, procId: 9, clientId: 'g' }).status).toBe(0);
  });

  it('passes an export quota on to the guest: ENOSPC for a write, the limit in Tstatfs', () => {
    const fs = new Overlay({ lower: null, quota: { bytes: 1 << 20, inodes: 50 } });
    const server = new P9Server();
    server.addExport('q', fs);
    const c = new TestClient(server);
    c.version();
    c.attach(0, 'q');
    c.walk(0, 1, '');
    c.call({ type: 'Tlcreate', fid: 1, name: 'f', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 });
    c.call({ type: 'Twrite', fid: 1, offset: 0, data: new Uint8Array(60000) });
    expect(c.errno({ type: 'Twrite', fid: 1, offset: (1 << 20) - 10, data: new Uint8Array(100) })).toBe(Errno.ENOSPC);
    expect(c.call({ type: 'Tstatfs', fid: 0 })).toMatchObject({ bsize: 4096, blocks: 256, bfree: 256 - 15, bavail: 256 - 15, files: 50, ffree: 48 });
  });

  it('bounds the readdir listings kept on fids: the least recently listed lists again', () => {
    const fs = new Overlay({ lower: null });
    const big = fs.mkdir(fs.root(), 'big', { mode: 0o755, uid: 0, gid: 0 });
    for (let i = 0; i < 5000; i++) fs.create(big, `f${i}`, { mode: 0o644, uid: 0, gid: 0 });
    const server = new P9Server();
    server.addExport('x', fs);
    const c = new TestClient(server);
    c.version();
    c.attach(0, 'x');
    const fids = Math.ceil(MAX_LISTED_ENTRIES / 5002) + 5;
    const first: number[] = [];
    for (let f = 1; f <= fids; f++) {
      c.walk(0, f, 'big');
      c.call({ type: 'Tlopen', fid: f, flags: OpenFlags.RDONLY | OpenFlags.DIRECTORY });
      first.push(c.call({ type: 'Treaddir', fid: f, offset: 0, count: 256 }).data.length);
      expect(server.fids.listedEntries).toBeLessThanOrEqual(MAX_LISTED_ENTRIES);
    }
    // Fid 1's listing was dropped: it lists again, all entries once.
    const { entries } = c.readdirAll(1);
    expect(entries.length).toBe(5002);
    expect(new Set(entries.map((e) => e.name)).size).toBe(5002);
    expect(server.fids.listedEntries).toBeLessThanOrEqual(MAX_LISTED_ENTRIES);
    for (let f = 1; f <= fids; f++) c.call({ type: 'Tclunk', fid: f });
    expect(server.fids.listedEntries).toBe(0);
  });
});
