/**
 * What crosses the page <-> engine-worker boundary (comlink). Only wire types live here; the
 * worker side is src/web/worker/engine-service.ts, the page side src/web/client/engine-client.ts.
 * Values are structured-cloneable (Blobs for archives, plain records for the rest); callbacks
 * are comlink proxies.
 */
import type { Async, CommandEngine } from '../../cli/commands/context.ts';
import type { Engine } from '../../engine/engine.ts';
import type { CreateContainerOptions } from '../../engine/containers.ts';
import type { LoadProgress } from '../../engine/load/loader.ts';
import type { RunOptions } from '../../runtime/spec/options.ts';

/** A named point in the engine worker's timeline (worker/timeline.ts). */
export interface TimelineMark {
  name: string;
  /** Milliseconds since the epoch (performance.timeOrigin + performance.now()). */
  at: number;
  /** Extra figures (e.g. the Machine's boot phases). */
  detail?: Record<string, number | string | boolean>;
}

export interface InitOptions {
  /** Absolute URL under which vm-images/... is served (the bundled images, guest artifacts). */
  assetBase: string;
  /** Load every bundled image into the store on the first visit (default true). */
  seedBundled?: boolean;
  /** IndexedDB database name prefix (tests); default "skiff". */
  dbPrefix?: string;
  /** Where the emulator runs: 'inline' (default) in the engine worker beside the 9P server, or its own worker. */
  vmThread?: 'inline' | 'worker';
  /** A registry proxy (src/registry/proxy.ts) every registry request goes through, e.g. "<origin>/registry-proxy/". */
  registryProxy?: string;
}

export interface StorageInfo {
  /** Bytes used and allowed for this origin (navigator.storage.estimate), when known. */
  usage?: number;
  quota?: number;
  /** Whether the origin's storage is persistent (not evicted under pressure). */
  persisted?: boolean;
}

export interface InitInfo {
  /** Images loaded from the bundle by this init (first visit), by name. */
  seeded: string[];
  /** Why seeding stopped early (quota, offline); the engine still works with what is stored. */
  seedError?: { code: string; message: string };
  crossOriginIsolated: boolean;
  storage: StorageInfo;
  capabilities: Capabilities;
}

/** Which commands the engine can serve now; the shell and the component check before calling. */
export interface Capabilities {
  /** linux/386 images (the VM run path). */
  runLinux: boolean;
  /** wasi/wasm images. */
  runWasm: boolean;
  exec: boolean;
  logs: boolean;
  volumes: boolean;
}

export type SeedProgress = { image: string; index: number; total: number } & LoadProgress;

export interface RunRequest extends CreateContainerOptions {
  /** Docker's run flags as parsed by runtime/spec (the CLI's parser): volumes, limits, tmpfs ... */
  run?: RunOptions;
  /** Remove the container when it exits (`--rm`). */
  rm?: boolean;
  /** Text or bytes given to the process as its whole stdin. */
  stdin?: string | Uint8Array;
  /** Read stdin from the sink as the process wants it (`run -i` on the terminal). */
  streamStdin?: boolean;
  /** The terminal's size, for `-t`. */
  consoleSize?: { cols: number; rows: number };
}

export interface RunResult {
  id: string;
  name: string;
  exitCode: number;
  signal?: number;
}

export interface StartedInfo {
  id: string;
  name: string;
  runtime: string;
  pty: boolean;
}

/** Streamed stdio of a process; called through a comlink proxy, one message per chunk. */
export interface OutputSink {
  stdout(data: Uint8Array): void;
  stderr(data: Uint8Array): void;
  /** The next stdin bytes, null at end of input (only with `streamStdin`). */
  stdin?(): Promise<Uint8Array | null>;
  /** What the engine is doing before the process starts ("starting the Linux VM"). */
  status?(text: string): void;
  /** The process started (its container ID is what `kill` takes). `pty`: stdin goes to a real
   * terminal in the guest (the VM with -t), which echoes and edits itself: send keys raw. */
  started?(info: StartedInfo): void;
}

/**
 * The Engine's own API as the page sees it through the worker: the Engine's methods and types,
 * every call async. A process (startContainer, execContainer) comes back as an object whose
 * methods call the worker (rpc/adapters.ts); its `io` callbacks are called from there.
 */
export type WorkerEngine = CommandEngine & { [K in 'startContainer' | 'execContainer']: Async<Engine[K]> };

/**
 * The engine worker's API. `engine` is the Engine's own API (its methods, its types; streams and
 * callbacks cross through rpc/adapters.ts), typed on the page as CommandEngine. The rest is what
 * only the worker knows: its storage, the bundled images, the VM's warm-up, and `run`
 * streaming to a sink until the process exits (the page's terminal and <skiff-run>).
 */
export interface EngineApi {
  init(options: InitOptions, onSeed?: (p: SeedProgress) => void): Promise<InitInfo>;
  capabilities(): Promise<Capabilities>;
  storage(): Promise<StorageInfo>;
  readonly engine: WorkerEngine;

  /** Create and start a container, streaming its output; resolves when it exits. */
  run(request: RunRequest, sink: OutputSink): Promise<RunResult>;
  /** `run -d`: create and start; resolves once started (output goes to the container's log). */
  runDetached(request: RunRequest): Promise<{ id: string; name: string }>;
  /** Get ready to run `image` soon: load it, and start the VM for a Linux image (no-op if up). */
  prepare(options: { image: string }): Promise<void>;
  /** Named points in the engine worker since it started (wall-clock ms), for finding where time goes. */
  timeline(): Promise<TimelineMark[]>;
  /** The terminal of a `-t` process started by `run` changed size. */
  resize(options: { id: string; cols: number; rows: number }): Promise<void>;
}
