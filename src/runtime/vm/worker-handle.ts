/** The emulator worker as the Machine sees it, whatever runs it (worker_threads or Web Worker). */
import type { Direct9p, HostToWorker, WorkerToHost } from './worker-protocol.ts';

export interface VmWorkerHandle {
  post(msg: HostToWorker, transfer?: Transferable[]): void;
  onMessage(cb: (msg: WorkerToHost) => void): void;
  /** Called once if the worker dies (an uncaught error or an exit). */
  onError(cb: (err: Error) => void): void;
  terminate(): Promise<void>;
  /** Where the worker finds v86.wasm (a path in Node, a URL in the browser). */
  wasmPath: string;
  /** v86.wasm compiled (cached per process), if this environment can hand modules to workers. */
  wasmModule?: () => Promise<WebAssembly.Module>;
  /** Only for an emulator in the Machine's own thread: lets it call the Machine's 9P handler directly. */
  setDirect9p?(handler: Direct9p | null): void;
}
