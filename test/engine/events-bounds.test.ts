/**
 * since/until include an event of their very millisecond. timeNano (ms x 1e6, past 2^53) is not
 * exact as a double: for about one millisecond in eight, timeNano / 1e6 came out a fraction above
 * the event's millisecond, and `--until 0s` right after an event dropped it (seen in full runs).
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventJournal } from '../../src/engine/events/memory.ts';
import { makeEvent } from '../../src/engine/events/types.ts';
import { watchEvents } from '../../src/engine/events/watch.ts';

describe('watchEvents time bounds', () => {
  it('keeps events stamped at exactly since and until', async () => {
    // Milliseconds whose timeNano / 1e6 reads above them, and others.
    const stamps = Array.from({ length: 64 }, (_, i) => 1764900000000 + i);
    expect(stamps.some((ms) => Math.round(ms * 1e6) / 1e6 > ms)).toBe(true);
    for (const ms of stamps) {
      const journal = new MemoryEventJournal();
      journal.append(makeEvent('network', 'create', `n${ms}`, { name: 'n' }, ms));
      const seen: string[] = [];
      const w = await watchEvents(journal, { since: ms, until: ms, onEvent: (e) => seen.push(e.Actor.ID) }, () => ms + 5);
      await w.done();
      expect(seen, `event at ${ms}`).toEqual([`n${ms}`]);
    }
  });
});
