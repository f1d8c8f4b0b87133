/**
 * `skiff events` / `skiff system events`: Docker's event stream from the engine's journal, which
 * every skiff process over the same home (and `system serve`) appends to. Docker's flags: --since
 * and --until (Unix times, RFC 3339 dates, or durations such as 10m before now), --filter k=v,
 * --format (a template, `{{json .}}` or "json"); without --until it follows until interrupted.
 */
import type { EngineEvent } from '../../engine/events/types.ts';
import { parseEventTime, parseFilterArgs } from '../../engine/events/filter.ts';
import { displayJson, displayText } from '../present/escape.ts';
import { formatRows } from '../present/format.ts';
import { list, str, type Command } from './context.ts';
import { UsageError } from './flags.ts';

/** Go's RFC3339NanoFixed in local time ("2024-05-01T12:00:00.123000000+02:00"), as the docker CLI prints. */
export function eventTime(timeNano: number): string {
  // Milliseconds are what the journal keeps (timeNano is ms * 1e6, beyond a double's integers).
  const ms = Math.round(timeNano / 1e6);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const p = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000000${zone}`;
}

/** One line as `docker events` prints it: time, type, action, actor, (sorted attributes). */
export function eventLine(e: EngineEvent): string {
  const attrs = Object.keys(e.Actor.Attributes).sort().map((k) => `${k}=${e.Actor.Attributes[k]}`);
  return displayText(`${eventTime(e.timeNano)} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}`) + '\n';
}

/** The event as Go templates see events.Message (Type, Action, Actor, Status, ID, From, Time, TimeNano, Scope). */
function templateView(e: EngineEvent): Record<string, unknown> {
  return { ...e, Status: e.status ?? '', ID: e.id ?? '', From: e.from ?? '', Time: e.time, TimeNano: e.timeNano, Scope: e.scope };
}

export const eventsCommand: Command = {
  name: 'events', aliases: ['system events'], usage: '[OPTIONS]', summary: 'Get real time events from the engine', maxArgs: 0,
  flags: [
    { name: 'filter', short: 'f', value: 'filter', repeat: true, help: 'Filter output based on conditions provided (type, event, container, image, volume, network, label)' },
    { name: 'format', value: 'string', help: '"json" or a Go-style template ({{json .}})' },
    { name: 'since', value: 'string', help: 'Show all events created since timestamp (Unix time, RFC 3339 date, or a duration such as 10m)' },
    { name: 'until', value: 'string', help: 'Stream events until this timestamp' },
  ],
  async run(ctx, f) {
    const now = Date.now();
    const time = (name: 'since' | 'until'): number | undefined => {
      const v = str(f[name]);
      if (v === undefined || v === '') return undefined;
      try {
        return parseEventTime(v, now, `--${name}`);
      } catch (err) {
        throw new UsageError('events', err instanceof Error ? err.message : String(err));
      }
    };
    let filters;
    try {
      filters = parseFilterArgs(list(f['filter']));
    } catch (err) {
      throw new UsageError('events', err instanceof Error ? err.message : String(err));
    }
    const since = time('since');
    const until = time('until');
    const format = str(f['format']);
    // `{{json .}}` is the API's JSON of the event; other templates see Go's field names.
    const whole = format !== undefined && (format === 'json' || /^\s*\{\{\s*json\s+\.\s*\}\}\s*$/.test(format));
    if (format && !whole) formatRows(format, []); // a template's syntax error before any event, as Docker parses first
    const print = (e: EngineEvent) => ctx.stdout(whole ? `${displayJson(e)}\n` : format ? formatRows(format, [templateView(e)]) ?? eventLine(e) : eventLine(e));
    const watch = await ctx.engine.watchEvents({ ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), filters, onEvent: print });
    const off = ctx.host.onInterrupt?.(() => void watch.stop());
    try {
      await watch.done();
    } finally {
      off?.();
    }
  },
};
