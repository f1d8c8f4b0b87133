/** The writer: round trips through our reader, and GNU tar reads and extracts what it writes. */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSkiffError } from '../helpers/errors.ts';
import { readTar } from '../../src/archive/tar-reader.ts';
import { tarEntry, TarWriter, writeTar, writeTarStream } from '../../src/archive/tar-writer.ts';
import type { TarEntry } from '../../src/archive/types.ts';
import { pseudoRandom } from './fixtures.ts';
import { requireTool } from '../helpers/peers.ts';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'skiff-tarw-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LONG = `deep/${'x'.repeat(90)}/${'y'.repeat(90)}/file-with-a-long-name.txt`;
const LONG_TARGET = '../'.repeat(40) + 'target';
const entries = (): TarEntry[] => [
  tarEntry({ name: 'dir/', type: 'directory', mode: 0o1777, mtime: 1700000000 }),
  tarEntry({ name: 'dir/plain.txt', mode: 0o640, uid: 1000, gid: 1000, uname: 'user', gname: 'group', mtime: 1700000000 }, 'plain\n'),
  tarEntry({ name: 'dir/exact-block', mtime: 1 }, pseudoRandom(512)),
  tarEntry({ name: 'dir/big.bin', mode: 0o755, mtime: 1700000000 }, pseudoRandom(300_001, 3)),
  tarEntry({ name: LONG, mtime: 1700000000 }, 'long\n'),
  tarEntry({ name: 'dir/ünïcødé 名前.txt', mtime: 1700000000 }, 'unicode\n'),
  tarEntry({ name: 'dir/frac', mtime: 1700000000.25, atime: 1700000001.5, ctime: 1700000002 }, 'frac'),
  tarEntry({ name: 'dir/bigids', uid: 3_000_000_000, gid: 2_500_000_000, mtime: 1700000000 }, 'ids'),
  tarEntry({ name: 'dir/longowner', uname: 'u'.repeat(40), gname: 'g'.repeat(40), mtime: 1700000000 }, 'owner'),
  tarEntry({ name: 'dir/xattr', mtime: 1700000000, xattrs: { 'user.skiff': new Uint8Array([1, 0, 255, 65]), 'user.other': new TextEncoder().encode('v') } }, 'x'),
  tarEntry({ name: 'dir/link', type: 'symlink', linkname: 'plain.txt', mode: 0o777, mtime: 1700000000 }),
  tarEntry({ name: 'dir/longlink', type: 'symlink', linkname: LONG_TARGET, mode: 0o777, mtime: 1700000000 }),
  tarEntry({ name: 'dir/hard', type: 'hardlink', linkname: 'dir/plain.txt', mtime: 1700000000 }),
  tarEntry({ name: 'dir/fifo', type: 'fifo', mtime: 1700000000 }),
  tarEntry({ name: 'dir/null', type: 'chardev', devmajor: 1, devminor: 3, mode: 0o666, mtime: 1700000000 }),
  tarEntry({ name: 'dir/sda', type: 'blockdev', devmajor: 8, devminor: 0, mode: 0o660, mtime: 1700000000 }),
  tarEntry({ name: 'dir/commented', pax: { comment: 'made by skiff' }, mtime: 1700000000 }, 'c'),
  tarEntry({ name: 'dir/old', mtime: -86400.5 }, 'before 1970'),
];

