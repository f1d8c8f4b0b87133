import { describe, expect, it } from 'vitest';
import {
  decode, decodeDirents, decodeErrorTag, encode, encodeDirents, messageName, P9DecodeError,
} from '../../src/p9/codec.ts';
import { MessageCode, type Dirent, type Message } from '../../src/p9/messages.ts';
import { Errno } from '../../src/fs/errno.ts';
import { SAMPLES } from './samples.ts';
import { rng } from './client.ts';

function withSize(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, bytes.length, true);
  return bytes;
}

function expectDecodeError(bytes: Uint8Array): P9DecodeError {
  try {
    decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(P9DecodeError);
    return err as P9DecodeError;
  }
  throw new Error(`decoded without error: ${Buffer.from(bytes).toString('hex')}`);
}

describe('9P codec', () => {
  it('has a sample for every message it speaks', () => {
    const names = Object.keys(MessageCode).filter((n) => n !== 'Tlerror').sort();
    expect(SAMPLES.map((m) => m.type).sort()).toEqual(names);
  });

  it.each(SAMPLES.map((m) => [m.type, m] as const))('round-trips %s', (_name, msg) => {
    const bytes = encode(msg);
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(bytes.length);
    expect(bytes[4]).toBe(MessageCode[msg.type]);
    expect(messageName(bytes[4]!)).toBe(msg.type);
    const back = decode(bytes);
    expect(back).toEqual(msg);
    expect(encode(back)).toEqual(bytes);
  });

  it('matches the layout the spec gives for Tversion and Twalk', () => {
    // size[4] Tversion tag[2] msize[4] version[s], as Linux sends it on mount.
    expect(Buffer.from(encode({ type: 'Tversion', tag: 0xffff, msize: 131072, version: '9P2000.L' })).toString('hex'))
      .toBe('15000000' + '64' + 'ffff' + '00000200' + '0800' + Buffer.from('9P2000.L').toString('hex'));
    // size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])
    expect(Buffer.from(encode({ type: 'Twalk', tag: 1, fid: 2, newfid: 3, wnames: ['a', 'bc'] })).toString('hex'))
      .toBe('18000000' + '6e' + '0100' + '02000000' + '03000000' + '0200' + '010061' + '02006263');
  });

  it('rejects every truncation of every message, whether or not the size field is patched', () => {
    let cases = 0;
    for (const msg of SAMPLES) {
      const full = encode(msg);
      for (let len = 0; len < full.length; len++) {
        const cut = full.slice(0, len);
        expectDecodeError(cut);
        if (len >= 4) expectDecodeError(withSize(full.slice(0, len)));
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(1000);
  });

  it('rejects trailing bytes and size fields that disagree with the buffer', () => {
    const full = encode({ type: 'Tclunk', tag: 9, fid: 1 });
    const longer = new Uint8Array(full.length + 1);
    longer.set(full);
    expect(expectDecodeError(longer).message).toMatch(/size field says 11 bytes but the message has 12/);
    expect(expectDecodeError(withSize(longer.slice())).message).toMatch(/trailing/);
    expect(decodeErrorTag(expectDecodeError(withSize(longer.slice())))).toBe(9);
    expect(expectDecodeError(longer).message).toMatch(/size field says 11 bytes but the message has 12/);
    const huge = full.slice();
    new DataView(huge.buffer).setUint32(0, 0xffffffff, true);
    expectDecodeError(huge);
  });

  it('rejects counts that point beyond the buffer', () => {
    // Rread with count 0xffffffff and 3 bytes of data.
    const rread = withSize(new Uint8Array([0, 0, 0, 0, 117, 1, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(expectDecodeError(rread).message).toMatch(/Rread\.data needs 4294967295 bytes/);
    // Twalk claiming 65535 names with none present.
    const twalk = withSize(new Uint8Array([0, 0, 0, 0, 110, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff]));
    expect(expectDecodeError(twalk).message).toMatch(/wnames count 65535 exceeds/);
    // Rwalk claiming 1000 qids.
    const rwalk = withSize(new Uint8Array([0, 0, 0, 0, 111, 1, 0, 0xe8, 0x03, 1, 2, 3]));
    expectDecodeError(rwalk);
    // A string whose length runs past the end.
    const tattach = encode({ type: 'Tattach', tag: 1, fid: 0, afid: 0, uname: 'u', aname: 'a', nUname: 0 });
    tattach[15] = 0xff;
    expectDecodeError(tattach);
  });

  it('rejects unknown and legacy message types with EOPNOTSUPP and keeps the tag', () => {
    for (const code of [0, 6, 112, 114, 124, 126, 255]) {
      const err = expectDecodeError(new Uint8Array([7, 0, 0, 0, code, 0x34, 0x12]));
      expect(err.errno).toBe(Errno.EOPNOTSUPP);
      expect(decodeErrorTag(err)).toBe(0x1234);
    }
  });

  it('rejects invalid UTF-8 with EINVAL and 64-bit values over 2^53 with EOVERFLOW', () => {
    const bad = encode({ type: 'Tmkdir', tag: 1, dfid: 1, name: 'ab', mode: 0, gid: 0 });
    bad[13] = 0xff; // first name byte
    expect(expectDecodeError(bad).errno).toBe(Errno.EINVAL);
    const big = encode({ type: 'Tread', tag: 1, fid: 1, offset: 0, count: 1 });
    big[18] = 0x80; // high byte of offset
    expect(expectDecodeError(big).errno).toBe(Errno.EOVERFLOW);
    // The largest safe value still decodes.
    expect((decode(encode({ type: 'Tread', tag: 1, fid: 1, offset: Number.MAX_SAFE_INTEGER, count: 1 })) as { offset: number }).offset)
      .toBe(Number.MAX_SAFE_INTEGER);
  });

  it('decodes a message that sits inside a larger buffer', () => {
    const msg: Message = { type: 'Twalk', tag: 5, fid: 1, newfid: 2, wnames: ['usr', 'bin'] };
    const bytes = encode(msg);
    const big = new Uint8Array(bytes.length + 10).fill(0xee);
    big.set(bytes, 3);
    expect(decode(big.subarray(3, 3 + bytes.length))).toEqual(msg);
  });

  it('keeps a leading BOM and NULs in strings byte-exact', () => {
    const msg = { type: 'Tlcreate', tag: 1, fid: 1, name: '\ufeffa\0b', flags: 0, mode: 0, gid: 0 } as const;
    expect(decode(encode(msg))).toEqual(msg);
  });

  it('survives random bytes and random mutations: an error or an exact re-encoding, nothing else', () => {
    const rand = rng(0x9e3779b9);
    let decoded = 0;
    let rejected = 0;
    const check = (bytes: Uint8Array) => {
      let msg;
      try {
        msg = decode(bytes);
      } catch (err) {
        if (!(err instanceof P9DecodeError)) throw err;
        rejected++;
        return;
      }
      decoded++;
      expect(encode(msg)).toEqual(bytes);
    };
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() * 64);
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(rand() * 256);
      if (len >= 5 && rand() < 0.7) {
        b[4] = Object.values(MessageCode)[Math.floor(rand() * Object.values(MessageCode).length)]!;
        withSize(b);
      }
      check(b);
    }
    for (let i = 0; i < 6000; i++) {
      const b = encode(SAMPLES[Math.floor(rand() * SAMPLES.length)]!).slice();
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      check(b);
    }
    expect(decoded).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('refuses to encode values the wire cannot carry, naming the field', () => {
    expect(() => encode({ type: 'Tclunk', tag: 0x10000, fid: 1 })).toThrow(/Tclunk\.tag/);
    expect(() => encode({ type: 'Tclunk', tag: 1, fid: -1 })).toThrow(/Tclunk\.fid = -1/);
    expect(() => encode({ type: 'Tread', tag: 1, fid: 1, offset: 1.5, count: 1 })).toThrow(/Tread\.offset/);
    expect(() => encode({ type: 'Rreadlink', tag: 1, target: 'x'.repeat(70000) })).toThrow(/Rreadlink\.target is 70000 bytes/);
    expect(() => encode({ type: 'Rwalk', tag: 1, wqids: [{ type: 256, version: 0, path: 0 }] })).toThrow(/wqids\[0\]\.type/);
  });

  it('packs and unpacks readdir entries', () => {
    const entries: Dirent[] = [
      { qid: { type: 0x80, version: 0, path: 1 }, offset: 1, type: 4, name: '.' },
      { qid: { type: 0, version: 3, path: 99 }, offset: 2, type: 8, name: 'fichier-é' },
    ];
    const data = encodeDirents(entries);
    expect(data.length).toBe(2 * 24 + 1 + 'fichier-é'.length + 1);
    expect(decodeDirents(data)).toEqual(entries);
    expect(() => decodeDirents(data.subarray(0, data.length - 1))).toThrow(P9DecodeError);
  });
});
