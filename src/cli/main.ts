/**
 * The `skiff` command line: the command table (commands/table.ts, shared with the browser
 * terminal) over the Engine in this process, with the Node host (host.ts). Exit codes as
 * Docker's: 0 ok, 1 for errors from the engine ("Error: ..." on stderr), 125 for usage errors
 * (unknown command or flag, missing argument), the container's own status for run/exec.
 */
import type { Engine } from '../engine/engine.ts';
import { COMMANDS, CommandTable } from './commands/table.ts';
import { nodeContext } from './host.ts';
import type { CliIO } from './io.ts';
import { nodeCommands } from './node-commands.ts';

export interface MainOptions {
  io?: Partial<CliIO>;
  home?: string;
}

/** A reader that went away (`skiff images | head -1`) is not an error: later writes are dropped. */
function quietOnEpipe(stream: NodeJS.WritableStream): () => void {
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  };
  stream.on('error', onError);
  return () => stream.off('error', onError);
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  let engine: Promise<Engine> | undefined;
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    engine: () => (engine ??= import('../node.ts').then(({ openEngine }) => openEngine(options.home ? { home: options.home } : {}))),
    ...options.io,
  };
  const undo = [quietOnEpipe(io.stdout), quietOnEpipe(io.stderr)];
  const table = new CommandTable([...COMMANDS, ...nodeCommands(io)]);
  try {
    return await table.execute(argv.slice(2), nodeContext(io), {
      onInternalError: (err) => {
        if (process.env['SKIFF_DEBUG'] && err instanceof Error) io.stderr.write(`${err.stack}\n`);
        else io.stderr.write('(an internal error: rerun with SKIFF_DEBUG=1 for a stack trace)\n');
      },
    });
  } finally {
    for (const u of undo) u();
    // The VM and WASI workers live in this process: stop them so it can exit.
    if (engine && !options.io?.engine) await engine.then((e) => e.shutdown(), () => {}).catch(() => {});
  }
}
