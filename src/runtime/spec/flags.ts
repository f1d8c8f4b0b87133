/**
 * Parsers for single `docker run` flag values, with Docker's syntax and error wording (docker/cli
 * opts, go-units). They take text and return values; `parseRunFlags` (options.ts) names the flag.
 */
import { SkiffError } from '../../errors.ts';
import { bytes, nanoCpus, type Bytes, type NanoCpus } from './types.ts';

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

const BINARY_UNITS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/**
 * go-units RAMInBytes: a decimal number, an optional space, then b / k / m / g / t / p (any case),
 * optionally followed by "b" or "ib" ("64m", "64MB", "64MiB", "1.5g"). Powers of 1024.
 */
export function parseMemory(value: string): Bytes {
  const m = /^([0-9.]*[0-9.]) ?([A-Za-z]*)$/.exec(value);
  if (!m || !/^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$/.test(m[1]!)) throw invalid(`invalid size: '${value}'`);
  const size = Number(m[1]);
  const sfx = m[2]!.toLowerCase();
  if (sfx === '' || sfx === 'b') return bytes(Math.trunc(size));
  const mul = BINARY_UNITS[sfx[0]!];
  if (mul === undefined || sfx.length > 3 || (sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) {
    throw invalid(`invalid suffix: '${sfx}'`);
  }
  const n = Math.trunc(size * mul);
  if (!Number.isSafeInteger(n)) throw invalid(`invalid size: '${value}'`);
  return bytes(n);
}

/** `--memory-swap`: like `--memory`, and "-1" means unlimited. */
export function parseMemorySwap(value: string): Bytes | -1 {
  return value === '-1' ? -1 : parseMemory(value);
}

/**
 * `--cpus`: any rational number Go's big.Rat reads ("1.5", "3/2", "15e-1"), times 1e9, which must
 * come out whole (Docker: "value is too precise").
 */
export function parseCpus(value: string): NanoCpus {
  const rat = parseRational(value);
  if (!rat) throw invalid(`failed to parse ${value} as a rational number`);
  const [num, den] = rat;
  const scaled = num * 1_000_000_000n;
  if (scaled % den !== 0n) throw invalid('value is too precise');
  const nano = scaled / den;
  if (nano > BigInt(Number.MAX_SAFE_INTEGER) || nano < -BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('value is too large');
  return nanoCpus(Number(nano));
}

function parseRational(text: string): [bigint, bigint] | undefined {
  const frac = /^([+-]?[0-9]+)\/([0-9]+)$/.exec(text);
  if (frac) {
    const den = BigInt(frac[2]!);
    return den === 0n ? undefined : [BigInt(frac[1]!), den];
  }
  const dec = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!dec || (dec[2] === '' && (dec[3] ?? '') === '')) return undefined;
  const digits = (dec[2] ?? '') + (dec[3] ?? '');
  let num = BigInt(digits === '' ? '0' : digits) * (dec[1] === '-' ? -1n : 1n);
  let den = 10n ** BigInt((dec[3] ?? '').length);
  const exp = Number(dec[4] ?? '0');
  if (Math.abs(exp) > 400) return undefined;
  if (exp > 0) num *= 10n ** BigInt(exp);
  else den *= 10n ** BigInt(-exp);
  return [num, den];
}

/** Where `KEY` alone (in `-e KEY` or an env file) takes its value from; the browser has none. */
export type HostEnv = Readonly<Record<string, string | undefined>>;

/**
 * `-e` (docker/cli opts.ValidateEnv): `KEY=VALUE` as is; `KEY` alone takes the host's value and
 * is dropped when the host has none. Returns undefined when dropped.
 */
export function parseEnvFlag(value: string, hostEnv: HostEnv = {}): string | undefined {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === '') throw invalid(`invalid environment variable: ${value}`);
  if (eq >= 0) return value;
  const host = Object.hasOwn(hostEnv, key) ? hostEnv[key] : undefined;
  return host === undefined ? undefined : `${key}=${host}`;
}

