/**
 * Counts the 9P requests a VM runtime's guest sends, by type (one byte read per request, so the
 * count costs the round trip nothing measurable), for benches' notes.
 */
import { MessageCode } from '../src/p9/messages.ts';
import type { VmRuntime } from '../src/runtime/vm/container-runtime.ts';

const NAMES = new Map<number, string>(Object.entries(MessageCode).map(([name, code]) => [code, name]));

export interface RequestCounter {
  /** Wraps `rt`'s 9P handler (before its machine starts) and returns `rt`. */
  attach(rt: VmRuntime): VmRuntime;
  reset(): void;
  /** "Tgetattr 6273, Twalk 5205, ... (21407 in all)", most frequent first. */
  text(): string;
}

export function countRequests(): RequestCounter {
  const counts = new Map<number, number>();
  return {
    attach(rt) {
      const handle = rt.server.handleAsync.bind(rt.server);
      rt.server.handleAsync = (req) => {
        if (req.length > 4) counts.set(req[4]!, (counts.get(req[4]!) ?? 0) + 1);
        return handle(req);
      };
      return rt;
    },
    reset: () => counts.clear(),
    text() {
      const all = [...counts.values()].reduce((a, b) => a + b, 0);
      const by = [...counts].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${NAMES.get(code) ?? code} ${n}`);
      return `${by.join(', ')} (${all} in all)`;
    },
  };
}
