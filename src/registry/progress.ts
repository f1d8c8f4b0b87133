/**
 * Progress callbacks that may cross a boundary (comlink: the page's terminal gets a pull's events
 * from the engine worker over their own MessagePort). Such a call returns a promise and nothing
 * orders it against the operation's result, so the operation waits for the ones still in flight
 * before it returns or throws: the page never prints a layer line after the prompt. Byte counts
 * are sent at most every `intervalMs` per layer (and always the last one).
 */
/** One progress line, Docker's JSON-message shape: a layer's status, or the image's. */
export interface PullEvent {
  /** Short layer ID (12 hex), absent for whole-image lines. */
  id?: string;
  status: string;
  current?: number;
  total?: number;
}

export type ProgressCallback = (e: PullEvent) => unknown;

export interface Emitter {
  emit(e: PullEvent): void;
  /** Settles once every callback made so far has. */
  drain(): Promise<void>;
}

export function progressEmitter(cb: ProgressCallback | undefined, intervalMs = 100, now: () => number = Date.now): Emitter {
  const inflight = new Set<Promise<unknown>>();
  const lastSent = new Map<string, number>();
  return {
    emit(e) {
      if (!cb) return;
      if (e.id && e.total !== undefined && e.current !== undefined && e.current < e.total) {
        const t = now();
        if (t - (lastSent.get(`${e.id} ${e.status}`) ?? -Infinity) < intervalMs) return;
        lastSent.set(`${e.id} ${e.status}`, t);
      }
      let r: unknown;
      try {
        r = cb(e);
      } catch {
        return; // a display failing is not the pull failing
      }
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        const p = Promise.resolve(r).catch(() => {});
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
    },
    async drain() {
      while (inflight.size) await Promise.allSettled([...inflight]);
    },
  };
}
