/**
 * The events of one page (or of a test's engine): a ring of the newest `keep` events in memory,
 * followers told at once. Cursors are sequence numbers, so a follower misses nothing between
 * `read()` and `follow()`.
 */
import type { EngineEvent, EventJournal, JournalCursor } from './types.ts';

export class MemoryEventJournal implements EventJournal {
  readonly #ring: EngineEvent[] = [];
  /** Sequence number of the next event appended. */
  #next = 0;
  readonly #followers = new Set<(e: EngineEvent, seq: number) => void>();

  constructor(private readonly keep = 1000) {}

  append(e: EngineEvent): void {
    const seq = this.#next++;
    this.#ring.push(e);
    if (this.#ring.length > this.keep) this.#ring.shift();
    for (const f of [...this.#followers]) f(e, seq);
  }

  async read(): Promise<{ events: EngineEvent[]; end: JournalCursor }> {
    return { events: [...this.#ring], end: this.#next };
  }

  async end(): Promise<JournalCursor> {
    return this.#next;
  }

  follow(from: JournalCursor, onEvent: (e: EngineEvent) => void): () => void {
    const start = typeof from === 'number' ? from : this.#next;
    // Appended between the cursor and now: still in the ring (unless it wrapped past them).
    const missed = this.#next - start;
    if (missed > 0) for (const e of this.#ring.slice(-Math.min(missed, this.#ring.length))) onEvent(e);
    const f = (e: EngineEvent) => onEvent(e);
    this.#followers.add(f);
    return () => void this.#followers.delete(f);
  }
}
