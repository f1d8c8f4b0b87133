/**
 * The real bin (bin/skiff.js) in a child process over a given $SKIFF_HOME: exit code and both
 * outputs, never a throw, so a test can assert on a failing command's stderr.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const skiffBin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');

export interface SkiffResult { code: number; stdout: string; stderr: string }

export interface SkiffRunOptions {
  home: string;
  cwd: string;
  /** Written to stdin, then EOF; without it stdin is closed at once. */
  input?: string;
}

export function runSkiff(args: string[], opts: SkiffRunOptions): Promise<SkiffResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [skiffBin, ...args], { env: { ...process.env, SKIFF_HOME: opts.home }, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    if (opts.input !== undefined) p.stdin.end(opts.input);
    else p.stdin.end();
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
