/**
 * `GET /events`: Docker's event stream (JSON lines) of what happens through this API server:
 * container create/start/die/destroy/kill/stop/rename/pause/unpause/update, image pull/push/tag/
 * untag/delete/load/build, volume create/destroy, network create/destroy/connect/disconnect. Recent events are kept so `since` can replay them; with `until`
 * the stream ends there. The skiff CLI's own actions in other processes are not seen here.
 */
import type { Call } from './call.ts';
import { filters, time } from './query.ts';

export interface DockerEvent {
  Type: 'container' | 'image' | 'volume' | 'network';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** Old-style fields docker-py and older CLIs read. */
  status?: string;
  id?: string;
  from?: string;
}

const KEEP = 1000;

export class EventLog {
  readonly #past: DockerEvent[] = [];
  readonly #listeners = new Set<(e: DockerEvent) => void>();
  constructor(private readonly now: () => number = () => Date.now()) {}

  emit(type: DockerEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const ms = this.now();
    const e: DockerEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Math.floor(ms / 1000), timeNano: ms * 1_000_000,
      ...(type === 'container' ? { status: action, id, ...(attributes['image'] ? { from: attributes['image'] } : {}) } : {}),
    };
    this.#past.push(e);
    if (this.#past.length > KEEP) this.#past.shift();
    for (const l of this.#listeners) l(e);
  }

  /** Serve one `GET /events` request. */
  async serve(call: Call): Promise<void> {
    const f = filters(call.query);
    const since = time(call.query, 'since');
    const until = time(call.query, 'until');
    const match = (e: DockerEvent): boolean => {
      const ms = e.timeNano / 1_000_000;
      if (since !== undefined && ms < since) return false;
      if (until !== undefined && ms > until) return false;
      const any = (key: string, v: string | undefined) => !f[key]?.length || (v !== undefined && f[key]!.includes(v));
      const named = (key: string) => !f[key]?.length || (e.Type === key && f[key]!.some((x) => e.Actor.ID.startsWith(x) || e.Actor.Attributes['name'] === x));
      return any('type', e.Type) && any('event', e.Action) && named('container') && named('image') && named('volume') && named('network')
        && (!f['label']?.length || f['label'].every((l) => { const [k, v] = l.split('=', 2) as [string, string?]; return k in e.Actor.Attributes && (v === undefined || e.Actor.Attributes[k] === v); }));
    };
    const w = call.begin(200, 'application/json');
    const send = (e: DockerEvent) => void w.write(`${JSON.stringify(e)}\n`);
    if (since !== undefined) for (const e of this.#past) if (match(e)) send(e);
    if (until !== undefined && until <= this.now()) return w.end();
    const listener = (e: DockerEvent) => { if (match(e)) send(e); };
    this.#listeners.add(listener);
    await new Promise<void>((resolve) => {
      call.onAbort(resolve);
      if (until !== undefined) setTimeout(resolve, until - this.now());
    });
    this.#listeners.delete(listener);
    w.end();
  }
}
