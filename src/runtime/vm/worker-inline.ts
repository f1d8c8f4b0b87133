/**
 * The emulator in the caller's own thread: the same `serveVmWorker` loop a worker runs, wired to
 * the Machine through microtasks instead of postMessage. Used by VmRuntime so that the guest's 9P
 * requests reach the P9Server (and the containers' overlays, which live in the engine's thread)
 * with a function call per request instead of a structured-clone hop each way: on Node in the
 * CLI's thread, in the browser inside the engine worker (never the page's main thread).
 *
 * Trade-off: the emulator's slices then share the event loop with the engine. On the CLI that is
 * all the process does; in the browser the engine worker mostly waits on IndexedDB meanwhile.
 */
import type { VmWorkerHandle } from './worker-handle.ts';
import { serveVmWorker } from './worker-main.ts';
import { yieldInThread } from './yield-web.ts';
import type { Direct9p, HostToWorker, WorkerToHost } from './worker-protocol.ts';

export interface InlineVmOptions {
  /** Where v86.wasm is: a URL in the browser, a path on Node (worker-node.ts v86WasmPath). */
  wasmPath: string;
  /** v86.wasm compiled once per thread (the browser passes compileStreaming). */
  wasmModule?: () => Promise<WebAssembly.Module>;
  /**
   * Browser: yield between slices in this thread (yield-web.ts) instead of through v86's helper
   * worker. Off by default: in chromium on 2 loaded cores it measured no better (restore to agent
   * ready 487-596 vs 451-761 ms; cold boot no faster), so the helper worker stays.
   */
  yieldInThread?: boolean;
  /** Told whether the in-thread yield was installed (false: v86's own is in use). */
  onYield?: (inThread: boolean) => void;
}

export async function spawnInlineVmWorker(o: InlineVmOptions): Promise<VmWorkerHandle> {
  const { wasmPath } = o;
  const toHost: ((m: WorkerToHost) => void)[] = [];
  const toWorker: ((m: HostToWorker) => void)[] = [];
  const errors: ((err: Error) => void)[] = [];
  let closed = false;
  let direct9p: Direct9p | null = null;
  serveVmWorker({
    direct9p: () => (closed ? null : direct9p),
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
    ...(o.yieldInThread ? { onEmulator: (emu: unknown) => o.onYield?.(yieldInThread(emu)) } : {}),
  });
  return {
    wasmPath,
    ...(o.wasmModule ? { wasmModule: o.wasmModule } : {}),
    post: (m) => {
      if (closed) return;
      queueMicrotask(() => {
        if (!closed) for (const cb of toWorker) cb(m);
      });
    },
    onMessage: (cb) => void toHost.push(cb),
    onError: (cb) => void errors.push(cb),
    setDirect9p: (handler) => { direct9p = handler; },
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