/**
 * `--env-file` contents (docker/cli opts/file.go): one `KEY=VALUE` a line, leading whitespace
 * trimmed, `#` lines and blank lines skipped, the value passed through untouched (no quote
 * processing, no trailing trim), `KEY` alone takes the host value (dropped if none). A UTF-8 BOM
 * on the first line is removed.
 */
export function parseEnvFile(text: string | Uint8Array, options: { hostEnv?: HostEnv; fileName?: string } = {}): string[] {
  return parseKeyValueLines(text, options.fileName ?? 'env file', (key) => {
    const hostEnv = options.hostEnv ?? {};
    const host = Object.hasOwn(hostEnv, key) ? hostEnv[key] : undefined;
    return host === undefined ? undefined : `${key}=${host}`;
  });
}

/** `--label-file`: the env-file syntax; a bare key is a label with an empty value. */
export function parseLabelFile(text: string | Uint8Array, fileName = 'label file'): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const line of parseKeyValueLines(text, fileName, (key) => `${key}=`)) Object.assign(labels, parseLabel(line));
  return labels;
}

/** Go's unicode.IsSpace, which (unlike JS \s) does not count U+FEFF. */
const GO_LEADING_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Bytes must be UTF-8 (Docker refuses the file and names the line); text is taken as is. */
function decodeLines(input: string | Uint8Array, fileName: string): string[] {
  if (typeof input === 'string') return input.split('\n');
  const lines: string[] = [];
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let start = 0;
  for (let i = 0; i <= input.length; i++) {
    if (i === input.length || input[i] === 0x0a) {
      try {
        lines.push(fatal.decode(input.subarray(start, i)));
      } catch {
        throw invalid(`env file ${fileName} contains invalid utf8 bytes at line ${lines.length + 1}`);
      }
      start = i + 1;
    }
  }
  return lines;
}

function parseKeyValueLines(text: string | Uint8Array, fileName: string, bare: (key: string) => string | undefined): string[] {
  const out: string[] = [];
  // bufio.ScanLines: split on \n and drop one trailing \r, the last line included.
  const lines = decodeLines(text, fileName).map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = (i === 0 ? raw.replace(/^\uFEFF/, '') : raw).replace(GO_LEADING_SPACE, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (/[ \t]/.test(key)) throw invalid(`poorly formatted environment: variable '${key}' contains whitespaces`);
    if (key === '') throw invalid(`poorly formatted environment: no variable name on line '${line}'`);
    if (eq >= 0) out.push(line);
    else {
      const v = bare(line.trim());
      if (v !== undefined) out.push(v);
    }
  });
  return out;
}

/** `-l key=value` / `-l key` (docker/cli opts.ValidateLabel). */
export function parseLabel(value: string): Record<string, string> {
  const eq = value.indexOf('=');
  const key = (eq < 0 ? value : value.slice(0, eq)).trim();
  if (key === '') throw invalid(`invalid label '${value}': empty name`);
  return { [key]: eq < 0 ? '' : value.slice(eq + 1) };
}

/** Integer flags (`--pids-limit`, `--stop-timeout`), worded like Go's strconv. */
export function parseInteger(value: string | number): number {
  const text = String(value).trim();
  if (!/^[+-]?[0-9]+$/.test(text)) throw invalid(`strconv.ParseInt: parsing "${text}": invalid syntax`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw invalid(`strconv.ParseInt: parsing "${text}": value out of range`);
  return n;
}

/** Merge `KEY=VALUE` lists: a later key replaces an earlier one in place (ReplaceOrAppendEnvValues). */
export function mergeEnv(...lists: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf('=');
      const key = eq < 0 ? entry : entry.slice(0, eq);
      const at = index.get(key);
      if (at === undefined) {
        index.set(key, out.length);
        out.push(entry);
      } else out[at] = entry;
    }
  }
  return out;
}

export function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}
