/**
 * Letting a wasm container's start go before the VM's restore in the engine worker (runtimes.ts).
 * A hold is counted and ends when released or after VM_HOLD_MAX_MS; the VM's heavy steps (the
 * snapshot read, the emulator's `boot` message, which builds V86 and runs `restore_state`) wait
 * until no hold is open. Nothing is dropped or reordered: a held boot only starts later.
 */
import type { HostToWorker } from '../../runtime/vm/worker-protocol.ts';
import type { VmWorkerHandle } from '../../runtime/vm/worker-handle.ts';

/** The longest one hold lasts: a wasm start takes ~0.1 s, but its module may then run for long. */
export const VM_HOLD_MAX_MS = 500;

export interface HoldGate {
  /** Opens a hold; the returned function ends it (again: no effect). */
  hold(): () => void;
  /** Resolves once no hold is open (at once when none is); `step` names the waiter. */
  passed(step: string): Promise<void>;
}

export function holdGate(o: { maxMs?: number; onWaited?: (step: string, ms: number) => void } = {}): HoldGate {
  const maxMs = o.maxMs ?? VM_HOLD_MAX_MS;
  let open = 0;
  const waiting: (() => void)[] = [];
  return {
    hold() {
      open++;
      let done = false;
      const release = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (--open === 0) for (const w of waiting.splice(0)) w();
      };
      const timer = setTimeout(release, maxMs);
      return release;
    },
    async passed(step) {
      if (open === 0) return;
      const t0 = performance.now();
      await new Promise<void>((r) => waiting.push(r));
      o.onWaited?.(step, Math.round(performance.now() - t0));
    },
  };
}

/**
 * The emulator's handle with its `boot` message sent once `before()` resolves; messages posted
 * meanwhile (the agent's first bytes, a stop) follow it in order. Other messages go straight through.
 */
export function bootAfter(w: VmWorkerHandle, before: () => Promise<void>): VmWorkerHandle {
  let pending: [HostToWorker, Transferable[] | undefined][] | null = null;
  return {
    ...w,
    post: (msg, transfer) => {
      if (pending) return void pending.push([msg, transfer]);
      if (msg.t !== 'boot') return w.post(msg, transfer);
      pending = [[msg, transfer]];
      void before().then(() => {
        const queued = pending!;
        pending = null;
        for (const [m, t] of queued) w.post(m, t);
      });
    },
  };
}
