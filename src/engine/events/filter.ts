/**
 * Docker's event filters (moby daemon/events/filter.go), sans IO: which keys exist, how each
 * matches (`container`: an ID prefix or the name; `image`: ID or name, with or without tag;
 * `event`: exact, but `exec_create`/`exec_start` also match "exec_start: sh -c ..."; `label`: key
 * or key=value among the attributes), and the `since`/`until` times the CLI and the API accept.
 */
import { SkiffError } from '../../errors.ts';
import type { EngineEvent } from './types.ts';

export type EventFilters = Record<string, string[]>;

/** Docker's accepted event filter keys (swarm ones match nothing here, as on a non-swarm daemon). */
const KEYS = new Set(['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume']);
const TYPES = new Set(['builder', 'config', 'container', 'daemon', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'volume']);

/** Refuses unknown keys and types with Docker's messages (the API answers 400). */
export function checkEventFilters(f: EventFilters): void {
  for (const k of Object.keys(f)) if (!KEYS.has(k)) throw new SkiffError('INVALID_ARGUMENT', `invalid filter '${k}'`);
  for (const t of f['type'] ?? []) if (!TYPES.has(t)) throw new SkiffError('INVALID_ARGUMENT', `invalid filter 'type=${t}'`);
}

/** `--filter k=v` words as filters (`bad format of filter (expected name=value)`, as the docker CLI says); keys are checked by the engine. */
export function parseFilterArgs(args: readonly string[]): EventFilters {
  const out: EventFilters = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new SkiffError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${a}`);
    const k = a.slice(0, i).trim().toLowerCase();
    (out[k] ??= []).push(a.slice(i + 1));
  }
  return out;
}

const stripTag = (s: string): string => s.replace(/:[^/:@]*$/, '');

export function matchEvent(f: EventFilters, e: EngineEvent): boolean {
  const has = (k: string) => (f[k]?.length ?? 0) > 0;
  const exact = (k: string, ...vs: Array<string | undefined>) => !has(k) || vs.some((v) => v !== undefined && f[k]!.includes(v));
  const fuzzy = (k: string, ...vs: Array<string | undefined>) => !has(k) || vs.some((v) => v !== undefined && v !== '' && f[k]!.some((x) => v === x || v.startsWith(x)));
  const attrs = e.Actor.Attributes;
  // Docker's quirk (#25798): exec_create/exec_start/health_status without a colon match by prefix.
  const event = has('event') && f['event']!.some((x) => x === 'exec_create' || x === 'exec_start' || x === 'health_status')
    ? fuzzy('event', e.Action) : exact('event', e.Action);
  const imageName = e.Type === 'image' ? attrs['name'] : attrs['image'];
  const image = exact('image', e.Actor.ID, imageName, stripTag(e.Actor.ID), imageName !== undefined ? stripTag(imageName) : undefined);
  const labels = !has('label') || f['label']!.every((l) => {
    const i = l.indexOf('=');
    return i < 0 ? l in attrs : attrs[l.slice(0, i)] === l.slice(i + 1);
  });
  // Docker's container/volume/network filters look at the actor whatever its type (a network
  // connect's actor is the network: `container=` does not select it).
  const named = (k: string) => fuzzy(k, e.Actor.ID, attrs['name']);
  const swarm = ['config', 'node', 'plugin', 'secret', 'service'].every((k) => !has(k));
  return event && exact('type', e.Type) && exact('scope', e.scope) && named('container') && named('volume') && named('network') && image && labels && swarm
    && (!has('daemon') || f['daemon']!.length === 0);
}

/**
 * Docker's time arguments (`--since`, `--until`, the API's query), to Unix milliseconds:
 * a Go duration ("10m", "1h30m", "1.5s": that long before `now`), Unix seconds ("1700000000",
 * "1700000000.5"), or an RFC 3339 date/time (a date alone, with or without zone: local time).
 */
export function parseEventTime(v: string, now: number, name = 'time'): number {
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const d = goDuration(s);
  if (d !== undefined) return now - d;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(s)) {
    const t = Date.parse(/T| /.test(s) ? s.replace(' ', 'T') : `${s}T00:00:00`);
    if (!Number.isNaN(t)) return t;
  }
  throw new SkiffError('INVALID_ARGUMENT', `invalid value for ${name}: "${v}" is neither a timestamp, a date (RFC 3339) nor a duration (10m, 1h30m)`);
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds; undefined when `s` is not one. */
function goDuration(s: string): number | undefined {
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of s.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
  return m[1] === '-' ? -total : total;
}
