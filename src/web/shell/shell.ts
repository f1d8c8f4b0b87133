/**
 * The browser's `skiff` shell: one command line in, Docker-style output and an exit status out.
 * Accepts the CLI's syntax with or without the leading `skiff` ("images", "skiff ps -a",
 * "image ls"). Adding a command is one ShellCommand entry in src/web/shell/commands/.
 */
import { SkiffError, isSkiffError } from '../../errors.ts';
import { containerCommands } from './commands/containers.ts';
import { imageCommands } from './commands/images.ts';
import { lifecycleCommands } from './commands/lifecycle.ts';
import { processCommands } from './commands/process.ts';
import { volumeCommands } from './commands/volumes.ts';
import type { ShellCommand, ShellContext } from './context.ts';
import { helpText, parseFlags, UsageError } from './flags.ts';
import { splitWords } from './words.ts';

export const COMMANDS: readonly ShellCommand[] = [...processCommands, ...lifecycleCommands, ...imageCommands, ...containerCommands, ...volumeCommands];

const BUILTINS: Record<string, string> = {
  help: 'Show the commands, or `help COMMAND` for one',
  clear: 'Clear the terminal',
  version: 'Show the skiff version',
};

export class Shell {
  readonly #byName = new Map<string, ShellCommand>();

  constructor(readonly ctx: ShellContext, commands: readonly ShellCommand[] = COMMANDS, readonly onClear: () => void = () => {}) {
    for (const c of commands) {
      this.#byName.set(c.spec.name, c);
      for (const a of c.aliases ?? []) this.#byName.set(a, c);
    }
  }

  /** Command names, for help and completion. */
  names(): string[] {
    return [...this.#byName.keys(), ...Object.keys(BUILTINS)].sort();
  }

  /** Completions of the command word(s) being typed ("ima" -> images, image ...; "image l" -> ls). */
  complete(before: string): string[] {
    const words = before.replace(/^\s*skiff\s+/, '').split(/\s+/);
    if (words.length > 2) return [];
    const typed = words.join(' ');
    const hits = new Set<string>();
    for (const n of this.names()) {
      if (!n.startsWith(typed)) continue;
      // Complete one word at a time: "image" before "image ls".
      hits.add(n.split(' ').slice(0, words.length).join(' '));
    }
    return [...hits].map((h) => h.split(' ')[words.length - 1]!).filter((w, i, a) => a.indexOf(w) === i).sort();
  }

  /** Runs one line; never throws: errors are printed and become the status. */
  async execute(line: string): Promise<number> {
    let words: string[];
    try {
      words = splitWords(line);
    } catch (err) {
      this.ctx.stderr(`skiff: ${(err as Error).message}\n`);
      return 2;
    }
    if (words[0] === 'skiff') words.shift();
    if (words.length === 0) return 0;
    if (words[0] === 'help' || words[0] === '--help') return this.#help(words.slice(1));
    if (words[0] === 'clear') { this.onClear(); return 0; }
    if (words[0] === 'version' || words[0] === '--version' || words[0] === '-v') { this.ctx.stdout('skiff version 0.1.0 (browser)\n'); return 0; }
    const two = words.length > 1 ? `${words[0]} ${words[1]}` : '';
    const cmd = this.#byName.get(two) ?? this.#byName.get(words[0]!);
    const rest = this.#byName.get(two) ? words.slice(2) : words.slice(1);
    if (!cmd) {
      this.ctx.stderr(`skiff: '${words[0]}' is not a skiff command.\nSee 'help'.\n`);
      return 127;
    }
    try {
      const { flags, args, help } = parseFlags(cmd.spec, rest);
      if (help) { this.ctx.stdout(helpText(cmd.spec)); return 0; }
      return await cmd.run(this.ctx, flags, args);
    } catch (err) {
      this.ctx.progressDone();
      if (err instanceof UsageError) {
        this.ctx.stderr(`skiff: ${err.message}\nSee 'skiff ${err.command} --help'.\n`);
        return 125;
      }
      const e = isSkiffError(err) ? err : new SkiffError('INTERNAL', (err as Error)?.message ?? String(err));
      this.ctx.stderr(`Error: ${e.message}\n`);
      // Docker: `run` exits 125 when the container could not be created or started.
      return e.code === 'UNSUPPORTED' || cmd.spec.name === 'run' ? 125 : 1;
    }
  }

  #help(args: string[]): number {
    const name = args.join(' ');
    if (name) {
      const cmd = this.#byName.get(name);
      if (!cmd) { this.ctx.stderr(`help: no command "${name}"\n`); return 1; }
      this.ctx.stdout(helpText(cmd.spec));
      return 0;
    }
    const seen = new Set<ShellCommand>();
    const rows: string[] = [];
    for (const c of this.#byName.values()) {
      if (seen.has(c)) continue;
      seen.add(c);
      rows.push(`  ${c.spec.name.padEnd(14)}${c.spec.summary}`);
    }
    for (const [n, s] of Object.entries(BUILTINS)) rows.push(`  ${n.padEnd(14)}${s}`);
    this.ctx.stdout(`Usage:  [skiff] COMMAND [OPTIONS]\n\nCommands:\n${rows.join('\n')}\n\nDrop a docker save or OCI archive on the page to load it.\nRun 'skiff COMMAND --help' for more information on a command.\n`);
    return 0;
  }
}
