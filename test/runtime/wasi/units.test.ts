/** Small sans-IO pieces: errno mapping, the memory-limit rewrite, the filestat layout. */
import { describe, expect, it } from 'vitest';
import { wasi } from '@bjorn3/browser_wasi_shim';
import { Errno, FsError } from '../../../src/fs/errno.ts';
import { limitMemory, wasiErrno, wasiErrnoFromLinux } from '../../../src/runtime/wasi/index.ts';
import { writeFilestat } from '../../../src/runtime/wasi/filestat.ts';
import { fixture } from './helpers.ts';

describe('errno', () => {
  it('maps Linux errno to WASI errno by name, not number', () => {
    expect(wasiErrnoFromLinux(Errno.ENOENT)).toBe(wasi.ERRNO_NOENT);
    expect(wasiErrnoFromLinux(Errno.ENOTEMPTY)).toBe(wasi.ERRNO_NOTEMPTY);
    expect(wasiErrnoFromLinux(Errno.EXDEV)).toBe(wasi.ERRNO_XDEV);
    expect(wasiErrnoFromLinux(Errno.EROFS)).toBe(wasi.ERRNO_ROFS);
    expect(wasiErrno(new FsError('ELOOP'))).toBe(wasi.ERRNO_LOOP);
    // An FsError that crossed a worker boundary as a plain object.
    expect(wasiErrno({ name: 'FsError', errno: Errno.EEXIST })).toBe(wasi.ERRNO_EXIST);
  });
  it('reports anything else as EIO and tells the caller', () => {
    const seen: unknown[] = [];
    expect(wasiErrno(new TypeError('bug'), (e) => seen.push(e))).toBe(wasi.ERRNO_IO);
    expect(seen).toHaveLength(1);
    expect(wasiErrnoFromLinux(9999)).toBe(wasi.ERRNO_IO);
  });
});

describe('limitMemory', () => {
  it('sets the maximum of the defined memory and keeps every other byte', async () => {
    const bytes = fixture('hello');
    const out = limitMemory(bytes, 100);
    const mod = await WebAssembly.compile(out as Uint8Array<ArrayBuffer>);
    const inst = await WebAssembly.instantiate(mod, { wasi_snapshot_preview1: new Proxy({}, { get: () => () => 0 }) });
    const mem = inst.exports['memory'] as WebAssembly.Memory;
    const pages = mem.buffer.byteLength / 65536;
    expect(() => mem.grow(100 - pages)).not.toThrow();
    expect(() => mem.grow(1)).toThrow(RangeError);
    // Unlimited original grows past it.
    const free = await WebAssembly.instantiate(await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>), { wasi_snapshot_preview1: new Proxy({}, { get: () => () => 0 }) });
    expect(() => (free.exports['memory'] as WebAssembly.Memory).grow(200)).not.toThrow();
  });
  it('names what is wrong with bad input', () => {
    expect(() => limitMemory(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 10)).toThrow(/missing \\0asm magic/);
    expect(() => limitMemory(fixture('hello'), 0)).toThrow(/must be 1\.\.65536/);
    const truncated = fixture('hello').subarray(0, 40);
    expect(() => limitMemory(truncated, 10)).toThrow(/runs past the end|truncated/);
  });
});

describe('filestat', () => {
  it('writes times at offsets 40/48/56 (the shim writes 38/46/52)', () => {
    const view = new DataView(new ArrayBuffer(64));
    writeFilestat(view, 0, { dev: 1, ino: 2, filetype: 4, nlink: 3, size: 5, atimNs: 6n, mtimNs: 7n, ctimNs: 8n });
    expect([0, 8, 24, 32, 40, 48, 56].map((o) => view.getBigUint64(o, true))).toEqual([1n, 2n, 3n, 5n, 6n, 7n, 8n]);
    expect(view.getUint8(16)).toBe(4);
  });
});

describe('fd_filestat_set_times', () => {
  it('ATIM_NOW takes the clock, an omitted time is kept, ATIM with ATIM_NOW is EINVAL', async () => {
    const { Overlay } = await import('../../../src/fs/overlay.ts');
    const { Namespace } = await import('../../../src/runtime/wasi/namespace.ts');
    const { FsFileFd } = await import('../../../src/runtime/wasi/file-fd.ts');
    const fs = new Overlay({ lower: null });
    const node = fs.create(fs.root(), 'f', { mode: 0o644, uid: 0, gid: 0 });
    fs.setattr(node, { atimeMs: 1e12, mtimeMs: 1.1e12 });
    const ns = new Namespace([{ path: '/', fs }]);
    const fd = new FsFileFd({ mount: ns.root, node, path: '/f' }, { read: true, write: true, append: false });
    const before = Date.now();
    expect(fd.fd_filestat_set_times(0n, 0n, wasi.FSTFLAGS_ATIM_NOW)).toBe(wasi.ERRNO_SUCCESS);
    let st = fs.stat(node);
    expect(st.atimeMs).toBeGreaterThanOrEqual(before);
    expect(st.mtimeMs).toBe(1.1e12);
    expect(fd.fd_filestat_set_times(0n, 1_234_567_890_123_456_789n, wasi.FSTFLAGS_MTIM)).toBe(wasi.ERRNO_SUCCESS);
    st = fs.stat(node);
    expect(st.mtimeMs).toBeCloseTo(1_234_567_890_123.4568, 3);
    expect(fd.wasiFilestat().mtimNs / 1000n).toBe(1_234_567_890_123_456n);
    expect(fd.fd_filestat_set_times(5n, 0n, wasi.FSTFLAGS_ATIM | wasi.FSTFLAGS_ATIM_NOW)).toBe(wasi.ERRNO_INVAL);
  });
});

