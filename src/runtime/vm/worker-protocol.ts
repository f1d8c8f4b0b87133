/** Messages between the Machine (main thread) and the emulator worker. Wire types only. */

export type StateEncoding = 'gzip' | 'raw';

export interface BootMessage {
  t: 'boot';
  /** Node: a file path; browser: a URL. */
  wasmPath: string;
  /** v86.wasm compiled once per process by the worker handle; saves a compile per start. */
  wasmModule?: WebAssembly.Module;
  memoryBytes: number;
  cmdline: string;
  bios: ArrayBuffer;
  /** Cold boot: kernel and initrd. Restore: a saved state instead. */
  bzimage?: ArrayBuffer;
  initrd?: ArrayBuffer;
  state?: ArrayBuffer;
  stateEncoding?: StateEncoding;
}

export type HostToWorker =
  | BootMessage
  | { t: 'console'; data: Uint8Array }
  | { t: 'p9-reply'; id: number; data: Uint8Array }
  /** Ethernet frames for the guest's NIC (net-pump.ts). */
  | { t: 'net'; frames: Uint8Array[] }
  | { t: 'save'; encoding: StateEncoding }
  /** Asks for the guest instruction count (a load-independent measure of guest work: benches). */
  | { t: 'count' }
  | { t: 'stop' };

export type WorkerToHost =
  /**
   * ms: boot message to emulator ready; inflateMs: decompressing the state (restore only);
   * loadedMs: V86 built (its 'emulator-loaded'); restoreMs: `restore_state` and run (restore only).
   */
  | { t: 'started'; restored: boolean; ms: number; inflateMs: number; loadedMs?: number; restoreMs?: number }
  | { t: 'console'; data: Uint8Array }
  | { t: 'serial'; line: string }
  | { t: 'p9'; id: number; data: Uint8Array }
  /** Ethernet frames the guest's NIC sent, one message per emulator slice. */
  | { t: 'net'; frames: Uint8Array[] }
  | { t: 'saved'; state: ArrayBuffer; rawBytes: number; ms: number }
  | { t: 'error'; message: string }
  /** v86's instruction counter (u32: wraps every 2^32 instructions). */
  | { t: 'count'; instructions: number }
  | { t: 'stopped' };

export interface WorkerEndpoint {
  post(msg: WorkerToHost, transfer?: Transferable[]): void;
  onMessage(cb: (msg: HostToWorker) => void): void;
  /** Called with each emulator once v86 built it (its `emulator-ready`): to tune how it yields. */
  onEmulator?(emulator: unknown): void;
  /**
   * In the host's own thread (worker-inline.ts): the host's 9P handler, called directly. A reply
   * it returns at once reaches the guest inside the same virtqueue notification, so the guest's
   * 9P client never sleeps and the emulator never yields for it; null: relay as messages.
   */
  direct9p?(): Direct9p | null;
}

/** A 9P handler the emulator may call in its own call stack (never throws). */
export type Direct9p = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;
