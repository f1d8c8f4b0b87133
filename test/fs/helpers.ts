/** Tar entry builders and tree dumps shared by the fs tests. */
import type { TarEntry, TarHeader } from '../../src/archive/types.ts';
import { FsError } from '../../src/fs/errno.ts';
import type { FileSystem, FsNode } from '../../src/fs/types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);

function header(name: string, type: TarHeader['type'], extra: Partial<TarHeader> = {}): TarHeader {
  return { name, type, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000, linkname: '', devmajor: 0, devminor: 0, ...extra };
}

export function file(name: string, text: string | Uint8Array, extra: Partial<TarHeader> = {}): TarEntry {
  const data = typeof text === 'string' ? enc.encode(text) : text;
  return { header: header(name, 'file', { size: data.length, ...extra }), data };
}
export function dir(name: string, extra: Partial<TarHeader> = {}): TarEntry {
  return { header: header(name, 'directory', { mode: 0o755, ...extra }), data: EMPTY };
}
export function symlink(name: string, target: string): TarEntry {
  return { header: header(name, 'symlink', { mode: 0o777, linkname: target }), data: EMPTY };
}
export function hardlink(name: string, target: string): TarEntry {
  return { header: header(name, 'hardlink', { linkname: target }), data: EMPTY };
}
export function whiteout(name: string): TarEntry {
  return file(name, '', { mode: 0 });
}
export function device(name: string, type: 'chardev' | 'blockdev' | 'fifo', major = 0, minor = 0): TarEntry {
  return { header: header(name, type, { devmajor: major, devminor: minor }), data: EMPTY };
}

export function text(b: Uint8Array): string {
  return dec.decode(b);
}
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

/** The errno `fn` fails with, or 'ok'; anything but an FsError propagates. */
export function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
  return 'ok';
}

/** Resolves a slash path without following symlinks. */
export function resolve(fs: FileSystem, path: string): FsNode {
  let n = fs.root();
  for (const part of path.split('/')) if (part !== '') n = fs.lookup(n, part);
  return n;
}

export function readText(fs: FileSystem, path: string): string {
  const n = resolve(fs, path);
  return text(fs.read(n, 0, fs.stat(n).size));
}

/**
 * Canonical listing of a whole filesystem: one line per path with kind, mode, owner, link count,
 * contents, symlink target, xattrs and (for hard links) the first path of the same inode.
 */
export function dumpFs(fs: FileSystem, options: { times?: boolean } = {}): string[] {
  const lines: string[] = [];
  const firstByIno = new Map<number, string>();
  const walk = (node: FsNode, path: string): void => {
    const s = fs.stat(node);
    let line = `${path || '/'} ${s.kind} ${s.mode.toString(8)} ${s.uid}:${s.gid} n${s.nlink}`;
    if (s.kind === 'file') line += ` "${text(fs.read(node, 0, s.size))}"`;
    if (s.kind === 'symlink') line += ` -> ${fs.readlink(node)}`;
    if (s.kind === 'chardev' || s.kind === 'blockdev') line += ` ${s.rdevMajor},${s.rdevMinor}`;
    const xs = fs.listxattr(node).sort();
    if (xs.length) line += ` x{${xs.map((x) => `${x}=${text(fs.getxattr(node, x))}`).join(',')}}`;
    if (options.times) line += ` t${s.mtimeMs}`;
    if (s.kind !== 'directory' && s.nlink > 1) {
      const first = firstByIno.get(s.ino);
      if (first) line += ` =${first}`;
      else firstByIno.set(s.ino, path);
    }
    lines.push(line);
    if (s.kind === 'directory') {
      const names = fs.readdir(node).map((e) => e.name).sort();
      for (const name of names) walk(fs.lookup(node, name), `${path}/${name}`);
    }
  };
  walk(fs.root(), '');
  return lines;
}
