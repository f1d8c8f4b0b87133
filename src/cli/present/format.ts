/**
 * Docker's output conventions: go-units sizes and durations, padded tables, Go-style templates.
 * Neutral (no Node, no DOM): the CLI and the browser terminal print through the same helpers, and
 * every value they lay out is escaped for display here (escape.ts), so no command has to remember.
 */
import type { ContainerRecord } from '../../engine/types.ts';
import { displayJson, displayText } from './escape.ts';

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

/** "sha256:abcdef..." -> "abcdef012345" (Docker's short IDs). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * Docker's --format, the commonly used subset of Go templates: `{{.Field}}`, `{{.A.B}}`,
 * `{{json .}}`, `{{json .Field}}`, `{{range .List}}...{{end}}` (over a list, or a map's values in
 * key order, as Go ranges; the dot is each element inside), `\t`/`\n` escapes, and a leading
 * `table ` that prints a header. Other actions are printed as written.
 */
export function renderTemplate(tpl: string, obj: Record<string, unknown>): string {
  const body = tpl.replace(/^table\s+/, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return renderNodes(parseTemplate(body), obj);
}

type TemplateNode = string | { path: string; json: boolean } | { range: string; body: TemplateNode[] };

function parseTemplate(body: string): TemplateNode[] {
  const root: TemplateNode[] = [];
  const stack: TemplateNode[][] = [root];
  let last = 0;
  for (const m of body.matchAll(/\{\{\s*(.*?)\s*\}\}/g)) {
    const top = stack[stack.length - 1]!;
    top.push(body.slice(last, m.index));
    last = m.index + m[0].length;
    const action = m[1]!;
    let r: RegExpExecArray | null;
    if ((r = /^range\s+\.([\w.]*)$/.exec(action))) {
      const node = { range: r[1]!, body: [] as TemplateNode[] };
      top.push(node);
      stack.push(node.body);
    } else if (action === 'end' && stack.length > 1) stack.pop();
    else if ((r = /^(json\s+)?\.([\w.]*)$/.exec(action))) top.push({ path: r[2]!, json: r[1] !== undefined });
    else top.push(m[0]);
  }
  stack[stack.length - 1]!.push(body.slice(last));
  return root;
}

function lookup(dot: unknown, path: string): unknown {
  let v = dot;
  for (const k of path.split('.').filter(Boolean)) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

function renderNodes(nodes: TemplateNode[], dot: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (typeof n === 'string') out += n;
    else if ('range' in n) {
      const v = lookup(dot, n.range);
      const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => (v as Record<string, unknown>)[k]) : [];
      for (const item of items) out += renderNodes(n.body, item);
    } else {
      const v = lookup(dot, n.path);
      out += n.json ? displayJson(v ?? null) : displayText(goString(v));
    }
  }
  return out;
}

/** Go's default %v formatting, which templates use: [a b], map[k:v], <no value>. */
function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  return String(v);
}

/** Rows out in the user's --format: "json" (one object per line), a template, or undefined for the caller's table. */
export function formatRows(format: string | undefined, rows: Array<Record<string, unknown>>): string | undefined {
  if (format === undefined || format === '' || format === 'table') return undefined;
  if (format === 'json') return rows.map((r) => displayJson(r)).join('\n') + (rows.length ? '\n' : '');
  const lines = rows.map((r) => renderTemplate(format, r));
  if (/^table\s/.test(format)) {
    const fields = [...format.matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)].map((m) => m[1]!.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase());
    const cells = [fields, ...lines.map((l) => l.split('\t'))];
    const widths = fields.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
    return cells.map((c) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
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
