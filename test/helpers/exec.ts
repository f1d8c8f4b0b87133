/** Running a real tool from a test: its stdout, or an error naming the command and its stderr. */
import { execFileSync } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  input?: string;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): string {
  try {
    return execFileSync(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: err });
  }
}
