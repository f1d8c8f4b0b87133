/**
 * Docker-style flag parsing for the browser shell (the Node CLI uses commander, which needs Node):
 * `-a`, `-af` (grouped booleans), `-e K=V`, `-eK=V`, `--env K=V`, `--env=K=V`, `--no-trunc`,
 * `--` ends flags. Commands that take a command line after the image (`run`, `create`, `exec`)
 * stop at their first positional argument, so `run busybox ls -l` keeps `-l` for the container.
 */
export interface FlagSpec {
  /** Long name, also the key in the result ("no-trunc"). */
  name: string;
  short?: string;
  /** Takes a value (`-e K=V`); else boolean. */
  value?: boolean;
  /** Collects every occurrence into an array. */
  repeat?: boolean;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
  usage: string;
  summary: string;
  flags: readonly FlagSpec[];
  /** Flags end at the first positional argument. */
  stopAtPositional?: boolean;
  minArgs?: number;
  maxArgs?: number;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {
  constructor(readonly command: string, message: string) {
    super(message);
  }
}

export function parseFlags(spec: CommandSpec, argv: readonly string[]): { flags: FlagValues; args: string[]; help: boolean } {
  const flags: FlagValues = {};
  const args: string[] = [];
  let help = false;
  const set = (f: FlagSpec, v: string | boolean): void => {
    if (f.repeat) flags[f.name] = [...((flags[f.name] as string[] | undefined) ?? []), String(v)];
    else flags[f.name] = v;
  };
  const byLong = (n: string): FlagSpec | undefined => spec.flags.find((f) => f.name === n);
  const byShort = (c: string): FlagSpec | undefined => spec.flags.find((f) => f.short === c);
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { i++; break; }
    if (a === '--help' || a === '-h') { help = true; continue; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const f = byLong(name);
      if (!f) throw new UsageError(spec.name, `unknown flag: --${name}`);
      if (!f.value) {
        if (eq >= 0) throw new UsageError(spec.name, `flag --${name} takes no value`);
        set(f, true);
      } else if (eq >= 0) set(f, a.slice(eq + 1));
      else {
        if (i + 1 >= argv.length) throw new UsageError(spec.name, `flag needs an argument: --${name}`);
        set(f, argv[++i]!);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const f = byShort(a[j]!);
        if (!f) throw new UsageError(spec.name, `unknown shorthand flag: '${a[j]}' in ${a}`);
        if (!f.value) { set(f, true); continue; }
        const rest = a.slice(j + 1).replace(/^=/, '');
        if (rest) set(f, rest);
        else if (i + 1 < argv.length) set(f, argv[++i]!);
        else throw new UsageError(spec.name, `flag needs an argument: '${a[j]}' in -${a[j]}`);
        break;
      }
      continue;
    }
    args.push(a);
    if (spec.stopAtPositional) { i++; break; }
  }
  args.push(...argv.slice(i));
  if (!help) {
    if (spec.minArgs !== undefined && args.length < spec.minArgs) {
      throw new UsageError(spec.name, `"skiff ${spec.name}" requires ${spec.minArgs === 1 ? 'at least 1 argument' : `at least ${spec.minArgs} arguments`}.\nUsage:  skiff ${spec.name} ${spec.usage}`);
    }
    if (spec.maxArgs !== undefined && args.length > spec.maxArgs) {
      throw new UsageError(spec.name, `"skiff ${spec.name}" accepts at most ${spec.maxArgs} argument${spec.maxArgs === 1 ? '' : 's'}.\nUsage:  skiff ${spec.name} ${spec.usage}`);
    }
  }
  return { flags, args, help };
}

/** `skiff NAME --help` text. */
export function helpText(spec: CommandSpec): string {
  const rows = spec.flags.map((f) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.value ? ' value' : ''}`;
    return `  ${left.padEnd(26)}${f.help}`;
  });
  return `\nUsage:  skiff ${spec.name} ${spec.usage}\n\n${spec.summary}\n${rows.length ? `\nOptions:\n${rows.join('\n')}\n` : ''}`;
}
