/** Builds a directory tree on disk and archives it with real tools (GNU tar, Python's tarfile, bsdtar). */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, symlinkSync, linkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from '../helpers/peers.ts';

export const LONG_DIR = 'long/' + 'd'.repeat(120);
export const LONG_FILE = `${LONG_DIR}/${'f'.repeat(120)}.txt`;
export const LONG_TARGET = 'target-'.repeat(25);
export const UNICODE = 'ünïcødé-名前.txt';
export const MTIME = 1700000000.5;

export interface Expected {
  type: 'file' | 'directory' | 'symlink' | 'fifo';
  mode: number;
  size: number;
  data?: Uint8Array;
  linkname?: string;
}

/** Deterministic pseudo-random bytes (xorshift). */
export function pseudoRandom(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Create the tree under `root/src` and return the expected entry for each path (no trailing '/'). */
export function buildTree(root: string): { src: string; paths: string[]; expected: Map<string, Expected> } {
  const src = join(root, 'src');
  mkdirSync(join(src, 'a'), { recursive: true });
  mkdirSync(join(src, LONG_DIR), { recursive: true });
  writeFileSync(join(src, 'a/hello.txt'), 'hello\n');
  writeFileSync(join(src, 'a/exec.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(src, 'a/exec.sh'), 0o755);
  writeFileSync(join(src, 'a/empty'), '');
  writeFileSync(join(src, LONG_FILE), 'long name\n');
  writeFileSync(join(src, UNICODE), 'unicode\n');
  writeFileSync(join(src, 'big.bin'), pseudoRandom(1_234_567));
  writeFileSync(join(src, 'block.bin'), pseudoRandom(1024, 7)); // exactly two blocks: no padding
  symlinkSync('hello.txt', join(src, 'a/link'));
  symlinkSync(LONG_TARGET, join(src, 'a/longlink'));
  linkSync(join(src, 'a/hello.txt'), join(src, 'a/hard'));
  execFileSync('mkfifo', [join(src, 'a/fifo')]);
  // xattrs: Node has no API for them; Python's os.setxattr is the real syscall.
  execFileSync(requireTool('python3', 'python3'), ['-c', 'import os,sys; os.setxattr(sys.argv[1], "user.skiff", b"xattr-value\\x00\\xff")', join(src, 'a/hello.txt')]);
  const paths: string[] = ['a', 'long', UNICODE, 'big.bin', 'block.bin'];
  const expected = new Map<string, Expected>();
  const walk = (rel: string): void => {
    const abs = join(src, rel);
    const st = lstatSync(abs);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      expected.set(rel, { type: 'directory', mode, size: 0 });
      for (const n of readdirSync(abs).sort()) walk(`${rel}/${n}`);
    } else if (st.isSymbolicLink()) {
      expected.set(rel, { type: 'symlink', mode, size: 0, linkname: readlinkSync(abs) });
    } else if (st.isFIFO()) {
      expected.set(rel, { type: 'fifo', mode, size: 0 });
    } else {
      const data = readFileSync(abs);
      expected.set(rel, { type: 'file', mode, size: data.length, data: new Uint8Array(data) });
    }
  };
  for (const p of paths) walk(p);
  // Set times last (creating children changes the parent directories' mtime).
  for (const rel of [...expected.keys()].reverse()) {
    if (expected.get(rel)!.type !== 'symlink') utimesSync(join(src, rel), MTIME, MTIME);
  }
  return { src, paths, expected };
}

/** bsdtar writes a pax header (with the exact mtime) only for entries that need one. */
export type Producer = { name: string; make: (src: string, paths: string[], out: string) => void; mtime: 'fractional' | 'integer' | 'either'; xattrs: boolean };

export const bsdtarCommand = process.env['SKIFF_BSDTAR'] ?? 'bsdtar';
export function haveBsdtar(): boolean {
  try {
    execFileSync(bsdtarCommand, ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const pyTar = (format: string) => (src: string, paths: string[], out: string): void => {
  execFileSync(requireTool('python3', 'python3'), ['-c', `
import sys, tarfile, os
os.chdir(sys.argv[1])
with tarfile.open(sys.argv[2], 'w', format=tarfile.${format}) as t:
    for p in sys.argv[3:]:
        t.add(p)
`, src, out, ...paths]);
};

export const PRODUCERS: Producer[] = [
  { name: 'GNU tar --format=gnu', mtime: 'integer', xattrs: false,
    make: (src, paths, out) => { execFileSync('tar', ['--format=gnu', '-C', src, '-cf', out, ...paths]); } },
  { name: 'GNU tar --format=posix --xattrs', mtime: 'fractional', xattrs: true,
    make: (src, paths, out) => { execFileSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-C', src, '-cf', out, ...paths]); } },
  { name: 'python tarfile PAX_FORMAT', mtime: 'fractional', xattrs: false, make: pyTar('PAX_FORMAT') },
  { name: 'python tarfile GNU_FORMAT', mtime: 'integer', xattrs: false, make: pyTar('GNU_FORMAT') },
  { name: 'bsdtar (pax restricted)', mtime: 'either', xattrs: true,
    make: (src, paths, out) => { execFileSync(bsdtarCommand, ['--xattrs', '-C', src, '-cf', out, ...paths]); } },
];
