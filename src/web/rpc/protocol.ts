/**
 * What crosses the page <-> engine-worker boundary (comlink). Only wire types live here; the
 * worker side is src/web/worker/engine-service.ts, the page side src/web/client/engine-client.ts.
 * Values are structured-cloneable records; byte streams, callbacks and objects of methods (a
 * process) cross through rpc/adapters.ts.
 */
import type { HttpRequestLike, HttpResponseLike } from '../../net/http-port.ts';
import type { Async, CommandEngine } from '../../cli/commands/context.ts';
import type { Engine } from '../../engine/engine.ts';
import type { LoadProgress } from '../../engine/load/loader.ts';

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
  /** A Wisp relay (ws:// or wss://) for the containers' outbound TCP; none: outbound fails at once. */
  wispRelay?: string;
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

/**
 * The Engine's own API as the page sees it through the worker: the Engine's methods and types,
 * every call async. A process (startContainer, execContainer, runContainer's onStarted) comes back as an object whose
 * methods call the worker (rpc/adapters.ts); its `io` callbacks are called from there.
 */
export type WorkerEngine = CommandEngine & { [K in 'startContainer' | 'execContainer' | 'runContainer']: Async<Engine[K]> };

/**
 * The engine worker's API. `engine` is the Engine's own API (its methods, its types; streams and
 * callbacks cross through rpc/adapters.ts). The rest is what only the worker knows: its storage,
 * the bundled images, the VM's warm-up, its timeline.
 */
export interface EngineApi {
  init(options: InitOptions, onSeed?: (p: SeedProgress) => void): Promise<InitInfo>;
  capabilities(): Promise<Capabilities>;
  storage(): Promise<StorageInfo>;
  readonly engine: WorkerEngine;
  /** Whether the Linux VM is up (or coming up): "starting the Linux VM…" is worth saying only when not. */
  vmStarted(): Promise<boolean>;
  /** Get ready to run `image` soon: load it, and start the VM for a Linux image (no-op if up). */
  prepare(options: { image: string }): Promise<void>;
  /**
   * The page is fetching the site's VM snapshot for `key` itself (a first visit: the page can start
   * ~0.3 s before this worker could, client/snapshot-prefetch.ts): a restore that needs it waits for
   * `snapshotFetched` instead of downloading it again.
   */
  snapshotFetching(key: string): Promise<void>;
  /** What that fetch got (transferred), or null: the worker then fetches it itself. */
  snapshotFetched(key: string, state: ArrayBuffer | null): Promise<void>;
  /** Named points in the engine worker since it started (wall-clock ms), for finding where time goes. */
  timeline(): Promise<TimelineMark[]>;
  /** One HTTP exchange with a container's published port (the service worker's /_skiff/ports/<port>/ route). */
  portRequest(port: number, request: HttpRequestLike): Promise<HttpResponseLike>;
  /**
   * Answer portRequests arriving on `channel` (transferred) from here on: the page hands the other
   * end to the service worker, whose requests then skip the page (rpc/port-channel.ts).
   */
  portChannel(channel: MessagePort): Promise<void>;
  /** One Docker Engine API request (client/docker.ts): answered by the API's router over this engine. */
  dockerRequest(request: DockerRequestLike): Promise<DockerResponseLike>;
}

/** An Engine API request as it crosses to the worker: the path after any route prefix, with its query. */
export interface DockerRequestLike {
  method: string;
  path: string;
  headers: [string, string][];
  body?: Uint8Array;
}

/** The answer; `body` crosses as a transferred ReadableStream (rpc/adapters.ts), null when empty. */
export interface DockerResponseLike {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: AsyncIterable<Uint8Array> | null;
}
