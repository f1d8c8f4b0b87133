/** Docker's query conventions: booleans as 1/true/0/false, `filters` as JSON, numbers checked. */
import { badRequest } from './errors.ts';

export function bool(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  const l = v.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  throw badRequest(`invalid value for query parameter ${name}: "${v}" is not a boolean`);
}

export function int(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for query parameter ${name}: "${v}" is not an integer`);
  return Number(v);
}

/** `filters={"status":["exited"],"label":{"a=b":true}}`: both of Docker's encodings, as lists. */
export function filters(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(`invalid value for query parameter filters: not JSON: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('invalid value for query parameter filters: expected a JSON object');
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (typeof v === 'object' && v !== null) out[k] = Object.entries(v).filter(([, on]) => on).map(([x]) => x);
    else throw badRequest(`invalid value for query parameter filters: filter ${k} must be a list`);
  }
  return out;
}

/** Docker's `since`/`until`: unix seconds (maybe fractional) or an RFC 3339 time; milliseconds out. */
export function time(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '' || v === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw badRequest(`invalid value for query parameter ${name}: "${v}" is not a timestamp`);
  return t;
}
