/**
 * The canonical listing of helpers.dumpFs, read from a real directory tree: one line per path with
 * kind, mode, owner, link count, contents (UTF-8, as dumpFs decodes), symlink target and, for hard
 * links, the first path of the same inode. No xattrs or device numbers. The first line is the root.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chardev';
  return st.isBlockDevice() ? 'blockdev' : 'socket';
}

export function dumpDisk(root: string): string[] {
  const lines: string[] = [];
  const first = new Map<number, string>();
  const walk = (abs: string, path: string): void => {
    const st = lstatSync(abs);
    const kind = kindOf(st);
    let line = `${path || '/'} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} n${st.nlink}`;
    if (kind === 'file') line += ` "${readFileSync(abs, 'utf8')}"`;
    if (kind === 'symlink') line += ` -> ${readlinkSync(abs)}`;
    if (kind !== 'directory' && st.nlink > 1) {
      const f = first.get(Number(st.ino));
      if (f) line += ` =${f}`;
      else first.set(Number(st.ino), path);
    }
    lines.push(line);
    if (kind === 'directory') for (const name of readdirSync(abs).sort()) walk(join(abs, name), `${path}/${name}`);
  };
  walk(root, '');
  return lines;
}
