/**
 * The kernel as the oracle: the same random operations run on the Overlay and on a real directory
 * (ext4/tmpfs under the test's temp dir, as root so ownership applies); results, errno included,
 * and the final trees must agree. Our API resolves paths by lookups that never follow symlinks,
 * so the harness resolves paths the same way and hands the kernel symlink-free paths.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync, chownSync, closeSync, constants, ftruncateSync, lchownSync, linkSync, lstatSync, mkdirSync, mkdtempSync,
  openSync, renameSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TarEntry } from '../../src/archive/types.ts';
import { FsError } from '../../src/fs/errno.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { dumpDisk, kindOf } from './disk.ts';
import { dumpFs } from './helpers.ts';
import { Model, ModelError } from './model.ts';
import { baseEntries, outcome, randomOp, Rng, type OpSpec } from './random-ops.ts';

const work = mkdtempSync(join(tmpdir(), 'skiff-fs-linux-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

class Sys extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function sys(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof Sys || !code) throw e;
    throw new Sys(code);
  }
}

/** Lookups from the root, never following symlinks: what `node(fs, path)` does in random-ops. */
function lookupPath(root: string, parts: string[]): { abs: string; kind: string } {
  let abs = root;
  let kind = 'directory';
  for (const part of parts) {
    if (kind !== 'directory') throw new Sys('ENOTDIR');
    abs = join(abs, part);
    try {
      kind = kindOf(lstatSync(abs));
    } catch {
      throw new Sys('ENOENT');
    }
  }
  return { abs, kind };
}

/** A directory argument: the kernel would follow a final symlink, our node API refuses it. */
function dirPath(root: string, parts: string[]): string {
  const { abs, kind } = lookupPath(root, parts);
  if (kind === 'symlink') throw new Sys('ENOTDIR');
  return abs;
}

function openForWrite(abs: string): number {
  try {
    return openSync(abs, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Our API writes nodes, not paths: a symlink or fifo node is simply not a regular file.
    if (code === 'ELOOP' || code === 'ENXIO') throw new Sys('EINVAL');
    throw e;
  }
}

function runOnLinux(root: string, s: OpSpec): void {
  sys(() => {
    switch (s.op) {
      case 'create': {
        const p = join(dirPath(root, s.dir), s.name);
        closeSync(openSync(p, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, s.mode));
        chownSync(p, 1, 2);
        return;
      }
      case 'mkdir': {
        const p = join(dirPath(root, s.dir), s.name);
        mkdirSync(p, { mode: s.mode });
        chownSync(p, 1, 2);
        return;
      }
      case 'symlink': {
        const p = join(dirPath(root, s.dir), s.name);
        symlinkSync(s.target, p);
        lchownSync(p, 1, 2);
        return;
      }
      case 'write':
      case 'truncate': {
        const fd = openForWrite(lookupPath(root, s.path).abs);
        try {
          if (s.op === 'write') writeSync(fd, s.data, 0, s.data.length, s.offset);
          else ftruncateSync(fd, s.size);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'unlink':
        return unlinkSync(join(dirPath(root, s.dir), s.name));
      case 'rmdir':
        return rmdirSync(join(dirPath(root, s.dir), s.name));
      case 'rename': {
        const from = dirPath(root, s.oldDir);
        const to = dirPath(root, s.newDir);
        return renameSync(join(from, s.oldName), join(to, s.newName));
      }
      case 'link': {
        const target = lookupPath(root, s.target).abs;
        return linkSync(target, join(dirPath(root, s.dir), s.name));
      }
      case 'chmod': {
        const { abs, kind } = lookupPath(root, s.path);
        if (kind === 'symlink') throw new Sys('EOPNOTSUPP'); // Linux has no lchmod (fchmodat NOFOLLOW says so)
        return chmodSync(abs, s.mode);
      }
      case 'xattr':
        throw new Error('not replayed');
    }
  });
}

function materialize(root: string, entries: TarEntry[]): void {
  for (const { header: h, data } of entries) {
    const p = join(root, h.name);
    if (h.type === 'directory') mkdirSync(p, { recursive: true, mode: h.mode });
    else if (h.type === 'file') writeFileSync(p, data, { mode: h.mode });
    else if (h.type === 'hardlink') linkSync(join(root, h.linkname), p);
    else if (h.type === 'symlink') symlinkSync(h.linkname, p);
    else if (h.type === 'fifo') execFileSync('mkfifo', ['-m', h.mode.toString(8), p]);
    if (h.type !== 'symlink' && h.type !== 'hardlink') chmodSync(p, h.mode);
  }
}

describe('Overlay against the Linux kernel', () => {
  it('runs as root (ownership is part of the comparison)', () => {
    expect(process.getuid?.()).toBe(0);
  });

  for (let seed = 1; seed <= Number(process.env.FS_SEEDS ?? 25); seed++) {
    it(`random operations agree with a real directory, seed ${seed}`, () => {
      process.umask(0);
      const entries = baseEntries().map((e) => ({ ...e, header: { ...e.header, xattrs: undefined } }));
      const root = join(work, `s${seed}`);
      mkdirSync(root);
      materialize(root, entries);
      const ov = new Overlay({ lower: applyLayer(null, entries) });
      const model = Model.fromTree(applyLayer(null, entries));
      expect(dumpDisk(root).slice(1)).toEqual(dumpFs(ov).slice(1));
      const r = new Rng(seed * 65537);
      const log: string[] = [];
      let agreedErrors = 0;
      for (let step = 0; step < 150; step++) {
        const op = randomOp(r, model);
        if (op.spec.op === 'xattr') continue;
        const kernel = outcome(() => runOnLinux(root, op.spec), Sys);
        const ours = outcome(() => op.fs(ov), FsError);
        const modelSays = outcome(() => op.model(model), ModelError);
        log.push(`${op.text} => kernel ${kernel}`);
        if (ours !== kernel || modelSays !== kernel) throw new Error(`${op.text}: kernel ${kernel}, overlay ${ours}, model ${modelSays}\n${log.slice(-15).join('\n')}`);
        if (kernel !== 'ok') agreedErrors++;
      }
      expect(agreedErrors).toBeGreaterThan(10);
      expect(dumpFs(ov).slice(1)).toEqual(dumpDisk(root).slice(1));
    });
  }
});
