/**
 * The C probe (files, dirs, symlinks, rename, times, env, args, stdin, exit code) must print the
 * same under our runtime, in a worker and inline, as under Node's node:wasi.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capture, captureNodeWasi, emptyOverlay, fixture } from './helpers.ts';

const args = ['probe', '/work', '7', 'héllo wörld', '日本語'];
const env = { GREETING: 'hi there', EMPTY: '' };
const stdin = 'line one\nline two\n' + 'x'.repeat(10000);

describe('probe.c under skiff and node:wasi', () => {
  it('gives the same output, stderr and exit code', async () => {
    const module = fixture('probe');
    const oracle = await captureNodeWasi({ module, args, env, stdin, setup: (root) => void mkdirSync(`${root}/work`) });
    rmSync(oracle.root, { recursive: true, force: true });
    expect(oracle.stdout).toContain('argc 5');
    expect(oracle.stdout).not.toContain('FAIL');
    expect(oracle.exitCode).toBe(7);

    for (const mode of ['worker', 'inline'] as const) {
      const fs = emptyOverlay();
      fs.mkdir(fs.root(), 'work', { mode: 0o755, uid: 0, gid: 0 });
      const ours = await capture({ module, args, env, stdin, mounts: [{ path: '/', fs }], mode });
      expect({ mode, out: ours.stdout }).toEqual({ mode, out: oracle.stdout });
      expect(ours.stderr).toBe(oracle.stderr);
      expect(ours.exitCode).toBe(7);
      // The writes landed in the overlay the caller owns.
      const work = fs.lookup(fs.root(), 'work');
      expect(fs.readdir(work).map((e) => e.name).sort()).toEqual(['a.txt', 'd2', 'dangling', 'e', 'fresh', 'ln', 'ln2', 'r2']);
      expect(fs.readlink(fs.lookup(work, 'ln'))).toBe('a.txt');
      expect(fs.stat(fs.lookup(work, 'a.txt')).mtimeMs).toBe(1234567890000);
    }
  });
});
