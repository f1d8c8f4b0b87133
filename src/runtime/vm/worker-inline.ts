/**
 * The emulator in the caller's own thread: the same `serveVmWorker` loop a worker runs, wired to
 * the Machine through microtasks instead of postMessage. Used on Node by VmRuntime so that the
 * guest's 9P requests reach the P9Server (and the containers' overlays, which live in the engine's
 * thread) with a function call per request instead of a structured-clone hop each way.
 *
 * Trade-off: the emulator's slices then share the event loop with the engine. On the CLI that is
 * all the process does; a page keeps the worker (worker-web.ts).
 */
import { createRequire } from 'node:module';
import type { VmWorkerHandle } from './worker-handle.ts';
import { serveVmWorker } from './worker-main.ts';
import type { HostToWorker, WorkerToHost } from './worker-protocol.ts';

export async function spawnInlineVmWorker(): Promise<VmWorkerHandle> {
  const toHost: ((m: WorkerToHost) => void)[] = [];
  const toWorker: ((m: HostToWorker) => void)[] = [];
  const errors: ((err: Error) => void)[] = [];
  let closed = false;
  serveVmWorker({
    post: (m) => {
      if (closed) return;
      // Asynchronous like a real port: v86 calls us from inside its event dispatch.
      queueMicrotask(() => {
        if (closed) return;
        try {
          for (const cb of toHost) cb(m);
        } catch (err) {
          for (const e of errors) e(err as Error);
        }
      });
    },
    onMessage: (cb) => void toWorker.push(cb),
  });
  return {
    wasmPath: createRequire(import.meta.url).resolve('v86/build/v86.wasm'),
    post: (m) => {
      if (closed) return;
      queueMicrotask(() => {
        if (!closed) for (const cb of toWorker) cb(m);
      });
    },
    onMessage: (cb) => void toHost.push(cb),
    onError: (cb) => void errors.push(cb),
    terminate: async () => {
      if (closed) return;
      // Stop the emulator before dropping the wiring, so its timers end with it.
      await new Promise<void>((resolve) => {
        const done = setTimeout(resolve, 2000);
        toHost.push((m) => { if (m.t === 'stopped') { clearTimeout(done); resolve(); } });
        for (const cb of toWorker) cb({ t: 'stop' });
      });
      closed = true;
    },
  };
}
