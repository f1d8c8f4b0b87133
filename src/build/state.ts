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
  /**
   * The variables RUN sees and words expand with (BuildKit's state env): the base image's Env,
   * then ENV and ARG values in order, the last write winning.
   */
  vars: Map<string, string>;
  /** ARGs declared in the stage (and the stages it is built FROM): name -> value (undefined: declared without a value). */
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

/** The env a RUN sees: the state's variables (ENV and ARG values, in order). */
export function runEnv(s: StageState): string[] {
  return [...s.vars].map(([k, v]) => `${k}=${v}`);
}

/**
 * BuildKit's `|N A=b ...` prefix of a RUN's history: every ARG declared in the stage, with the
 * value the RUN sees (an ENV of the same name wins; an ARG without a value shows as `A=`).
 */
export function argPrefix(s: StageState): string {
  const pairs = s.argOrder.map((n) => `${n}=${s.vars.get(n) ?? s.args.get(n) ?? ''}`);
  return pairs.length ? `|${pairs.length} ${pairs.join(' ')} ` : '';
}

/** Variable lookup for expansion: the state's variables. */
export function lookupIn(s: StageState): (name: string) => string | undefined {
  return (name) => s.vars.get(name);
}

/** The variables of an image config's Env. */
export function varsOf(env: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
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

/** BuildKit's `HEALTHCHECK %+v` of the config: `{Test:[CMD-SHELL x] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:3}`. */
export function goHealthcheck(h: NonNullable<BuildConfig['Healthcheck']>): string {
  const d = (v: number | undefined): string => goDuration(v ?? 0);
  return `{Test:${goList(h.Test)} Interval:${d(h.Interval)} Timeout:${d(h.Timeout)} StartPeriod:${d(h.StartPeriod)} StartInterval:${d(h.StartInterval)} Retries:${h.Retries ?? 0}}`;
}
