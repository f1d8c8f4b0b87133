/**
 * Wire types between the caller (which owns the filesystems and stdio) and the worker running the
 * module. Only types: the codec is in channel.ts, the two ends in host.ts and worker-main.ts.
 */
import type { FileKind } from '../../fs/types.ts';

/** How a module run ended, and the linear memory it had then (wasm memory never shrinks: that is the peak). */
export type WasiOutcome = (
  | { kind: 'exit'; exitCode: number }
  | { kind: 'trap'; exitCode: number; message: string }
  | { kind: 'signal'; exitCode: number; signal: number }
) & { memoryBytes?: number };

/** A filesystem the worker reaches through the channel; `fs` indexes the host's list. */
export interface RemoteMount {
  path: string;
  fs: number;
  readOnly: boolean;
  /** `FileSystem.readOnly` of the real filesystem. */
  fsReadOnly: boolean;
}

export interface StartMessage {
  t: 'start';
  module: WebAssembly.Module;
  args: string[];
  env: string[];
  cwd: string;
  mounts: RemoteMount[];
  tty: boolean;
  /** The synchronous reply area (see channel.ts). */
  sab: SharedArrayBuffer;
  /** Where the worker keeps its CPU time and memory for `stats` (usage.ts). */
  usage?: SharedArrayBuffer;
  trace: boolean;
}

/** A synchronous call: the worker blocks on the SAB until the host writes the reply. */
export interface CallMessage {
  t: 'call';
  /** Filesystem index, or -1 for the host itself (stdin, more). */
  fs: number;
  op: string;
  args: unknown[];
}

export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'started' }
  | CallMessage
  | { t: 'out'; fd: 1 | 2; data: Uint8Array }
  | { t: 'done'; outcome: WasiOutcome }
  | { t: 'fail'; code: string; message: string }
  | { t: 'trace'; line: string };

export type HostMessage = StartMessage;

/** Reply status in the SAB header. */
export const Reply = {
  JSON: 0,
  BYTES: 1,
  FS_ERROR: 2,
  ERROR: 3,
} as const;

/** A node handle on the wire, with its kind (fixed for a node's life), saving a stat per path step. */
export interface WireNode {
  $node: number;
  ino: number;
  kind: FileKind;
}
