/**
 * How engine code reports what it did: one call per Docker event, with the attributes Docker's
 * daemon gives that event (a container's labels, image and name; a network's name and type; a
 * volume's driver), appended to the engine's journal with the time it happened.
 */
import type { ContainerRecord } from '../types.ts';
import { makeEvent, type EngineEvent, type EventJournal, type EventType } from './types.ts';

export class EventRecorder {
  constructor(readonly journal: EventJournal, private readonly now: () => number = () => Date.now()) {}

  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const e = makeEvent(type, action, id, attributes, this.now());
    this.journal.append(e);
    return e;
  }

  container(rec: Pick<ContainerRecord, 'id' | 'name' | 'imageRef' | 'labels'>, action: string, extra: Record<string, string> = {}): void {
    this.emit('container', action, rec.id, { ...containerAttributes(rec), ...extra });
  }

  /** `id`: the image ID (sha256:...) or, for pull/push, the reference; `name` the reference. */
  image(action: string, id: string, name?: string): void {
    this.emit('image', action, id, name !== undefined ? { name } : {});
  }

  volume(action: string, name: string, extra: Record<string, string> = {}): void {
    this.emit('volume', action, name, { driver: 'local', ...extra });
  }

  network(action: string, n: { id: string; name: string; driver: string }, extra: Record<string, string> = {}): void {
    this.emit('network', action, n.id, { name: n.name, type: n.driver, ...extra });
  }
}

/** Docker's attributes of a container's events: its labels, then its image and name. */
export function containerAttributes(rec: Pick<ContainerRecord, 'name' | 'imageRef' | 'labels'>): Record<string, string> {
  return { ...rec.labels, image: rec.imageRef, name: rec.name };
}

/** For engine code handed a context without a journal (tests of the parts below the facade). */
export const NO_EVENTS = new EventRecorder({ append() {}, read: async () => ({ events: [], end: 0 }), end: async () => 0, follow: () => () => {} });
