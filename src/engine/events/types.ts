/**
 * Docker's events model: every engine operation Docker reports (container create/start/die/...,
 * image pull/tag/delete/..., volume create/mount/..., network create/connect/...) becomes one
 * `EngineEvent`, appended by whichever process performs it to the one journal of the skiff home
 * (Node: node-fs.ts, a bounded JSONL file several processes append to) or of the page (memory.ts).
 * `skiff events` and the API's `GET /events` read it back (watch.ts) with Docker's filters (filter.ts).
 */

export type EventType = 'container' | 'image' | 'volume' | 'network';

/** Docker's events.Message, as the Engine API sends it (legacy status/id/from included). */
export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds (millisecond precision here). */
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

/** Where a journal's reader is: opaque, from `end()`/`read()`, given back to `follow()`. */
export type JournalCursor = unknown;

/**
 * A bounded, append-only log of events shared by every engine over one home. Appending never
 * throws (an event that cannot be written is lost, the operation is not); readers see events
 * appended by any process, in the order they were written.
 */
export interface EventJournal {
  append(e: EngineEvent): void;
  /** What the journal holds now, oldest first, and the cursor just past it. */
  read(): Promise<{ events: EngineEvent[]; end: JournalCursor }>;
  /** The cursor just past the newest event (for following without reading the past). */
  end(): Promise<JournalCursor>;
  /** Calls `onEvent` for each event written after `from`, in order, until the returned stop is called. */
  follow(from: JournalCursor, onEvent: (e: EngineEvent) => void): () => void;
}

/** Docker's event for `type`/`action` on `id` at `ms` (legacy fields as the daemon fills them). */
export function makeEvent(type: EventType, action: string, id: string, attributes: Record<string, string>, ms: number): EngineEvent {
  const legacy = type === 'container' ? { status: action, id, ...(attributes['image'] !== undefined ? { from: attributes['image'] } : {}) }
    : type === 'image' ? { status: action, id } : {};
  return { ...legacy, Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: Math.floor(ms / 1000), timeNano: Math.round(ms * 1e6) };
}