describe('channel', () => {
  it('carries values, bytes and errors, in pieces when a reply is larger than the buffer', async () => {
    const { ChannelClient, ChannelServer, createChannelBuffer } = await import('../../../src/runtime/wasi/channel.ts');
    // A 64-byte payload area: every reply below needs several "more" round trips.
    const sab = createChannelBuffer(64);
    const server = new ChannelServer(sab);
    const big = Array.from({ length: 100 }, (_, i) => ({ name: `entry-${i}`, ino: i }));
    const bytes = new Uint8Array(1000).map((_, i) => i & 0xff);
    let pieces = 0;
    // The server answers synchronously inside post(), so the client's Atomics.wait returns at once.
    const client = new ChannelClient(sab, (m) => {
      if (m.op === 'more') {
        pieces++;
        return server.replyMore();
      }
      if (m.op === 'json') return server.replyValue(big);
      if (m.op === 'bytes') return server.replyValue(bytes);
      if (m.op === 'fs-error') return server.replyError(new FsError('ENOTEMPTY', 'dir'));
      return server.replyError(new Error('host bug'));
    });
    expect(client.call(0, 'json', [])).toEqual(big);
    expect(pieces).toBeGreaterThan(10);
    expect(client.call(0, 'bytes', [])).toEqual(bytes);
    expect(() => client.call(0, 'fs-error', [])).toThrow(expect.objectContaining({ name: 'FsError', code: 'ENOTEMPTY', errno: Errno.ENOTEMPTY }));
    expect(() => client.call(0, 'other', [])).toThrow('host bug');
  });
});

describe('poll_oneoff', () => {
  async function context(sleeps: number[]) {
    const { createWasiContext } = await import('../../../src/runtime/wasi/imports.ts');
    const { OutputStreamFd } = await import('../../../src/runtime/wasi/stdio.ts');
    const ctx = createWasiContext({ args: [], env: [], fds: [new OutputStreamFd(() => {}), new OutputStreamFd(() => {})], sleep: (ms) => void sleeps.push(ms) });
    const memory = new WebAssembly.Memory({ initial: 1 });
    (ctx.wasi as unknown as { inst: unknown }).inst = { exports: { memory } };
    return { poll: ctx.imports['poll_oneoff'] as unknown as (i: number, o: number, n: number, ne: number) => number, view: new DataView(memory.buffer) };
  }
  function clockSub(v: DataView, at: number, userdata: bigint, timeoutNs: bigint, flags = 0) {
    v.setBigUint64(at, userdata, true);
    v.setUint8(at + 8, wasi.EVENTTYPE_CLOCK);
    v.setUint32(at + 16, wasi.CLOCKID_MONOTONIC, true);
    v.setBigUint64(at + 24, timeoutNs, true);
    v.setBigUint64(at + 32, 1_000_000n, true); // precision: would be misread as flags at +36 by the shim
    v.setUint16(at + 40, flags, true);
  }

  it('sleeps for the shortest clock, reports only the clocks that fired, and writes nevents (shim bug 1)', async () => {
    const sleeps: number[] = [];
    const { poll, view } = await context(sleeps);
    clockSub(view, 0, 7n, 30_000_000n);
    clockSub(view, 48, 8n, 10_000_000n);
    view.setUint32(4096, 0xdead, true);
    expect(poll(0, 1024, 2, 4096)).toBe(wasi.ERRNO_SUCCESS);
    expect(sleeps).toEqual([10]);
    expect(view.getUint32(4096, true)).toBe(1);
    expect(view.getBigUint64(1024, true)).toBe(8n);
    expect(view.getUint8(1024 + 10)).toBe(wasi.EVENTTYPE_CLOCK);
  });

  it('returns fd readiness at once without sleeping; an absolute time in the past does not sleep', async () => {
    const sleeps: number[] = [];
    const { poll, view } = await context(sleeps);
    clockSub(view, 0, 1n, 5_000_000_000n);
    view.setBigUint64(48, 2n, true);
    view.setUint8(48 + 8, wasi.EVENTTYPE_FD_WRITE);
    view.setUint32(48 + 16, 1, true);
    expect(poll(0, 1024, 2, 4096)).toBe(wasi.ERRNO_SUCCESS);
    expect(sleeps).toEqual([]);
    expect(view.getUint32(4096, true)).toBe(1);
    expect(view.getBigUint64(1024, true)).toBe(2n);
    clockSub(view, 0, 3n, 1n, wasi.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
    expect(poll(0, 1024, 1, 4096)).toBe(wasi.ERRNO_SUCCESS);
    expect(sleeps).toEqual([]);
    expect(view.getBigUint64(1024, true)).toBe(3n);
    expect(poll(0, 1024, 0, 4096)).toBe(wasi.ERRNO_INVAL);
  });
});
