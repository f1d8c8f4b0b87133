/** The reader against archives made by real tools from a real directory tree. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, readTarStream, TarParser } from '../../src/archive/tar-reader.ts';
import type { TarEntry } from '../../src/archive/types.ts';
import { tarEntry, writeTar } from '../../src/archive/tar-writer.ts';
import { bsdtarCommand, buildTree, haveBsdtar, LONG_FILE, LONG_TARGET, MTIME, PRODUCERS, UNICODE, type Expected } from './fixtures.ts';

let dir: string;
let tree: ReturnType<typeof buildTree>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-tar-'));
  tree = buildTree(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const strip = (n: string): string => n.replace(/\/$/, '');

function checkAgainstTree(entries: TarEntry[], opts: { mtime: 'fractional' | 'integer' | 'either'; xattrs: boolean }): void {
  const byName = new Map(entries.map((e) => [strip(e.header.name), e]));
  expect([...byName.keys()].sort()).toEqual([...tree.expected.keys()].sort());
  let hardlinks = 0;
  for (const [name, exp] of tree.expected) {
    const e = byName.get(name)!;
    const h = e.header;
    const ctx = `${name}: ${JSON.stringify({ ...h, xattrs: undefined })}`;
    expect(h.mode, ctx).toBe(exp.mode);
    if (exp.type !== 'symlink') {
      if (opts.mtime === 'fractional') expect(h.mtime, ctx).toBe(MTIME);
      else if (opts.mtime === 'integer') expect(h.mtime, ctx).toBe(Math.floor(MTIME));
      else expect([MTIME, Math.floor(MTIME)], ctx).toContain(h.mtime);
    }
    if (h.type === 'hardlink') {
      // a/hello.txt and a/hard share an inode: one is the file, the other links to it
      hardlinks++;
      expect(['a/hello.txt', 'a/hard']).toContain(name);
      expect(['a/hello.txt', 'a/hard']).toContain(h.linkname);
      expect(h.linkname).not.toBe(name);
      expect(e.data.length).toBe(0);
      continue;
    }
    expect(h.type, ctx).toBe(exp.type);
    expect(h.size, ctx).toBe(exp.size);
    if (exp.data) expect(Buffer.from(e.data).equals(Buffer.from(exp.data)), ctx).toBe(true);
    else expect(e.data.length).toBe(0);
    if (exp.linkname !== undefined) expect(h.linkname).toBe(exp.linkname);
  }
  expect(hardlinks).toBe(1);
  if (opts.xattrs) {
    const hello = [byName.get('a/hello.txt')!, byName.get('a/hard')!].find((e) => e.header.type === 'file')!;
    expect(hello.header.xattrs?.['user.skiff']).toEqual(new Uint8Array([...Buffer.from('xattr-value'), 0, 0xff]));
  }
}

describe('tar reader vs real tools', () => {
  for (const p of PRODUCERS) {
    it(p.name, () => {
      // No skip: every producer is a Debian package .ci/run installs (bsdtar: libarchive-tools).
      if (p.name.startsWith('bsdtar') && !haveBsdtar()) {
        expect.fail(`${bsdtarCommand} is not runnable: apt-get install libarchive-tools (or set SKIFF_BSDTAR to a bsdtar)`);
      }
      const out = join(dir, `${p.name.replace(/\W+/g, '_')}.tar`);
      p.make(tree.src, tree.paths, out);
      const bytes = new Uint8Array(readFileSync(out));
      const entries = readTar(bytes);
      checkAgainstTree(entries, p);
      expect(entries.some((e) => e.header.name === LONG_FILE)).toBe(true);
      expect(entries.find((e) => e.header.name === 'a/longlink')?.header.linkname).toBe(LONG_TARGET);
      expect(entries.some((e) => e.header.name === UNICODE)).toBe(true);
    });
  }

  it('ustar prefix field (GNU tar --format=ustar)', () => {
    const src = join(dir, 'ustar-src');
    const deep = `${'p'.repeat(120)}/${'n'.repeat(90)}`;
    mkdirSync(join(src, 'p'.repeat(120)), { recursive: true });
    writeFileSync(join(src, deep), 'prefixed');
    const out = join(dir, 'ustar.tar');
    execFileSync('tar', ['--format=ustar', '-C', src, '-cf', out, deep]);
    const [e] = readTar(new Uint8Array(readFileSync(out)));
    expect(e!.header.name).toBe(deep);
    expect(new TextDecoder().decode(e!.data)).toBe('prefixed');
  });

  it('v7 format and GNU base-256 ids', () => {
    const out = join(dir, 'v7.tar');
    execFileSync('tar', ['--format=v7', '-C', tree.src, '-cf', out, 'a/hello.txt', 'a/exec.sh']);
    const v7 = readTar(new Uint8Array(readFileSync(out)));
    expect(v7.map((e) => [e.header.name, e.header.type, e.header.size])).toEqual([['a/hello.txt', 'file', 6], ['a/exec.sh', 'file', 18]]);
    const big = join(dir, 'b256.tar');
    execFileSync('tar', ['--format=gnu', '--owner=:3000000000', '--group=:2500000000', '-C', tree.src, '-cf', big, 'a/hello.txt']);
    const raw = new Uint8Array(readFileSync(big));
    expect(raw[108]! & 0x80).toBe(0x80); // really base-256
    const [e] = readTar(raw);
    expect(e!.header.uid).toBe(3000000000);
    expect(e!.header.gid).toBe(2500000000);
  });

  it('entry names and order agree with GNU tar -tf', () => {
    const out = join(dir, 'posix-all.tar');
    execFileSync('tar', ['--format=posix', '-C', tree.src, '-cf', out, ...tree.paths]);
    const listing = execFileSync('tar', ['-tf', out]).toString().trim().split('\n');
    const ours = readTar(new Uint8Array(readFileSync(out))).map((e) => e.header.name);
    expect(ours).toEqual(listing);
  });
});

/** Seeded PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rechunk(bytes: Uint8Array, rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const r = rand();
    // mostly small widths (to split headers and pax records), sometimes large
    const w = r < 0.3 ? 1 + Math.floor(rand() * 3) : r < 0.8 ? 1 + Math.floor(rand() * 700) : 1 + Math.floor(rand() * 200_000);
    out.push(bytes.slice(pos, pos + w)); // copies: each chunk is its own buffer, as from a stream
    pos += w;
  }
  return out;
}

const normalize = (es: TarEntry[]): unknown => es.map((e) => ({ header: e.header, data: Buffer.from(e.data).toString('base64') }));

describe('re-chunking (property)', () => {
  it('any chunking gives identical entries, sync and async', async () => {
    const out = join(dir, 'rechunk.tar');
    execFileSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-C', tree.src, '-cf', out, ...tree.paths]);
    const gnu = join(dir, 'rechunk-gnu.tar');
    execFileSync('tar', ['--format=gnu', '-C', tree.src, '-cf', gnu, ...tree.paths]);
    for (const file of [out, gnu]) {
      const bytes = new Uint8Array(readFileSync(file));
      const whole = normalize(readTar(bytes));
      for (let seed = 1; seed <= 12; seed++) {
        const chunks = rechunk(bytes, rng(seed));
        const p = new TarParser();
        const got: TarEntry[] = [];
        for (const c of chunks) got.push(...p.push(c));
        p.end();
        expect(normalize(got), `seed ${seed}`).toEqual(whole);
      }
      const streamed: TarEntry[] = [];
      for await (const e of readTarStream(rechunk(bytes, rng(99)))) streamed.push(e);
      expect(normalize(streamed)).toEqual(whole);
    }
  });

  it('file bodies within one chunk are zero-copy views', () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'rechunk-gnu.tar')));
    const big = readTar(bytes).find((e) => e.header.name === 'big.bin')!;
    expect(big.data.buffer).toBe(bytes.buffer);
  });
});

describe('write(): events, bodies streamed in the pieces they arrive in', () => {
  it('a body spread over many chunks is never gathered: each piece is a view of its chunk', () => {
    const body = new Uint8Array(3 << 20).map((_, i) => i % 251);
    const tar = writeTar([tarEntry({ name: 'big' }, body), tarEntry({ name: 'small' }, 'tail')]);
    const p = new TarParser();
    const kinds: string[] = [];
    let got = 0;
    let ok = true;
    for (let off = 0; off < tar.length; off += 65536) {
      const chunk = tar.slice(off, off + 65536);
      for (const ev of p.write(chunk)) {
        kinds.push(ev.kind === 'header' ? `header:${ev.header.name}` : ev.kind);
        if (ev.kind === 'data') {
          ok &&= ev.data.buffer === chunk.buffer && ev.data.byteLength <= 65536;
          if (got < body.length) ok &&= ev.data.every((b, i) => b === body[got + i]);
          got += ev.data.byteLength;
        }
      }
    }
    p.end();
    expect(ok).toBe(true);
    expect(got).toBe(body.length + 4);
    expect(kinds[0]).toBe('header:big');
    expect(kinds.filter((k) => k === 'data').length).toBe(50); // 49 pieces of big, one of small
    expect(kinds.slice(-4)).toEqual(['end', 'header:small', 'data', 'end']);
  });
});
