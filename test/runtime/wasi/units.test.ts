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
