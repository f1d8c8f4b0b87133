/**
 * A container process (in the engine worker, reached through the Engine's own API) attached to
 * the terminal: output decoded as it streams, with -i the keyboard as its stdin (raw when the
 * guest has a PTY, which echoes and edits itself), with -t the terminal's size followed, Ctrl-C
 * in cooked mode as SIGINT. Used by `run`, `exec` and `start -a`.
 */
import { displayText } from '../../cli/present/escape.ts';
import type { ProcessIO, RuntimeProcess } from '../../runtime/types.ts';
import type { ShellContext } from './context.ts';

export interface AttachOptions {
  tty: boolean;
  interactive: boolean;
}

export interface Attached {
  process: RuntimeProcess;
  /** The process has a real terminal in the guest (the VM with -t): keys go raw. */
  pty: boolean;
}

export async function attachProcess(ctx: ShellContext, o: AttachOptions, start: (io: ProcessIO, consoleSize?: { cols: number; rows: number }) => Promise<Attached>): Promise<number> {
  const out = new TextDecoder();
  const err = new TextDecoder();
  // Attached before the start, so keys typed meanwhile are not lost.
  const stdin = o.interactive ? ctx.attachStdin?.() : undefined;
  let unresize: (() => void) | undefined;
  try {
    const size = o.tty ? ctx.size?.() : undefined;
    // A status line ("starting the Linux VM…") goes before the first output: a quick command's
    // output can arrive before the start's answer does.
    let cleared = false;
    const clear = () => { if (!cleared) { cleared = true; ctx.progressDone(); } };
    const { process: proc, pty } = await start({
      onStdout: (d) => { clear(); ctx.stdout(out.decode(d, { stream: true })); },
      onStderr: (d) => { clear(); ctx.stderr(err.decode(d, { stream: true })); },
    }, size);
    clear();
    if (o.tty) unresize = ctx.onResize?.((s) => void Promise.resolve(proc.resize(s)).catch(() => {}));
    const exited = proc.wait();
    let ended = false;
    void exited.finally(() => { ended = true; }).catch(() => {});
    if (stdin) {
      stdin.setRaw(pty);
      stdin.onInterrupt(() => void Promise.resolve(proc.kill('SIGINT')).catch(() => {}));
      void (async () => {
        while (!ended) {
          const chunk = await stdin.read();
          if (ended) return;
          // Each write is awaited: the close must not overtake the last write on its way.
          if (chunk === null) return void (await proc.closeStdin());
          if (chunk.length) await proc.writeStdin(chunk);
        }
      })().catch(() => {});
    }
    const exit = await exited;
    if (exit.error && exit.exitCode >= 125) ctx.stderr(`skiff: ${displayText(exit.error, { multiline: true })}\n`);
    return exit.exitCode;
  } finally {
    stdin?.detach();
    unresize?.();
  }
}
