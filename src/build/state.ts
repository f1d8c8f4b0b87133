/** What a stage carries from step to step, and Docker's history strings for each instruction. */
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/config.ts';
import type { ImageRecord, LayerRecord } from '../engine/types.ts';

/** The image config's `config` as a build changes it. */
export type BuildConfig = ContainerConfig;

export interface StageState {
  /** The base image's config (platform, author ...) and the layers so far. */
  base: ImageConfig;
  baseImage?: ImageRecord;
  layers: LayerRecord[];
  config: BuildConfig;
  history: HistoryEntry[];
  /** The cache key of the state so far. */
  key: string;
  /** After the first miss, nothing later in the stage is looked up. */
  missed: boolean;
  /** ARGs declared in the stage: name -> value (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  /** In order of declaration, for RUN's `|N A=b` history prefix. */
  argOrder: string[];
  author?: string;
  /** A CMD was set in this stage (an ENTRYPOINT then keeps it). */
  cmdSet?: boolean;
}

/** Go's %q of a []string: `["a" "b"]`, as BuildKit's history writes CMD and ENTRYPOINT. */
export function goQuoteList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

/** Go's %v of a []string: `[a b]`. */
export function goList(xs: readonly string[]): string {
  return `[${xs.join(' ')}]`;
}

/** Go's %v of a map[string]struct{}: `map[80/tcp:{} 443/tcp:{}]`, keys sorted. */
export function goSet(keys: readonly string[]): string {
  return `map[${[...keys].sort().map((k) => `${k}:{}`).join(' ')}]`;
}

/** The env a RUN sees: ENV entries, then the stage's ARGs with values (ENV wins). */
export function runEnv(s: StageState): string[] {
  const env = [...(s.config.Env ?? [])];
  const have = new Set(env.map((e) => e.slice(0, e.indexOf('='))));
  for (const name of s.argOrder) {
    const v = s.args.get(name);
    if (v !== undefined && !have.has(name)) env.push(`${name}=${v}`);
  }
  return env;
}

/**
 * BuildKit's `|N A=b ...` prefix of a RUN's history: every ARG declared in the stage, with the
 * value the RUN sees (an ENV of the same name wins; an ARG without a value shows as `A=`).
 */
export function argPrefix(s: StageState): string {
  const look = lookupIn(s);
  const pairs = s.argOrder.map((n) => `${n}=${look(n) ?? ''}`);
  return pairs.length ? `|${pairs.length} ${pairs.join(' ')} ` : '';
}

/** Variable lookup for expansion: ENV over ARG. */
export function lookupIn(s: StageState): (name: string) => string | undefined {
  const env = new Map<string, string>();
  for (const e of s.config.Env ?? []) {
    const i = e.indexOf('=');
    env.set(e.slice(0, i), e.slice(i + 1));
  }
  return (name) => (env.has(name) ? env.get(name) : s.args.get(name));
}

export function setEnv(config: BuildConfig, key: string, value: string): void {
  const env = (config.Env ?? []).filter((e) => e.slice(0, e.indexOf('=')) !== key);
  const idx = (config.Env ?? []).findIndex((e) => e.slice(0, e.indexOf('=')) === key);
  const entry = `${key}=${value}`;
  if (idx >= 0) env.splice(idx, 0, entry);
  else env.push(entry);
  config.Env = env;
}

/** Go's time.Duration String() of nanoseconds ("1m30s", "500ms", "0s"). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e3) out = `${n}ns`;
  else if (n < 1e6) out = `${trim(n / 1e3)}µs`;
  else if (n < 1e9) out = `${trim(n / 1e6)}ms`;
  else {
    const h = Math.floor(n / 3600e9);
    n -= h * 3600e9;
    const m = Math.floor(n / 60e9);
    n -= m * 60e9;
    out = `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trim(n / 1e9)}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** Go's %q of an int: a quoted rune ('A', '\x03'). */
function goRune(n: number): string {
  if (n >= 0x20 && n < 0x7f) return `'${n === 0x27 || n === 0x5c ? '\\' : ''}${String.fromCharCode(n)}'`;
  if (n < 0x100) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  return `'\\u${n.toString(16).padStart(4, '0')}'`;
}

/** BuildKit's `HEALTHCHECK %q` of the config: `&{["CMD-SHELL" "x"] "30s" "5s" "0s" "0s" '\x03'}`. */
export function goHealthcheck(h: NonNullable<BuildConfig['Healthcheck']>): string {
  const d = (v: number | undefined): string => JSON.stringify(goDuration(v ?? 0));
  return `&{${goQuoteList(h.Test)} ${d(h.Interval)} ${d(h.Timeout)} ${d(h.StartPeriod)} ${d(h.StartInterval)} ${goRune(h.Retries ?? 0)}}`;
}
