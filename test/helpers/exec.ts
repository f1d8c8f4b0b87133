/**
 * Running a real tool from a test: its stdout, or an error naming the command and its stderr. A
 * peer of .ci/debian-packages that is not installed is named with its package (requireTool).
 */
import { execFileSync } from 'node:child_process';
import { debPackageOf, requireTool } from './peers.ts';

export interface RunOptions {
  cwd?: string;
  input?: string;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): string {
  const deb = debPackageOf(cmd);
  if (deb) requireTool(cmd, deb);
  try {
    return execFileSync(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: err });
  }
}
