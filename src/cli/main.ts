/**
 * The `skiff` command line: Docker's command and flag names over the Engine API.
 * Exit codes as Docker's: 0 ok, 1 for errors from the engine ("Error: ..." on stderr), 125 for
 * usage errors (unknown command or flag, missing argument).
 */
import { Command, CommanderError } from 'commander';
import type { Engine } from '../engine/engine.ts';
import { isSkiffError } from '../errors.ts';
import { registerContainerCommands } from './commands/containers.ts';
import { registerImageCommands, ReportedError } from './commands/images.ts';
import { ExitStatusError, registerRunCommands } from './commands/run.ts';
import { registerSystemCommands } from './commands/system.ts';
import { registerVolumeCommands } from './commands/volumes.ts';
import type { CliIO } from './io.ts';

/**
 * Commands other parts add (runtimes: run, start, exec, logs ...): a module exporting
 * `registerCommands(program, io)`. src/runtime/cli.ts is picked up when it exists.
 */
export type CommandPlugin = (program: Command, io: CliIO) => void;

async function runtimePlugins(): Promise<CommandPlugin[]> {
  try {
    const mod = (await import('../runtime/cli.ts' as string)) as { registerCommands?: CommandPlugin };
    return mod.registerCommands ? [mod.registerCommands] : [];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('runtime/cli.ts')) return [];
    throw err;
  }
}

export function buildProgram(io: CliIO, plugins: CommandPlugin[] = []): Command {
  const program = new Command('skiff')
    .description('A rootless, user-space container runtime that runs wherever JavaScript runs')
    .version('0.1.0', '-v, --version')
    .showSuggestionAfterError(true)
    .enablePositionalOptions();
  const image = program.command('image').description('Manage images');
  const container = program.command('container').description('Manage containers');
  const system = program.command('system').description('Manage skiff');
  const volume = program.command('volume').description('Manage volumes');
  registerImageCommands(program, image, io);
  registerContainerCommands(program, container, io);
  registerRunCommands(program, container, io);
  registerSystemCommands(program, system, io);
  registerVolumeCommands(volume, io);
  for (const plugin of plugins) plugin(program, io);
  const configure = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`skiff: ${s.replace(/^error: /, '')}See 'skiff ${c.name() === 'skiff' ? '' : `${c.name()} `}--help'.\n`),
    });
    for (const sub of c.commands) configure(sub);
  };
  configure(program);
  return program;
}

export interface MainOptions {
  io?: Partial<CliIO>;
  home?: string;
  /** Extra commands; default: src/runtime/cli.ts's registerCommands when that file exists. */
  plugins?: CommandPlugin[];
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
  let program: Command;
  try {
    program = buildProgram(io, options.plugins ?? (await runtimePlugins()));
  } catch (err) {
    io.stderr.write(`Error: loading commands: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return report(err, io);
  } finally {
    // The VM and WASI workers live in this process: stop them so it can exit.
    if (engine && !options.io?.engine) await engine.then((e) => e.shutdown(), () => {}).catch(() => {});
  }
}

function report(err: unknown, io: CliIO): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    if (err.code === 'commander.executeSubCommandAsync') return 0;
    return 125;
  }
  if (err instanceof ReportedError) return 1;
  if (err instanceof ExitStatusError) {
    // The container's own status is passed on silently; skiff's failures (125+) say why.
    if (err.message) io.stderr.write(`skiff: ${err.message}\n`);
    return err.status;
  }
  const msg = err instanceof Error ? err.message : String(err);
  io.stderr.write(`Error: ${msg}\n`);
  if (process.env['SKIFF_DEBUG'] && err instanceof Error) io.stderr.write(`${err.stack}\n`);
  if (!isSkiffError(err) && !process.env['SKIFF_DEBUG']) io.stderr.write('(an internal error: rerun with SKIFF_DEBUG=1 for a stack trace)\n');
  return 1;
}
