/**
 * Docker's flag syntax (pflag's), sans-IO, for the one command table the Node CLI and the browser
 * terminal share: `-a`, `-af` (grouped booleans), `-e K=V`, `-eK=V`, `--env K=V`, `--env=K=V`,
 * `--rm=false`, `--no-trunc`, `--` ends flags. Commands that take a command line after the image
 * (`run`, `create`, `exec`) stop at their first positional argument, so `run busybox ls -l` keeps
 * `-l` for the container. Errors use pflag's words (`unknown flag: --bogus`).
 */
export interface FlagSpec {
  /** Long name, also the key in the result ("no-trunc"). */
  name: string;
  short?: string;
  /** Takes a value (`-e K=V`); the string names it in help ("KEY=value"). Else boolean. */
  value?: boolean | string;
  /** Collects every occurrence into an array. */
  repeat?: boolean;
  /** The value when the flag is not given. */
  default?: string | boolean;
  help: string;
  /**
   * The flag needs the host's files or processes: where the host has none (a browser), using it
   * is an error that says why (never "unknown flag"). The text is the reason.
   */
  hostOnly?: string;
  hidden?: boolean;
}

export interface CommandSpec {
  /** "run", or "image ls" for a subcommand. */
  name: string;
  /** Other names for the same command ("container run", "image list"). */
  aliases?: readonly string[];
  /** "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
  usage: string;
  summary: string;
  flags: readonly FlagSpec[];
  /** Flags end at the first positional argument. */
  stopAtPositional?: boolean;
  minArgs?: number;
  maxArgs?: number;
  /** Not listed in help (internal commands). */
  hidden?: boolean;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {
  constructor(readonly command: string, message: string) {
    super(message);
  }
}

function parseBool(spec: CommandSpec, f: FlagSpec, v: string): boolean {
  if (/^(1|t|true|TRUE|True)$/.test(v)) return true;
  if (/^(0|f|false|FALSE|False)$/.test(v)) return false;
  throw new UsageError(spec.name, `invalid argument "${v}" for "${f.short ? `-${f.short}, ` : ''}--${f.name}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

export function parseFlags(spec: CommandSpec, argv: readonly string[]): { flags: FlagValues; args: string[]; help: boolean } {
  const flags: FlagValues = {};
  for (const f of spec.flags) if (f.default !== undefined) flags[f.name] = f.default;
  const given = new Set<string>();
  const args: string[] = [];
  let help = false;
  const set = (f: FlagSpec, v: string | boolean): void => {
    if (f.repeat) flags[f.name] = [...(given.has(f.name) ? (flags[f.name] as string[]) : []), String(v)];
    else flags[f.name] = v;
    given.add(f.name);
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
      if (!f.value) set(f, eq < 0 ? true : parseBool(spec, f, a.slice(eq + 1)));
      else if (eq >= 0) set(f, a.slice(eq + 1));
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
        if (!f.value) {
          if (a[j + 1] === '=') { set(f, parseBool(spec, f, a.slice(j + 2))); break; }
          set(f, true);
          continue;
        }
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
      throw new UsageError(spec.name, spec.maxArgs === 0
        ? `"skiff ${spec.name}" accepts no arguments.\nUsage:  skiff ${spec.name} ${spec.usage}`
        : `"skiff ${spec.name}" accepts at most ${spec.maxArgs} argument${spec.maxArgs === 1 ? '' : 's'}.\nUsage:  skiff ${spec.name} ${spec.usage}`);
    }
  }
  return { flags, args, help };
}

/** The flags given that need what this host lacks (FlagSpec.hostOnly), for one clear error. */
export function hostOnlyFlags(spec: CommandSpec, flags: FlagValues): FlagSpec[] {
  return spec.flags.filter((f) => f.hostOnly && flags[f.name] !== undefined && flags[f.name] !== f.default && flags[f.name] !== false);
}

/** `skiff NAME --help` text, Docker's layout. */
export function helpText(spec: CommandSpec): string {
  const rows = spec.flags.filter((f) => !f.hidden).map((f) => {
    const value = f.value ? ` ${typeof f.value === 'string' ? f.value : f.repeat ? 'list' : 'string'}` : '';
    const left = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${value}`;
    const dflt = typeof f.default === 'string' && f.default !== '' ? ` (default "${f.default}")` : f.default === true ? ' (default true)' : '';
    return `  ${left.padEnd(30)}${f.help}${dflt}`;
  });
  const aliases = spec.aliases?.length ? `\nAliases:\n  skiff ${[spec.name, ...spec.aliases].join(', skiff ')}\n` : '';
  return `\nUsage:  skiff ${spec.name} ${spec.usage}\n\n${spec.summary}\n${aliases}${rows.length ? `\nOptions:\n${rows.join('\n')}\n` : ''}`;
}
