/**
 * The one command table: every `skiff` command with its flags and help, dispatched from shell
 * words. The Node CLI (cli/main.ts) and the browser terminal (web/shell) both run lines through
 * `CommandTable.execute`; only the CommandContext they pass differs. Docker's exit statuses:
 * 0, 1 for an engine error ("Error: ..."), 125 for a usage error, the container's own for run.
 */
import { isSkiffError } from '../../errors.ts';
import { displayText } from '../present/escape.ts';
import { buildCommands } from './build.ts';
import { containerCommands } from './containers.ts';
import { ExitStatusError, type Command, type CommandContext } from './context.ts';
import { helpText, hostOnlyFlags, parseFlags, UsageError } from './flags.ts';
import { imageCommands } from './images.ts';
import { runCommands } from './run.ts';
import { registryCommands } from './registry.ts';
import { systemCommands } from './system.ts';
import { volumeCommands } from './volumes.ts';
import { networkCommands } from './networks.ts';
import { resourceCommands } from './resources.ts';
import { cp } from './cp.ts';
import { eventsCommand } from './events.ts';
import { VERSION } from './version.ts';

export { VERSION };

export const COMMANDS: readonly Command[] = [...runCommands, ...imageCommands, ...buildCommands, ...registryCommands, ...containerCommands, ...volumeCommands, ...networkCommands, ...resourceCommands, cp, ...systemCommands, eventsCommand];

/** Management commands ("skiff image ls"): the first word alone prints their list. */
const GROUPS: Record<string, string> = { builder: 'Manage builds', container: 'Manage containers', image: 'Manage images', system: 'Manage skiff', volume: 'Manage volumes', network: 'Manage networks' };

export interface ExecuteOptions {
  /** Called for an error that is not a SkiffError (a bug): the CLI offers a stack trace. */
  onInternalError?(err: unknown): void;
}

export class CommandTable {
  readonly #byName = new Map<string, Command>();

  constructor(readonly commands: readonly Command[] = COMMANDS, readonly title = 'A rootless, user-space container runtime that runs wherever JavaScript runs') {
    for (const c of commands) for (const n of [c.name, ...(c.aliases ?? [])]) this.#byName.set(n, c);
  }

  /** Every name a command answers to ("ps", "container ls", ...), for help and completion. */
  names(): string[] {
    return [...this.#byName.entries()].filter(([, c]) => !c.hidden).map(([n]) => n).sort();
  }

  /** The command the words name (two words first: "image ls"), and the words after its name. */
  find(words: readonly string[]): { command: Command; rest: string[] } | undefined {
    const two = words.length > 1 ? this.#byName.get(`${words[0]} ${words[1]}`) : undefined;
    if (two) return { command: two, rest: words.slice(2) };
    const one = words.length > 0 ? this.#byName.get(words[0]!) : undefined;
    return one ? { command: one, rest: words.slice(1) } : undefined;
  }

  /** Runs one command line (its words, without "skiff"); never throws: errors are printed and become the status. */
  async execute(words: readonly string[], ctx: CommandContext, o: ExecuteOptions = {}): Promise<number> {
    const first = words[0];
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      const name = words.slice(1).join(' ');
      if (!name) return ctx.stdout(this.help(ctx.host.kind)), 0;
      if (GROUPS[name]) return ctx.stdout(this.groupHelp(name)), 0;
      const hit = this.find(words.slice(1));
      if (!hit || hit.rest.length) return this.#unknown(ctx, name);
      return ctx.stdout(helpText(hit.command)), 0;
    }
    if (first === '--version' || first === '-v') {
      return ctx.stdout(`skiff version ${VERSION}${ctx.host.kind === 'browser' ? ' (browser)' : ''}\n`), 0;
    }
    const hit = this.find(words);
    if (!hit) {
      if (GROUPS[first] && (words.length === 1 || words[1] === '--help')) return ctx.stdout(this.groupHelp(first)), 0;
      return this.#unknown(ctx, GROUPS[first] && words[1] ? `${first} ${words[1]}` : first);
    }
    const { command, rest } = hit;
    try {
      const { flags, args, help } = parseFlags(command, rest);
      if (help) return ctx.stdout(helpText(command)), 0;
      if (ctx.host.kind === 'browser') {
        const refused = hostOnlyFlags(command, flags)[0];
        if (refused) throw new UsageError(command.name, `--${refused.name}: ${refused.hostOnly}`);
      }
      return (await command.run(ctx, flags, args)) ?? 0;
    } catch (err) {
      return report(err, ctx, o);
    }
  }

  #unknown(ctx: CommandContext, name: string): number {
    ctx.stderr(`skiff: '${displayText(name)}' is not a skiff command.\nSee 'skiff --help'.\n`);
    return 125;
  }

  /** `skiff --help`: every command, management commands first. */
  help(kind: 'node' | 'browser' = 'node'): string {
    const row = (n: string, s: string): string => `  ${n.padEnd(12)}${s}`;
    const top = this.commands.filter((c) => !c.hidden && !c.name.includes(' '));
    return `\nUsage:  skiff [OPTIONS] COMMAND\n\n${this.title}\n\nManagement Commands:\n${Object.entries(GROUPS).map(([n, s]) => row(n, s)).join('\n')}\n\n`
      + `Commands:\n${top.map((c) => row(c.name, c.summary)).join('\n')}\n\nGlobal Options:\n  -h, --help      Print usage\n  -v, --version   Print version information and quit\n`
      + `${kind === 'browser' ? '\nDrop a docker save or OCI archive on the page to load it.\n' : ''}\nRun 'skiff COMMAND --help' for more information on a command.\n`;
  }

  groupHelp(group: string): string {
    const subs = this.commands.flatMap((c) => [c.name, ...(c.aliases ?? [])].filter((n) => n.startsWith(`${group} `)).slice(0, 1).map((n) => [n.slice(group.length + 1), c.summary] as const));
    return `\nUsage:  skiff ${group} COMMAND\n\n${GROUPS[group]}\n\nCommands:\n${subs.map(([n, s]) => `  ${n.padEnd(12)}${s}`).join('\n')}\n\nRun 'skiff ${group} COMMAND --help' for more information on a command.\n`;
  }
}

function report(err: unknown, ctx: CommandContext, o: ExecuteOptions): number {
  if (err instanceof UsageError) {
    ctx.stderr(`skiff: ${displayText(err.message, { multiline: true })}\nSee 'skiff ${err.command} --help'.\n`);
    return 125;
  }
  if (err instanceof ExitStatusError) {
    // The container's own status is passed on silently; skiff's failures (125+) say why.
    if (err.message) ctx.stderr(`skiff: ${displayText(err.message, { multiline: true })}\n`);
    return err.status;
  }
  const msg = err instanceof Error ? err.message : String(err);
  ctx.stderr(`Error: ${displayText(msg, { multiline: true })}\n`);
  if (!isSkiffError(err)) o.onInternalError?.(err);
  return 1;
}
