/**
 * The worker's view of a `runContainer` call from the page: the Engine's own run, with its hooks
 * wrapped to mark the timeline (create, start, first output with the 9P work meanwhile), to start
 * the VM's restore as soon as the container is known to be a Linux one, and to end the hold
 * that lets a wasm container's start go before the VM's heavy restore steps (runtimes.ts holdVm)
 * when it prints or ends. Nothing else changes: the page's hooks and output callbacks are called as the Engine
 * calls them. `settled()` is called when the run's promise settles.
 */
import type { RunContainerOptions } from '../../engine/lifecycle.ts';
import { p9Stats, type BrowserRuntimes } from './runtimes.ts';
import { mark } from './timeline.ts';

/**
 * `warm(id)`: read a new Linux container's image files into memory while the VM restores
 * (warm-rootfs.ts). `releaseVm`: the VM hold (runtimes.holdVm) the caller opened for this run,
 * ended here once the container turns out to be a Linux one, at its first output, or when the run settles.
 */
export function observedRun(o: RunContainerOptions, runtimes: BrowserRuntimes, warm?: (containerId: string) => void, releaseVm?: () => void): { options: RunContainerOptions; settled(): void } {
  mark('run');
  const p9Before = { ...p9Stats };
  let firstOut = true;
  const first = (): void => {
    if (!firstOut) return;
    firstOut = false;
    releaseVm?.();
    mark('run.first-output', {
      p9Requests: p9Stats.requests - p9Before.requests, p9Ms: Math.round(p9Stats.ms - p9Before.ms),
      p9Waited: p9Stats.waited - p9Before.waited, p9WaitMs: Math.round(p9Stats.waitMs - p9Before.waitMs),
    });
  };
  const io = o.io;
  return {
    options: {
      ...o,
      ...(io ? { io: { onStdout: (d) => { first(); return io.onStdout(d); }, onStderr: (d) => { first(); return io.onStderr(d); } } } : {}),
      onCreated: async (rec) => {
        mark('run.create');
        if (rec.runtime === 'vm') {
          releaseVm?.();
          runtimes.warmVm().catch(() => {});
          warm?.(rec.id);
        }
        await o.onCreated?.(rec);
      },
      onStarted: (started) => {
        mark('run.start');
        o.onStarted?.(started);
      },
    },
    settled: () => releaseVm?.(),
  };
}
