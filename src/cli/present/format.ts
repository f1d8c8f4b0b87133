/**
 * Docker's output conventions: go-units sizes and durations, padded tables, --format templates.
 * Neutral (no Node, no DOM): the CLI and the browser terminal print through the same helpers, and
 * every value they lay out is escaped for display here (escape.ts), so no command has to remember.
 */
import type { ContainerRecord } from '../../engine/types.ts';
import { displayJson, displayText } from './escape.ts';
import { compileTemplate, unescapeFormat } from './template.ts';
import { HEADER_FUNCS } from './template-funcs.ts';

/** go-units HumanSize: decimal units, 3 significant digits ("4.26MB", "1.2kB", "0B"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** go-units HumanDuration, as in "Created 2 hours ago". */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(ms / 60000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.floor(ms / 3600000 + 0.5);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'N/A';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'N/A';
  return `${humanDuration(Math.max(0, now - t))} ago`;
}

/** Columns separated by at least three spaces, like Docker's tabwriter output. */
export function table(headers: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map((c) => displayText(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Go's time.Time.String() in UTC ("2026-12-05 05:43:12 +0000 UTC"), as docker/cli's ps and images print CreatedAt. */
export function goTime(iso: string | undefined): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return '';
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/** "sha256:abcdef..." -> "abcdef012345" (Docker's short IDs). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * Docker's --format template (Go text/template, template.ts) for one document: `\t`/`\n` escapes
 * and a leading `table ` are taken as Docker's formatter takes them.
 */
export function renderTemplate(tpl: string, obj: unknown): string {
  return compileTemplate(unescapeFormat(tpl.replace(/^table\s+/, ''))).execute(obj);
}

const headerFallback = (field: string): string => field.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();

/**
 * Rows out in the user's --format: "json" (one object per line), a template, or undefined for the
 * caller's table. A `table ...` template gets a header row the way docker/cli makes one: the same
 * template run over the command's header names (`headers`, e.g. ID -> "CONTAINER ID"; other fields
 * spelled CamelCase -> "CAMEL CASE"), Docker's functions passing the header through; then the
 * columns are aligned as Docker's tabwriter does (cells at least 10 wide, 3 spaces of padding).
 */
export function formatRows(format: string | undefined, rows: Array<Record<string, unknown>>, headers: Record<string, string> = {}): string | undefined {
  if (format === undefined || format === '' || format === 'table') return undefined;
  if (format === 'json') return rows.map((r) => displayJson(r)).join('\n') + (rows.length ? '\n' : '');
  const isTable = /^table\s/.test(format);
  const tpl = compileTemplate(unescapeFormat(isTable ? format.replace(/^table\s+/, '') : format));
  const lines = rows.map((r) => tpl.execute(r));
  if (!isTable) return lines.map((l) => `${l}\n`).join('');
  const names = new Set([...format.matchAll(/(?:^|[^\w)\].])\.([A-Za-z_]\w*)/g)].map((m) => m[1]!));
  const header1 = (n: string) => headers[n] ?? headerFallback(n);
  // A method-like field (ps's `.Label "k"`) answers its header whatever its arguments.
  const headerRow = Object.fromEntries([...names].map((n) => [n, typeof rows[0]?.[n] === 'function' ? () => header1(n) : header1(n)]));
  let header: string;
  try {
    header = tpl.execute(headerRow, { funcs: HEADER_FUNCS });
  } catch {
    header = [...names].map(header1).join('\t');
  }
  return tabwriter([header, ...lines].map((l) => `${l}\n`).join(''));
}

/** Go's text/tabwriter as docker/cli sets it up (minwidth 10, padding 3): tab-terminated cells form columns. */
function tabwriter(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const cells of lines) cells.slice(0, -1).forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, Math.max(10, [...c].length + 3)); });
  return lines.map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! - ([...c].length - c.length)))).join('')).join('\n') + '\n';
}

/** `docker ps`'s STATUS column ("Up 5 minutes", "Exited (0) 2 hours ago"). */
export function containerStatus(c: ContainerRecord, now = Date.now()): string {
  switch (c.state) {
    case 'created': return 'Created';
    // Docker's State.String(): the health after the uptime, "health: starting" spelled out.
    case 'running': return `Up ${ago(c.startedAt, now).replace(/ ago$/, '')}${c.health ? ` (${c.health.Status === 'starting' ? 'health: starting' : c.health.Status})` : ''}`;
    case 'paused': return `Up ${ago(c.startedAt, now).replace(/ ago$/, '')} (Paused)`;
    case 'exited': return `Exited (${c.exitCode ?? 0}) ${ago(c.finishedAt, now)}`;
    default: return 'Dead';
  }
}

/** `docker ps`'s COMMAND: entrypoint then cmd, space-joined. */
export function containerCommand(c: ContainerRecord): string {
  return c.spec.args.join(' ');
}
