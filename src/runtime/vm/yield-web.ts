/**
 * How v86 yields between emulation slices, in a browser thread. Its default there starts a helper
 * Web Worker and does a postMessage round trip through it after every slice (about a millisecond
 * of guest work): two thread hops per slice, slower still when the machine is busy. A
 * MessageChannel inside the emulator's own thread yields to the event loop just the same (9P
 * replies, agent frames and timers still run between slices) without leaving the thread.
 * v86's own opt-in alternative (scheduler.postTask) is switched by the page URL, which a worker
 * hosted by someone else's page cannot set.
 *
 * Node keeps v86's setImmediate, which is already in-thread.
 */

interface V86Main {
  yield_callback(tick: number): void;
  yield(t: number, tick: number): void;
  unregister_yield(): void;
}

/** Replaces the yield of one emulator (v86's `V86` wrapper); false if its layout is not the expected one. */
export function yieldInThread(emulator: unknown): boolean {
  const main = (emulator as { v86?: Partial<V86Main> } | null)?.v86;
  if (!main || typeof main.yield_callback !== 'function' || typeof main.yield !== 'function' || typeof MessageChannel !== 'function') return false;
  const m = main as V86Main;
  const channel = new MessageChannel();
  channel.port1.onmessage = (e: MessageEvent<number>) => m.yield_callback(e.data);
  const timers = new Set<ReturnType<typeof setTimeout>>();
  m.yield = (t: number, tick: number) => {
    if (t < 1) {
      channel.port2.postMessage(tick);
      return;
    }
    const id = setTimeout(() => {
      timers.delete(id);
      m.yield_callback(tick);
    }, t);
    timers.add(id);
  };
  // v86's destroy() calls this: stop our wakeups as well as its helper worker (if it made one).
  const original = m.unregister_yield.bind(m);
  m.unregister_yield = () => {
    for (const id of timers) clearTimeout(id);
    timers.clear();
    channel.port1.onmessage = null;
    channel.port1.close();
    original();
  };
  return true;
}
