import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/fs/errno.ts';
import { decode, encode } from '../../src/p9/codec.ts';
import { OpenFlags, type RMessage, type TMessage } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { bytes, dumpFs } from '../fs/helpers.ts';
import { rng, setup } from './client.ts';
import { nodeVmRuntime } from '../../src/node.ts';

describe('P9Server under hostile input', () => {
  it('answers random bytes with Rlerror, never an exception', () => {
    const { server } = setup();
    const rand = rng(7);
    const codes = [0, 6, 8, 12, 14, 16, 18, 20, 22, 24, 26, 30, 32, 40, 50, 52, 54, 70, 72, 74, 76, 100, 102, 104, 108, 110, 116, 118, 120, 122, 255];
    for (let i = 0; i < 4000; i++) {
      const len = Math.floor(rand() * 48);
      const req = new Uint8Array(len).map(() => Math.floor(rand() * 256));
      if (len >= 7) {
        new DataView(req.buffer).setUint32(0, rand() < 0.8 ? len : Math.floor(rand() * 2 ** 32), true);
        req[4] = codes[Math.floor(rand() * codes.length)]!;
      }
      const reply = decode(server.handle(req)) as RMessage;
      expect(reply.type.startsWith('R')).toBe(true);
      if (len >= 7) expect(reply.tag).toBe(req[5]! | (req[6]! << 8));
    }
    // Replies are not requests; a short header gets NOTAG.
    expect(decode(server.handle(encode({ type: 'Rclunk', tag: 4 })))).toEqual({ type: 'Rlerror', tag: 4, ecode: Errno.EOPNOTSUPP });
    expect(decode(server.handle(new Uint8Array(3)))).toEqual({ type: 'Rlerror', tag: 0xffff, ecode: Errno.EPROTO });
  });

  it('survives random sequences of well-formed requests and leaves a consistent filesystem', () => {
    const lines: string[] = [];
    const { fs, server, c } = setup({ trace: (l) => lines.push(l) });
    const rand = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const names = ['a', 'b', 'etc', 'usr', 'passwd', '..', '.', '', 'x/y', 'n\0ul', 'hostname', 'share', 'doc', 'bin', 'sh'];
    const fid = () => Math.floor(rand() * 10);
    const num = () => pick([0, 1, 7, 4096, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 40, Number.MAX_SAFE_INTEGER]);
    const u32 = () => pick([0, 1, 7, 0o644, 0o40755, 0o20666, 0o100644, 0x200, 2 ** 32 - 1]);
    const makers: (() => TMessage)[] = [
      () => ({ type: 'Twalk', tag: 1, fid: fid(), newfid: fid(), wnames: Array.from({ length: Math.floor(rand() * 4) }, () => pick(names)) }),
      () => ({ type: 'Tlopen', tag: 1, fid: fid(), flags: pick([0, 1, 2, 3, OpenFlags.TRUNC | 1, OpenFlags.DIRECTORY, OpenFlags.APPEND | 2]) }),
      () => ({ type: 'Tlcreate', tag: 1, fid: fid(), name: pick(names), flags: pick([0, 1, 2, 0o302]), mode: u32(), gid: 0 }),
      () => ({ type: 'Tread', tag: 1, fid: fid(), offset: num(), count: u32() }),
      () => ({ type: 'Twrite', tag: 1, fid: fid(), offset: num(), data: bytes('hello') }),
      () => ({ type: 'Treaddir', tag: 1, fid: fid(), offset: num(), count: u32() }),
      () => ({ type: 'Tgetattr', tag: 1, fid: fid(), requestMask: 0x3fff }),
      () => ({ type: 'Tsetattr', tag: 1, fid: fid(), valid: u32(), mode: u32(), uid: u32(), gid: u32(), size: num(), atimeSec: num(), atimeNsec: num(), mtimeSec: 1, mtimeNsec: 2 }),
      () => ({ type: 'Tmkdir', tag: 1, dfid: fid(), name: pick(names), mode: u32(), gid: 0 }),
      () => ({ type: 'Tmknod', tag: 1, dfid: fid(), name: pick(names), mode: u32(), major: u32(), minor: u32(), gid: 0 }),
      () => ({ type: 'Tsymlink', tag: 1, fid: fid(), name: pick(names), symtgt: pick(names), gid: 0 }),
      () => ({ type: 'Tlink', tag: 1, dfid: fid(), fid: fid(), name: pick(names) }),
      () => ({ type: 'Trename', tag: 1, fid: fid(), dfid: fid(), name: pick(names) }),
      () => ({ type: 'Trenameat', tag: 1, olddirfid: fid(), oldname: pick(names), newdirfid: fid(), newname: pick(names) }),
      () => ({ type: 'Tunlinkat', tag: 1, dirfid: fid(), name: pick(names), flags: pick([0, 0x200, 1]) }),
      () => ({ type: 'Treadlink', tag: 1, fid: fid() }),
      () => ({ type: 'Txattrwalk', tag: 1, fid: fid(), newfid: fid(), name: pick(['', 'user.a', 'user.b']) }),
      () => ({ type: 'Txattrcreate', tag: 1, fid: fid(), name: pick(['user.a', '', 'security.x']), attrSize: pick([0, 3, 70000]), flags: pick([0, 1, 2, 3]) }),
      () => ({ type: 'Tlock', tag: 1, fid: fid(), lockType: pick([0, 1, 2, 9]), flags: 0, start: num(), length: num(), procId: u32(), clientId: 'g' }),
      () => ({ type: 'Tgetlock', tag: 1, fid: fid(), lockType: pick([0, 1, 2]), start: num(), length: num(), procId: u32(), clientId: 'g' }),
      () => ({ type: 'Tclunk', tag: 1, fid: fid() }),
      () => ({ type: 'Tremove', tag: 1, fid: fid() }),
      () => ({ type: 'Tstatfs', tag: 1, fid: fid() }),
      () => ({ type: 'Tfsync', tag: 1, fid: fid(), datasync: 0 }),
      () => ({ type: 'Tattach', tag: 1, fid: fid(), afid: 0xffffffff, uname: 'u', aname: pick(['rootfs', '', 'x']), nUname: 0 }),
      () => ({ type: 'Tflush', tag: 1, oldtag: 3 }),
    ];
    let ok = 0;
    const errnos = new Map<number, number>();
    for (let i = 0; i < 6000; i++) {
      const reply = c.raw(pick(makers)());
      if (reply.type === 'Rlerror') {
        expect(reply.ecode).toBeGreaterThan(0);
        errnos.set(reply.ecode, (errnos.get(reply.ecode) ?? 0) + 1);
      } else ok++;
      // Keep the root fid alive so the walk has somewhere to start.
      if (i % 50 === 0) { c.raw({ type: 'Tclunk', tag: 2, fid: 0 }); c.attach(0, 'rootfs'); }
    }
    expect(ok).toBeGreaterThan(500);
    // EIO would mean an exception other than FsError escaped a handler.
    expect(errnos.get(Errno.EIO) ?? 0).toBe(0);
    expect(lines.length).toBeGreaterThan(12000);
    expect(lines.some((l) => l.startsWith('9p <- Twalk tag='))).toBe(true);
    // The filesystem is still whole: every path walks, and nothing escaped to a new root.
    expect(dumpFs(fs).length).toBeGreaterThan(5);
    expect(server.fids.size).toBeLessThanOrEqual(10);
  });

  it('refuses huge sizes with EFBIG instead of growing the layer', () => {
    const { c } = setup({ maxFileSize: 1 << 20 });
    c.walk(0, 1, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.RDWR });
    expect(c.errno({ type: 'Twrite', fid: 1, offset: 2 ** 40, data: bytes('x') })).toBe(Errno.EFBIG);
    const zero = { mode: 0, uid: 0, gid: 0, atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0 };
    expect(c.errno({ type: 'Tsetattr', fid: 1, valid: 0x8, size: 2 ** 50, ...zero })).toBe(Errno.EFBIG);
    c.call({ type: 'Tsetattr', fid: 1, valid: 0x8, size: 1 << 20, ...zero });
    // Reads far past the end are empty, not errors.
    expect(c.call({ type: 'Tread', fid: 1, offset: Number.MAX_SAFE_INTEGER, count: 0xffffffff }).data.length).toBe(0);
  });

  it('turns tracing on from SKIFF_TRACE=9p (src/node.ts reads it for the VM runtime\'s server)', async () => {
    const old = process.env['SKIFF_TRACE'];
    const logged: unknown[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void logged.push(a.join(' '));
    try {
      process.env['SKIFF_TRACE'] = 'vm,9p';
      (await nodeVmRuntime()).server.handle(encode({ type: 'Tclunk', tag: 1, fid: 1 }));
      process.env['SKIFF_TRACE'] = 'vm';
      (await nodeVmRuntime()).server.handle(encode({ type: 'Tclunk', tag: 1, fid: 1 }));
      new P9Server().handle(encode({ type: 'Tclunk', tag: 1, fid: 1 }));
    } finally {
      console.error = orig;
      if (old === undefined) delete process.env['SKIFF_TRACE'];
      else process.env['SKIFF_TRACE'] = old;
    }
    expect(logged).toEqual([
      '9p <- Tclunk tag=1 fid=1', '9p !! Tclunk: EPROTO: Tclunk before Tversion', '9p -> Rlerror tag=1 ecode=71',
    ]);
  });

  it('writes one trace line per message in and out', () => {
    const lines: string[] = [];
    const server = new P9Server({ trace: (l) => lines.push(l) });
    server.handle(encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' }));
    server.handle(encode({ type: 'Twalk', tag: 3, fid: 1, newfid: 2, wnames: ['etc', 'passwd'] }));
    expect(lines).toEqual([
      '9p <- Tversion tag=65535 msize=8192 version="9P2000.L"',
      '9p -> Rversion tag=65535 msize=8192 version="9P2000.L"',
      '9p <- Twalk tag=3 fid=1 newfid=2 wnames=["etc" "passwd"]',
      '9p !! Twalk: EBADF: fid 1 is not in use',
      '9p -> Rlerror tag=3 ecode=9',
    ]);
  });
});
