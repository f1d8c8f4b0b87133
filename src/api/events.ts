/**
 * `GET /events`: Docker's event stream (JSON lines) from the engine's journal, which every skiff
 * process over the same home appends to (engine/events/): what the CLI, `-d` keepers and this
 * server do alike. `since` replays the journal from then; with `until` the stream ends there;
 * `filters` are Docker's (an unknown key is a 400).
 */
import type { Engine } from '../engine/engine.ts';
import type { EngineEvent } from '../engine/events/types.ts';
import type { ContainerRecord } from '../engine/types.ts';
import type { Call } from './call.ts';
import { badRequest } from './errors.ts';
import { filters } from './query.ts';
import { parseEventTime } from '../engine/events/filter.ts';
import { containerAttributes } from '../engine/events/recorder.ts';

/** Serve one `GET /events` request. */
export async function serveEvents(engine: Engine, call: Call): Promise<void> {
  const f = filters(call.query);
  const time = (name: 'since' | 'until'): number | undefined => {
    const v = call.query.get(name);
    if (v === null || v === '' || v === '0') return undefined;
    try {
      return parseEventTime(v, Date.now(), name);
    } catch (err) {
      throw badRequest(err instanceof Error ? err.message : String(err));
    }
  };
  const since = time('since');
  const until = time('until');
  let w: ReturnType<Call['begin']> | undefined;
  const pending: EngineEvent[] = [];
  // Filters and times are checked (400) before the 200 begins.
  const watch = await engine.watchEvents({
    ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), filters: f,
    onEvent: (e) => { if (w) void w.write(`${JSON.stringify(e)}\n`); else pending.push(e); },
  });
  w = call.begin(200, 'application/json');
  for (const e of pending) void w.write(`${JSON.stringify(e)}\n`);
  call.onAbort(() => watch.stop());
  await watch.done();
  w.end();
}

/** An event this server performs itself (an attach, a restart), with Docker's container attributes. */
export function containerEvent(engine: Engine, rec: ContainerRecord, action: string): void {
  engine.recordEvent({ type: 'container', action, id: rec.id, attributes: containerAttributes(rec) });
}