describe('tar writer', () => {
  it('round-trips every field through our reader', () => {
    const input = entries();
    const out = readTar(writeTar(input));
    expect(out.length).toBe(input.length);
    for (const [i, e] of input.entries()) {
      expect(out[i]!.header, e.header.name).toEqual(e.header);
      expect(Buffer.from(out[i]!.data).equals(Buffer.from(e.data)), e.header.name).toBe(true);
    }
  });

  it('is deterministic, and the stream equals the buffer', async () => {
    const a = writeTar(entries());
    const b = writeTar(entries());
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const parts: Uint8Array[] = [];
    for await (const c of writeTarStream(entries())) parts.push(c);
    expect(Buffer.concat(parts).equals(Buffer.from(a))).toBe(true);
    expect(a.length % 512).toBe(0);
  });

  it('GNU tar -tv lists what we wrote', () => {
    const file = join(dir, 'ours.tar');
    writeFileSync(file, writeTar(entries()));
    const lines = execFileSync('tar', ['--numeric-owner', '-tvf', file]).toString().trim().split('\n');
    const byName = (suffix: string): string => {
      const l = lines.find((x) => x.endsWith(suffix) || x.includes(` ${suffix} `));
      if (!l) throw new Error(`no line for ${suffix} in:\n${lines.join('\n')}`);
      return l;
    };
    expect(lines.length).toBe(entries().length);
    expect(byName('dir/')).toMatch(/^drwxrwxrwt /);
    expect(byName('dir/plain.txt')).toMatch(/^-rw-r----- 1000\/1000\s+6 2023-11-14 /);
    expect(byName(LONG)).toMatch(/^-rw-r--r-- /);
    expect(byName('dir/ünïcødé 名前.txt')).toMatch(/^-/);
    expect(byName(`dir/longlink -> ${LONG_TARGET}`)).toMatch(/^lrwxrwxrwx /);
    expect(byName('dir/hard link to dir/plain.txt')).toMatch(/^h/);
    expect(byName('dir/null')).toMatch(/^crw-rw-rw- 0\/0\s+1,3 /);
    expect(byName('dir/sda')).toMatch(/^brw-rw---- 0\/0\s+8,0 /);
    expect(byName('dir/fifo')).toMatch(/^p/);
    expect(byName('dir/bigids')).toMatch(/ 3000000000\/2500000000 /);
    expect(byName('dir/big.bin')).toMatch(/ 300001 /);
  });

  it('GNU tar extracts it: contents, links, times, xattrs', () => {
    const file = join(dir, 'extract.tar');
    const keep = entries().filter((e) => !['chardev', 'blockdev'].includes(e.header.type) && e.header.name !== 'dir/bigids');
    writeFileSync(file, writeTar(keep));
    const out = join(dir, 'x');
    mkdirSync(out);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', out, '-xf', file]);
    expect(readFileSync(join(out, 'dir/plain.txt'), 'utf8')).toBe('plain\n');
    expect(readFileSync(join(out, LONG), 'utf8')).toBe('long\n');
    expect(Buffer.compare(readFileSync(join(out, 'dir/big.bin')), Buffer.from(pseudoRandom(300_001, 3)))).toBe(0);
    expect(readFileSync(join(out, 'dir/ünïcødé 名前.txt'), 'utf8')).toBe('unicode\n');
    expect(readlinkSync(join(out, 'dir/longlink'))).toBe(LONG_TARGET);
    expect(lstatSync(join(out, 'dir/hard')).ino).toBe(lstatSync(join(out, 'dir/plain.txt')).ino);
    expect(lstatSync(join(out, 'dir/fifo')).isFIFO()).toBe(true);
    expect(lstatSync(join(out, 'dir/frac')).mtimeMs).toBe(1700000000250);
    expect(lstatSync(join(out, 'dir/old')).mtimeMs).toBe(-86400500);
    expect(lstatSync(join(out, 'dir/big.bin')).mode & 0o7777).toBe(0o755);
    const xattr = execFileSync(requireTool('python3', 'python3'), ['-c', 'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], "user.skiff").hex())', join(out, 'dir/xattr')]).toString();
    expect(xattr).toBe('0100ff41');
  });

  it('rejects inconsistent entries with the entry name', () => {
    const bad: [TarEntry, RegExp][] = [
      [{ header: { ...tarEntry({ name: 'f' }, 'abc').header, size: 5 }, data: new TextEncoder().encode('abc') }, /"f": header size 5 does not match data length 3/],
      [{ header: tarEntry({ name: 's', type: 'symlink', linkname: 't' }).header, data: new Uint8Array(1) }, /"s": a symlink entry cannot carry data/],
      [tarEntry({ name: '' }), /empty name/],
      [tarEntry({ name: 'a\0b' }), /NUL/],
      [tarEntry({ name: 'u', uid: -1 }), /"u": uid must be a non-negative integer/],
      [tarEntry({ name: 'm', mtime: NaN }), /"m": mtime must be a finite number/],
    ];
    for (const [e, re] of bad) {
      expectSkiffError(() => new TarWriter().add(e), 'INVALID_ARGUMENT', re);
    }
    const w = new TarWriter();
    w.finish();
    expect(() => w.add(tarEntry({ name: 'late' }))).toThrow(/finished/);
  });
});
