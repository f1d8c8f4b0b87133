/** Hostile and broken archives: each must fail with INVALID_ARCHIVE naming the entry and the rule. */
import { describe, expect, it } from 'vitest';
import { expectSkiffError } from '../helpers/errors.ts';
import { readTar, TarParser } from '../../src/archive/tar-reader.ts';
import { tarEntry, writeTar } from '../../src/archive/tar-writer.ts';
import { checksums, encodePaxRecord } from '../../src/archive/tar-format.ts';

const expectInvalid = (fn: () => unknown, re: RegExp): void => expectSkiffError(fn, 'INVALID_ARCHIVE', re);

/** Overwrite bytes of the header at `block` offset and fix its checksum. */
function patch(tar: Uint8Array, block: number, at: number, bytes: ArrayLike<number> | string): Uint8Array {
  const out = tar.slice();
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  out.set(b, block + at);
  const h = out.subarray(block, block + 512);
  const s = checksums(h).unsigned.toString(8).padStart(6, '0');
  h.set(new TextEncoder().encode(s), 148);
  h[154] = 0;
  h[155] = 0x20;
  return out;
}

const two = (): Uint8Array => writeTar([tarEntry({ name: 'first.txt' }, 'x'.repeat(100)), tarEntry({ name: 'second.txt' }, 'y'.repeat(600))]);

describe('truncation', () => {
  it('inside file data names the entry and both sizes', () => {
    const t = two();
    expectInvalid(() => readTar(t.subarray(0, 1024 + 512 + 300)), /entry "second\.txt": truncated: expected 600 bytes of data, archive ended after 300/);
  });
  it('inside the padding after data', () => {
    expectInvalid(() => readTar(two().subarray(0, 512 + 100 + 5)), /entry "first\.txt": truncated: archive ended inside the padding/);
  });
  it('inside a header', () => {
    expectInvalid(() => readTar(two().subarray(0, 1024 + 200)), /truncated: archive ended 200 bytes into the header after/);
    expectInvalid(() => readTar(two().subarray(0, 100)), /truncated/);
  });
  it('EOF at a block boundary without the zero blocks is a clean end (as GNU tar accepts)', () => {
    const t = two();
    expect(readTar(t.subarray(0, t.length - 1024)).map((e) => e.header.name)).toEqual(['first.txt', 'second.txt']);
    expect(readTar(new Uint8Array(0))).toEqual([]);
  });
  it('a pax header with no entry after it', () => {
    const t = writeTar([tarEntry({ name: 'n'.repeat(150) }, 'z')]);
    expectInvalid(() => readTar(t.subarray(0, 1024)), /archive ended after a pax/);
    const withEnd = new Uint8Array(2048);
    withEnd.set(t.subarray(0, 1024));
    expectInvalid(() => readTar(withEnd), /end-of-archive marker right after a pax/);
  });
});

