/**
 * The terminal's attach: a transient status line ("starting the Linux VM…") is cleared before the
 * container's first output, also when that output arrives before the start's answer (a quick
 * `cat` under load did: its line was printed after the status, on the same row).
 */
import { describe, expect, it } from 'vitest';
import { attachProcess } from '../../src/web/shell/attach.ts';
import type { ShellContext } from '../../src/web/shell/context.ts';
import type { RuntimeProcess } from '../../src/runtime/types.ts';

function recorder() {
  const calls: string[] = [];
  const ctx = {
    stdout: (s: string) => calls.push(`out:${s}`),
    stderr: (s: string) => calls.push(`err:${s}`),
    progressDone: () => calls.push('done'),
  } as unknown as ShellContext;
  return { calls, ctx };
}

const exited = (code: number) => ({ wait: () => Promise.resolve({ exitCode: code, oomKilled: false }) }) as unknown as RuntimeProcess;

describe('attachProcess', () => {
  it('clears the status before output that comes ahead of the start', async () => {
    const { calls, ctx } = recorder();
    const code = await attachProcess(ctx, { tty: false, interactive: false }, async (io) => {
      io.onStdout(new TextEncoder().encode('written by linux\n'));
      io.onStderr(new TextEncoder().encode('warn\n'));
      return { process: exited(3), pty: false };
    });
    expect(code).toBe(3);
    expect(calls).toEqual(['done', 'out:written by linux\n', 'err:warn\n']);
  });

  it('clears it once the process runs when it prints nothing', async () => {
    const { calls, ctx } = recorder();
    await attachProcess(ctx, { tty: false, interactive: false }, async () => ({ process: exited(0), pty: false }));
    expect(calls).toEqual(['done']);
  });
});
