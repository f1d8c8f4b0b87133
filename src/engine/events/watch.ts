/**
 * `docker events` over a journal: the past between `since` and `until` (when `since` is given),
 * then what happens from now on until `until` passes or the watcher stops; every event through
 * Docker's filters. What `skiff events` and the API's `GET /events` both call.
 */
import { SkiffError } from '../../errors.ts';
import { checkEventFilters, matchEvent, type EventFilters } from './filter.ts';
import type { EngineEvent, EventJournal, JournalCursor } from './types.ts';

export interface WatchEventsOptions {
  /** Unix milliseconds: replay the journal from then. Absent: only events from now on. */
  since?: number;
  /** Unix milliseconds: stop there (at once when it is past). Absent: follow until stopped. */
  until?: number;
  filters?: EventFilters;
  onEvent(e: EngineEvent): void;
}

/** A running watch: `done()` resolves when `until` passed or `stop()` was called. */
export interface EventWatch {
  stop(): void;
  done(): Promise<void>;
}

export async function watchEvents(journal: EventJournal, o: WatchEventsOptions, now: () => number = () => Date.now()): Promise<EventWatch> {
  const f = o.filters ?? {};
  checkEventFilters(f);
  if (o.since !== undefined && o.until !== undefined && o.since > o.until) {
    throw new SkiffError('INVALID_ARGUMENT', `\`since\` time (${iso(o.since)}) cannot be after \`until\` time (${iso(o.until)})`);
  }
  const inRange = (e: EngineEvent) => {
    // timeNano (~1.7e21) is past 2^53: as a double it is off by up to ~0.13 ms, so an event of the
    // very millisecond `until` names could read as later. Events are stamped in whole ms.
    const ms = Math.round(e.timeNano / 1e6);
    return (o.since === undefined || ms >= o.since) && (o.until === undefined || ms <= o.until);
  };
  let from: JournalCursor;
  if (o.since !== undefined) {
    const past = await journal.read();
    for (const e of past.events) if (inRange(e) && matchEvent(f, e)) o.onEvent(e);
    from = past.end;
  } else {
    from = await journal.end();
  }
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const left = o.until === undefined ? Infinity : o.until - now();
  if (left <= 0) return { stop() {}, done: () => Promise.resolve() };
  const unfollow = journal.follow(from, (e) => { if (inRange(e) && matchEvent(f, e)) o.onEvent(e); });
  // A little past `until`: another process's event from just before it is still being tailed.
  const timer = left === Infinity ? undefined : setTimeout(() => stop(), left + 300);
  const stop = () => {
    clearTimeout(timer);
    unfollow();
    finish();
  };
  return { stop, done: () => finished };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
