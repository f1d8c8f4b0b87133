/**
 * The worker's view of a `runContainer` call from the page: the Engine's own run, with its hooks
 * wrapped to mark the timeline (create, start, first output with the 9P work meanwhile) and to
 * start the VM's restore as soon as the container is known to be a Linux one. Nothing else
 * changes: the page's hooks and output callbacks are called as the Engine calls them.
 */
import type { RunContainerOptions } from '../../engine/lifecycle.ts';
import { p9Stats, type BrowserRuntimes } from './runtimes.ts';
import { mark } from './timeline.ts';

export function observedRun(o: RunContainerOptions, runtimes: BrowserRuntimes): RunContainerOptions {
  mark('run');
  const p9Before = { ...p9Stats };
  let firstOut = true;
  const first = (): void => {
    if (!firstOut) return;
    firstOut = false;
    mark('run.first-output', { p9Requests: p9Stats.requests - p9Before.requests, p9Ms: Math.round(p9Stats.ms - p9Before.ms) });
  };
  const io = o.io;
  return {
    ...o,
    ...(io ? { io: { onStdout: (d) => { first(); return io.onStdout(d); }, onStderr: (d) => { first(); return io.onStderr(d); } } } : {}),
    onCreated: async (rec) => {
      mark('run.create');
      if (rec.runtime === 'vm') runtimes.warmVm().catch(() => {});
      await o.onCreated?.(rec);
    },
    onStarted: (started) => {
      mark('run.start');
      o.onStarted?.(started);
    },
  };
}
