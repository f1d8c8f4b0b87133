/**
 * A temp directory for bind-mount tests: `bind/` is what a HostDirFileSystem exports, `outside/`
 * sits beside it with a sentinel file and directory that nothing done through the export may
 * touch. `untouched()` compares everything outside the bind (modes, owners, sizes, times, bytes,
 * names) with the state at creation.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TarEntry } from '../../src/archive/types.ts';

export interface HostFixture {
  top: string;
  bind: string;
  outside: string;
  sentinel: string;
  /** A description of every change outside the bind since creation ([] when none). */
  changes(): string[];
  cleanup(): void;
}

function describeTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    let what = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} n${st.nlink}`;
    if (st.isSymbolicLink()) what += ` -> ${fs.readlinkSync(p)}`;
    if (st.isFile()) what += ` ${fs.readFileSync(p).toString('base64')}`;
    out.set(rel, what);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) walk(join(p, name), `${rel}/${name}`);
  };
  walk(root, '');
  return out;
}

export function hostFixture(prefix = 'skiff-hostdir-'): HostFixture {
  const top = fs.mkdtempSync(join(tmpdir(), prefix));
  const bind = join(top, 'bind');
  const outside = join(top, 'outside');
  fs.mkdirSync(bind);
  fs.mkdirSync(join(outside, 'dir'), { recursive: true });
  const sentinel = join(outside, 'sentinel');
  fs.writeFileSync(sentinel, 'SENTINEL: never changed from inside the bind\n');
  fs.chmodSync(sentinel, 0o600);
  fs.writeFileSync(join(outside, 'dir', 'secret'), 'secret\n');
  fs.utimesSync(sentinel, 1000, 1000);
  const before = describeTree(outside);
  const topBefore = fs.readdirSync(top).sort().join(',');
  return {
    top, bind, outside, sentinel,
    changes() {
      const after = describeTree(outside);
      const diffs: string[] = [];
      for (const [k, v] of before) if (after.get(k) !== v) diffs.push(`${k || '/'}: ${v} => ${after.get(k) ?? 'gone'}`);
      for (const k of after.keys()) if (!before.has(k)) diffs.push(`${k}: new`);
      const topAfter = fs.readdirSync(top).sort().join(',');
      if (topAfter !== topBefore) diffs.push(`top: ${topBefore} => ${topAfter}`);
      return diffs;
    },
    cleanup() {
      fs.rmSync(top, { recursive: true, force: true });
    },
  };
}

/** Writes tar entries into a host directory (files, dirs, symlinks, hard links; modes kept). */
export function writeEntries(root: string, entries: readonly TarEntry[]): void {
  const dirModes: [string, number][] = [];
  for (const e of entries) {
    const h = e.header;
    const p = join(root, h.name.replace(/\/+$/, ''));
    if (h.type === 'directory') {
      fs.mkdirSync(p, { recursive: true });
      dirModes.push([p, h.mode]);
    } else if (h.type === 'file') {
      fs.writeFileSync(p, e.data);
      fs.chmodSync(p, h.mode);
      fs.utimesSync(p, h.mtime, h.mtime);
    } else if (h.type === 'symlink') {
      fs.symlinkSync(h.linkname, p);
    } else if (h.type === 'hardlink') {
      fs.linkSync(join(root, h.linkname), p);
    } else if (h.type === 'fifo') {
      execFileSync('mkfifo', ['-m', h.mode.toString(8), p]);
    } else {
      throw new Error(`writeEntries: ${h.type} ${h.name} is not made in a host directory`);
    }
    if (h.type !== 'symlink') fs.lchownSync(p, h.uid, h.gid);
  }
  for (const [p, mode] of dirModes) fs.chmodSync(p, mode);
}
