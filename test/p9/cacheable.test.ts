/**
 * ExportOptions.cacheable: getattr answers below a cacheable export's root carry QID_CACHEABLE (the
 * guest kernel keeps those entries, vm-images/kernel/skiff-9p-cache.patch); the export's root,
 * the exports root and every other export never do.
 */
import { describe, expect, it } from 'vitest';
import { Overlay } from '../../src/fs/overlay.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { GetattrMask, QID_CACHEABLE, QidType } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { TestClient } from './client.ts';

const dir = (name: string) => ({ header: { name, type: 'directory' as const, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '', devmajor: 0, devminor: 0 }, data: new Uint8Array(0) });
const file = (name: string) => ({ header: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: 1, mtime: 0, linkname: '', devmajor: 0, devminor: 0 }, data: new Uint8Array([1]) });

function server(): TestClient {
  const s = new P9Server();
  const tree = () => new Overlay({ lower: applyLayer(null, [dir('usr'), dir('usr/lib'), file('usr/lib/x')]) });
  s.addExport('root', tree(), { cacheable: true });
  s.addExport('vol', tree());
  const c = new TestClient(s);
  c.version();
  return c;
}

const typeOf = (c: TestClient, fid: number) => c.call({ type: 'Tgetattr', fid, requestMask: GetattrMask.BASIC }).qid.type;

describe('cacheable exports', () => {
  it('mark getattr answers below the root of a cacheable export, and nothing else', () => {
    const c = server();
    c.attach(1, 'root');
    c.attach(2, 'vol');
    c.attach(3, '');
    expect(typeOf(c, 1) & QID_CACHEABLE).toBe(0); // the export's root: pinned by the guest, never marked
    c.walk(1, 10, 'usr');
    c.walk(1, 11, 'usr/lib/x');
    expect(typeOf(c, 10)).toBe(QidType.DIR | QID_CACHEABLE);
    expect(typeOf(c, 11)).toBe(QidType.FILE | QID_CACHEABLE);
    c.walk(2, 20, 'usr/lib/x');
    expect(typeOf(c, 20)).toBe(QidType.FILE);
    c.walk(3, 30, 'root');
    expect(typeOf(c, 30) & QID_CACHEABLE).toBe(0);
    expect(typeOf(c, 3) & QID_CACHEABLE).toBe(0);
    // A file with two names is not: the guest would hold an inode per name.
    c.call({ type: 'Tlink', dfid: 10, fid: 11, name: 'y' });
    expect(typeOf(c, 11)).toBe(QidType.FILE);
    // Walks keep the plain type: only getattr (what the guest caches from) says it.
    expect(c.walk(1, 12, 'usr/lib').wqids.map((q) => q.type)).toEqual([QidType.DIR, QidType.DIR]);
  });
});
