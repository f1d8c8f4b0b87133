/**
 * Healthchecks as Docker defines them: the image's `Healthcheck` (HEALTHCHECK in a Dockerfile),
 * the run flags (`--health-cmd`, `--health-interval` ..., `--no-healthcheck`, with docker/cli's
 * errors) or the Engine API's `Config.Healthcheck`, merged field by field as the daemon merges
 * them (daemon/commit.go: a zero field takes the image's value), checked as the daemon checks them
 * (daemon/container.go validateHealthCheck). Durations are nanoseconds, as in Docker's JSON.
 * The engine probes (engine/health.ts); this file only decides what to probe and how often.
 */
import { SkiffError } from '../../errors.ts';
import { parseInteger } from './flags.ts';

/** Docker's HealthConfig (the API's and the image config's shape). Zero or absent: the default. */
export interface HealthConfig {
  /** [] inherit the image's; ["NONE"]; ["CMD", arg...]; ["CMD-SHELL", command]. */
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** What the container spec keeps: the merged config (inspect's Config.Healthcheck) and the argv to exec, if any. */
export interface SpecHealthcheck {
  config: HealthConfig;
  /** Absent: no probe runs (NONE, or no test at all), and the container has no health state. */
  probe?: string[];
}

const NS_PER_MS = 1_000_000;
const SECOND = 1_000 * NS_PER_MS;
/** Docker's defaults (daemon/health.go). */
export const HEALTH_DEFAULTS = { interval: 30 * SECOND, timeout: 30 * SECOND, startPeriod: 0, startInterval: 5 * SECOND, retries: 3 } as const;
/** containertypes.MinimumDuration: 1ms. */
const MINIMUM_DURATION = NS_PER_MS;

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration ("200ms", "1m30s", "1.5h", "-2s", "0"), in nanoseconds, with its errors. */
export function parseGoDuration(text: string): number {
  const bad = (): SkiffError => invalid(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.') throw bad();
    s = s.slice(m[0].length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === '') throw invalid(`time: missing unit in duration ${JSON.stringify(text)}`);
    const mul = UNITS[unit];
    if (mul === undefined) throw invalid(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    s = s.slice(unit.length);
    total += Number(m[1] || '0') * mul + (m[2] ? Math.trunc(Number(`0.${m[2]}`) * mul) : 0);
  }
  if (!Number.isSafeInteger(total)) throw bad();
  return sign * total;
}

/** Go's Duration.String(): "200ms", "1.5s", "1m30s", "0s". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0 ? '-' : '';
  let d = Math.abs(Math.trunc(ns));
  const frac = (v: number, unit: number): string => {
    const whole = Math.trunc(v / unit);
    const rest = v % unit;
    if (rest === 0) return String(whole);
    return `${whole}.${String(rest).padStart(String(unit).length - 1, '0').replace(/0+$/, '')}`;
  };
  if (d < 1e3) return `${neg}${d}ns`;
  if (d < 1e6) return `${neg}${frac(d, 1e3)}µs`;
  if (d < 1e9) return `${neg}${frac(d, 1e6)}ms`;
  let out = '';
  const h = Math.trunc(d / 3600e9);
  d -= h * 3600e9;
  const m = Math.trunc(d / 60e9);
  d -= m * 60e9;
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  return `${neg}${out}${frac(d, 1e9)}s`;
}

/** The `--health-*` flags as a command line gives them. */
export interface HealthFlags {
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthRetries?: string | number;
  noHealthcheck?: boolean;
}

function flagValue<T>(value: string, name: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof SkiffError) throw invalid(`invalid argument "${value}" for "${name}" flag: ${err.message}`);
    throw err;
  }
}

/**
 * docker/cli's run options: a zero flag counts as not given; `--no-healthcheck` with any other
 * health flag is refused; negative values are refused by name. Undefined: nothing was asked.
 */
export function parseHealthFlags(f: HealthFlags): HealthConfig | undefined {
  const dur = (v: string | undefined, name: string): number => (v === undefined ? 0 : flagValue(v, name, parseGoDuration));
  const interval = dur(f.healthInterval, '--health-interval');
  const timeout = dur(f.healthTimeout, '--health-timeout');
  const startPeriod = dur(f.healthStartPeriod, '--health-start-period');
  const startInterval = dur(f.healthStartInterval, '--health-start-interval');
  const retries = f.healthRetries === undefined ? 0 : flagValue(String(f.healthRetries), '--health-retries', parseInteger);
  const cmd = f.healthCmd ?? '';
  const any = cmd !== '' || interval !== 0 || timeout !== 0 || startPeriod !== 0 || retries !== 0 || startInterval !== 0;
  if (f.noHealthcheck) {
    if (any) throw invalid('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  if (interval < 0) throw invalid('--health-interval cannot be negative');
  if (timeout < 0) throw invalid('--health-timeout cannot be negative');
  if (retries < 0) throw invalid('--health-retries cannot be negative');
  if (startPeriod < 0) throw invalid('--health-start-period cannot be negative');
  if (startInterval < 0) throw invalid('--health-start-interval cannot be negative');
  return {
    Test: cmd !== '' ? ['CMD-SHELL', cmd] : [],
    ...(interval ? { Interval: interval } : {}), ...(timeout ? { Timeout: timeout } : {}),
    ...(startPeriod ? { StartPeriod: startPeriod } : {}), ...(startInterval ? { StartInterval: startInterval } : {}),
    ...(retries ? { Retries: retries } : {}),
  };
}

/** The daemon's checks on a create's healthcheck (validateHealthCheck), with its wording. */
export function validateHealthConfig(h: HealthConfig | undefined): void {
  if (!h) return;
  const min = (v: number | undefined, name: string): void => {
    if (v !== undefined && v !== 0 && v < MINIMUM_DURATION) throw invalid(`${name} in Healthcheck cannot be less than 1ms`);
  };
  for (const [k, v] of Object.entries(h)) {
    if (k !== 'Test' && v !== undefined && !Number.isSafeInteger(v)) throw invalid(`Healthcheck.${k}: a whole number of nanoseconds${k === 'Retries' ? ' (retries: a whole number)' : ''}, got ${String(v)}`);
  }
  min(h.Interval, 'Interval');
  min(h.Timeout, 'Timeout');
  if ((h.Retries ?? 0) < 0) throw invalid('Retries in Healthcheck cannot be negative');
  min(h.StartPeriod, 'StartPeriod');
  min(h.StartInterval, 'StartInterval');
}

/**
 * The create-time merge (daemon/commit.go merge): the user's config over the image's, a zero
 * field (or an empty Test) taking the image's. Then the probe: CMD runs its argv, CMD-SHELL its
 * command through the image's SHELL (default /bin/sh -c). Docker only warns at probe time about
 * an unknown test type or a test without a command (and never probes); skiff refuses them here,
 * so the mistake shows at create instead of as a container that is never checked.
 */
export function resolveHealthcheck(image: HealthConfig | undefined, user: HealthConfig | undefined, shell?: readonly string[] | null): SpecHealthcheck | undefined {
  let config: HealthConfig | undefined;
  if (!user) config = image ? { ...image, Test: [...image.Test] } : undefined;
  else {
    config = { ...user, Test: [...user.Test] };
    if (image) {
      if (config.Test.length === 0) config.Test = [...image.Test];
      for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
        if (!config[k] && image[k]) config[k] = image[k];
      }
    }
  }
  if (!config) return undefined;
  const [kind, ...rest] = config.Test;
  if (kind === undefined || kind === 'NONE') return { config };
  if (kind !== 'CMD' && kind !== 'CMD-SHELL') throw invalid(`unknown healthcheck type ${JSON.stringify(kind)} in Healthcheck.Test (want CMD, CMD-SHELL or NONE)`);
  if (rest.length === 0 || rest[0] === '') throw invalid(`Healthcheck.Test ${JSON.stringify(config.Test)} has no command`);
  const probe = kind === 'CMD' ? rest : [...(shell?.length ? shell : ['/bin/sh', '-c']), ...rest];
  return { config, probe };
}

/** A spec's probe schedule with Docker's defaults filled in, in milliseconds. */
export function healthSchedule(h: HealthConfig): { intervalMs: number; timeoutMs: number; startPeriodMs: number; startIntervalMs: number; retries: number } {
  const ms = (v: number | undefined, d: number): number => (v ? v : d) / NS_PER_MS;
  return {
    intervalMs: ms(h.Interval, HEALTH_DEFAULTS.interval),
    timeoutMs: ms(h.Timeout, HEALTH_DEFAULTS.timeout),
    startPeriodMs: ms(h.StartPeriod, HEALTH_DEFAULTS.startPeriod),
    startIntervalMs: ms(h.StartInterval, HEALTH_DEFAULTS.startInterval),
    retries: h.Retries && h.Retries > 0 ? h.Retries : HEALTH_DEFAULTS.retries,
  };
}

/**
 * Exec is how a probe runs, and a wasm module is one process with no way to start another in it:
 * a healthcheck there could never run, and a container that stays "starting" forever would hang
 * whoever waits for healthy (compose's service_healthy). Refused at create, naming the platform.
 */
export function refuseHealthcheck(h: SpecHealthcheck | undefined, runtime: string, platform: string): void {
  if (h?.probe && runtime === 'wasi') {
    throw new SkiffError('UNSUPPORTED', `healthcheck ${JSON.stringify(h.config.Test)}: a ${platform} container runs one wasm module and cannot exec a probe in it; run it with --no-healthcheck (Healthcheck.Test ["NONE"])`);
  }
}
