/**
 * The page's side of the VM hold for wasm starts (worker/vm-hold.ts, worker/early-vm.ts): each
 * `prepare(image, { run: true })` opens one hold, so several elements of one image each have
 * their own. A hold is claimed by the next `run` of its image (the worker ends its early hold as
 * that run starts and opens the run's own) and ends with that run; one no run claims (an element
 * prepared twice, run once) ends after VM_HOLD_MAX_MS, when the worker's has ended anyway; the
 * holds of an image the page learns is a Linux one end at once (its 'vm' message ends the
 * worker's). While any hold is open the page does not compile v86.wasm itself: a wasm start may
 * need the cores first (engine-client.ts).
 *
 * The worker counts early holds per image (worker/early-vm.ts): 'hold' for every hold, 'unhold'
 * for every unclaimed one that ends here; a claimed one the run's start ends there.
 */
import type { EarlyMessage } from '../worker/early-vm.ts';
import { VM_HOLD_MAX_MS } from '../worker/vm-hold.ts';

export interface RunHold {
  readonly image: string;
}

interface State extends RunHold {
  claimed: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class RunHolds {
  /** Open holds, oldest first. */
  private readonly open = new Set<State>();

  constructor(private readonly post: (m: EarlyMessage) => void, private readonly unclaimedMs = VM_HOLD_MAX_MS) {}

  /** Opens a hold for a run of `image` about to be asked. */
  hold(image: string): RunHold {
    const h: State = { image, claimed: false, timer: undefined };
    h.timer = setTimeout(() => this.end(h), this.unclaimedMs);
    this.open.add(h);
    this.post({ skiffEarly: 'hold', image });
    return h;
  }

  /** A run of `image` starts: it takes the oldest unclaimed hold of that image, if any. */
  claim(image: string): RunHold | undefined {
    for (const h of this.open) {
      if (h.image !== image || h.claimed) continue;
      h.claimed = true;
      clearTimeout(h.timer);
      return h;
    }
    return undefined;
  }

  /** Ends a hold (again: nothing); the worker is told of an unclaimed one. */
  end(hold: RunHold): void {
    const h = hold as State;
    if (!this.open.delete(h)) return;
    clearTimeout(h.timer);
    if (!h.claimed) this.post({ skiffEarly: 'unhold', image: h.image });
  }

  /** `image` is a Linux one: its holds end (the 'vm' message the caller posts ends the worker's). */
  linux(image: string): void {
    for (const h of this.open) {
      if (h.image !== image) continue;
      clearTimeout(h.timer);
      this.open.delete(h);
    }
  }

  /** Holds open, claimed or not. */
  get size(): number {
    return this.open.size;
  }
}