describe('corrupt headers', () => {
  it('bad checksum', () => {
    const t = two().slice();
    t[0] = 'F'.charCodeAt(0); // checksum no longer matches
    expectInvalid(() => readTar(t), /entry "First\.txt": header checksum mismatch at offset 0/);
  });
  it('negative size (base-256)', () => {
    const t = patch(two(), 0, 124, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    expectInvalid(() => readTar(t), /entry "first\.txt": negative size -2/);
  });
  it('huge size: over the limit, and truncated below it without allocating', () => {
    const t = patch(two(), 0, 124, '77777777777\0');
    expectInvalid(() => readTar(t), /entry "first\.txt": size 8589934591 exceeds the limit of 4294967295 bytes/);
    expectInvalid(() => readTar(t, { maxEntrySize: 2 ** 40 }), /entry "first\.txt": truncated: expected 8589934591 bytes/);
    const b256 = patch(two(), 0, 124, [0x80, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0]);
    expectInvalid(() => readTar(b256), /entry "first\.txt": size 281474976710656 exceeds the limit/);
    const beyond = patch(two(), 0, 124, [0x80, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expectInvalid(() => readTar(beyond), /entry "first\.txt": header field "size" is not a valid number \(or exceeds 2\^53\)/);
  });
  it('non-octal numeric field', () => {
    expectInvalid(() => readTar(patch(two(), 0, 100, '07x4\0')), /entry "first\.txt": header field "mode" is not a valid number/);
  });
  it('unknown and unsupported entry types', () => {
    expectInvalid(() => readTar(patch(two(), 0, 156, 'Z')), /entry "first\.txt": unknown entry type 'Z'/);
    expectInvalid(() => readTar(patch(two(), 0, 156, 'S')), /GNU sparse/);
  });
  it('data after the first end-of-archive block', () => {
    const t = two();
    const bad = new Uint8Array(t.length + 512);
    bad.set(t.subarray(0, t.length - 1024));
    bad.set(t.subarray(0, 512), t.length - 512); // zero block, then a header
    expectInvalid(() => readTar(bad), /data after the end-of-archive zero block/);
  });
});

describe('pax abuse', () => {
  const paxArchive = (records: Uint8Array, name = 'victim'): Uint8Array => {
    const body = writeTar([tarEntry({ name }, 'ok')]);
    const hdr = patch(body.subarray(0, 512), 0, 0, 'PaxHeaders/victim\0');
    const withType = patch(hdr, 0, 156, 'x');
    const sized = patch(withType, 0, 124, records.length.toString(8).padStart(11, '0') + '\0');
    const pad = (512 - (records.length % 512)) % 512;
    const out = new Uint8Array(512 + records.length + pad + body.length);
    out.set(sized.subarray(0, 512));
    out.set(records, 512);
    out.set(body, 512 + records.length + pad);
    return out;
  };
  it('a well-formed pax header is applied (sanity for this helper)', () => {
    const [e] = readTar(paxArchive(encodePaxRecord('path', 'renamed')));
    expect(e!.header.name).toBe('renamed');
  });
  it('size record larger than the data', () => {
    expectInvalid(() => readTar(paxArchive(encodePaxRecord('size', '999999999999'))), /entry "victim": size 999999999999 exceeds the limit/);
  });
  it('non-numeric size/uid and bad times', () => {
    expectInvalid(() => readTar(paxArchive(encodePaxRecord('size', '-5'))), /pax record size="-5" is not a valid non-negative integer/);
    expectInvalid(() => readTar(paxArchive(encodePaxRecord('uid', '1e9'))), /pax record uid/);
    expectInvalid(() => readTar(paxArchive(encodePaxRecord('mtime', 'yesterday'))), /pax record mtime="yesterday" is not a valid time/);
  });
  it('malformed records', () => {
    expectInvalid(() => readTar(paxArchive(new TextEncoder().encode('99 path=x\n'))), /malformed pax record at byte 0: length 99 out of range/);
    expectInvalid(() => readTar(paxArchive(new TextEncoder().encode('abc'))), /malformed pax record at byte 0: no length/);
    expectInvalid(() => readTar(paxArchive(new TextEncoder().encode('9 pathx\n'))), /malformed pax record/);
  });
  it('oversized pax header body', () => {
    const huge = new Uint8Array((1 << 20) + 1).fill(0x61);
    expectInvalid(() => readTar(paxArchive(huge)), /pax header of 1048577 bytes exceeds the 1048576-byte limit/);
  });
  it('GNU sparse pax records are refused', () => {
    expectInvalid(() => readTar(paxArchive(encodePaxRecord('GNU.sparse.major', '1'))), /GNU sparse/);
  });
});

describe('stream hygiene', () => {
  it('end() after trailing record padding is fine; push after done ignores zeros', () => {
    const t = two();
    const padded = new Uint8Array(10240);
    padded.set(t);
    const p = new TarParser();
    expect(p.push(padded).length).toBe(2);
    p.end();
  });
});
