/**
 * `runWasi`: one container process for a wasm image. The module runs in its own worker, so a busy
 * loop never blocks the caller and `kill` can always stop it; the caller keeps the filesystems and
 * answers the worker's synchronous calls (channel.ts).
 *
 * Without SharedArrayBuffer (a page that is not crossOriginIsolated) a worker cannot block on the
 * caller, so the module runs inline on the caller's thread: stdin is read to EOF first, and `kill`
 * takes effect at the module's next WASI call only if that call ever happens.
 */
import { SkiffError } from '../../errors.ts';
import { Overlay } from '../../fs/overlay.ts';
import { retryAfterIO } from '../../fs/pending-io.ts';
import { materializeTree } from '../../fs/tree.ts';
import type { FileSystem } from '../../fs/types.ts';
import { parseSignal } from '../spec/signals.ts';
import { ChannelServer, createChannelBuffer } from './channel.ts';
import { WASM_PAGE_BYTES } from './memory-limit.ts';
import { compileWasi } from './module-cache.ts';
import type { WasiMount } from './namespace.ts';
import type { RemoteMount, WorkerMessage } from './protocol.ts';
import { FileSystemServer } from './remote-fs.ts';
import { runModule, WasiSignal, type WasiOutcome } from './run-module.ts';
import { StdinReader, type StdinSource } from './stdin-source.ts';
import { bufferReader } from './stdio.ts';
import type { PooledSpawn, SpawnWorker, WorkerHandle } from './worker-handle.ts';
import { readUsage, UsageMeter, USAGE_BYTES } from './usage.ts';

export interface RunWasiOptions {
  /** The module's bytes (compiled once and cached) or an already compiled module. */
  module: Uint8Array | WebAssembly.Module;
  /** argv, argv[0] included (Docker: entrypoint + cmd). */
  args: readonly string[];
  /** "KEY=value" strings, or a map. */
  env?: readonly string[] | Readonly<Record<string, string>>;
  /** Absolute working directory; created if missing. Default "/". */
  cwd?: string;
  /** Root filesystem at "/" plus volumes. */
  mounts: readonly WasiMount[];
  stdin?: StdinSource;
  /** A returned promise is backpressure: the worker stops at its next sync point until it settles. */
  onStdout?: (data: Uint8Array) => unknown;
  onStderr?: (data: Uint8Array) => unknown;
  /** `--memory`: cap on linear memory in 64 KiB pages (needs `module` as bytes). */
  memoryLimitPages?: number;
  /** Cache key for the compiled module (e.g. the layer digest). */
  cacheKey?: string;
  /** Report stdio as a terminal (`-t`). */
  tty?: boolean;
  /** "auto" (default): a worker when `spawn` is given and a worker can block on this thread, else inline. */
  mode?: 'auto' | 'worker' | 'inline';
  /**
   * Log every WASI call ("wasi fd_write(1, ...) = 0") and filesystem call ("fs 0.lookup(1, \"etc\")").
   * src/node.ts turns SKIFF_TRACE_WASI on into one that writes to stderr.
   */
  trace?: (line: string) => void;
  /**
   * Starts the module's worker: the entry points pass theirs (src/node.ts worker_threads,
   * src/browser.ts a Web Worker). Without one the module runs inline.
   */
  spawn?: SpawnWorker;
}

export interface WasiExit {
  exitCode: number;
  /** The module's linear memory when it ended (its peak); absent when it never started. */
  memoryBytes?: number;
  /**
   * It failed (non-zero exit or trap) with its memory within 2 MiB of `memoryLimitPages`: most
   * likely an allocation the cap refused. wasm cannot be OOM-killed; this is the nearest thing.
   */
  oomKilled?: boolean;
  /** Set when the process was killed. */
  signal?: number;
  /** Set when the module trapped: "wasm trap: unreachable". */
  trap?: string;
}

export interface WasiProcess {
  readonly mode: 'worker' | 'inline';
  /** Resolves when the module is instantiated and starting; rejects as `exited` does if it cannot. */
  readonly started: Promise<void>;
  /** Settles when the process ends; rejects only when it could not run at all (SkiffError). */
  readonly exited: Promise<WasiExit>;
  /** Stop the process; it exits with 128 + signal, as Docker reports. Default SIGKILL. */
  kill(signal?: string | number): void;
  /** CPU time its thread spent running the module (ms) and its linear memory now (usage.ts). */
  usage(): { cpuMs: number; memoryBytes: number };
}

/** SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH (Linux i386 numbers). */
const IGNORED_SIGNALS = new Set([17, 18, 19, 20, 21, 22, 23, 28]);

/**
 * Whether a worker can share memory with this thread: SharedArrayBuffer and Atomics exist, and
 * where the platform knows about isolation (browsers) the context is crossOriginIsolated.
 */
export function canUseWorker(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

let blocking: boolean | undefined;

/** Whether Atomics.wait may block this thread (not a page's main thread), probed once. */
function canBlock(): boolean {
  if (blocking === undefined) {
    try {
      // Never waits: the value differs, and a thread that may not block throws before comparing.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

export function runWasi(opts: RunWasiOptions): WasiProcess {
  const mode = opts.mode === undefined || opts.mode === 'auto' ? (opts.spawn && canUseWorker() ? 'worker' : 'inline') : opts.mode;
  if (mode === 'worker' && !canUseWorker()) throw new SkiffError('UNSUPPORTED', 'wasm worker mode needs SharedArrayBuffer (a crossOriginIsolated page)');
  if (mode === 'worker' && !opts.spawn) throw new SkiffError('INVALID_ARGUMENT', 'wasm worker mode needs `spawn` (src/node.ts nodeWasiSpawn, src/browser.ts browserWasiSpawn)');
  let killWith: number | null = null;
  let onKill: ((signal: number) => void) | null = null;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  // Shared with the worker; a plain buffer inline (a page without SharedArrayBuffer runs inline).
  const usage = mode === 'worker' ? new SharedArrayBuffer(USAGE_BYTES) : new ArrayBuffer(USAGE_BYTES);
  const exited = (async (): Promise<WasiExit> => {
    if (opts.module instanceof WebAssembly.Module && opts.memoryLimitPages) {
      throw new SkiffError('INVALID_ARGUMENT', 'memoryLimitPages needs the module as bytes, not compiled');
    }
    const module = opts.module instanceof WebAssembly.Module ? opts.module : await compileWasi(opts.module, opts);
    if (killWith !== null) return { exitCode: 128 + killWith, signal: killWith };
    const env = Array.isArray(opts.env) ? [...opts.env] : Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const common = { module, args: [...opts.args], env, cwd: opts.cwd ?? '/', tty: opts.tty ?? false, onStart: markStarted, usage };
    const outcome = mode === 'worker'
      ? await runInWorker(opts, common, (cb) => {
          onKill = cb;
          // Killed while the worker was being taken from the pool.
          if (killWith !== null) cb(killWith);
        })
      : await runInline(opts, common, () => killWith);
    return exitOf(outcome, opts.memoryLimitPages);
  })();
  // A run that ends (killed, or failed) before the module started still settles `started`.
  exited.then(markStarted, () => undefined);
  const startedOrFailed = Promise.race([started, exited.then(() => undefined)]);
  startedOrFailed.catch(() => undefined);
  return {
    mode,
    started: startedOrFailed,
    exited,
    usage: () => readUsage(usage),
    kill(signal: string | number = 'SIGKILL') {
      const n = parseSignal(signal);
      // No handlers exist in WASI: a signal whose default action is to ignore (or stop) does nothing.
      if (IGNORED_SIGNALS.has(n)) return;
      if (killWith !== null) return;
      killWith = n;
      onKill?.(n);
    },
  };
}

const OOM_SLACK_BYTES = 2 << 20;

function exitOf(o: WasiOutcome, limitPages: number | undefined): WasiExit {
  const e: WasiExit = { exitCode: o.exitCode };
  if (o.kind === 'signal') e.signal = o.signal;
  if (o.kind === 'trap') e.trap = o.message;
  if (o.memoryBytes !== undefined) {
    e.memoryBytes = o.memoryBytes;
    const failed = o.kind === 'trap' || (o.kind === 'exit' && o.exitCode !== 0);
    if (failed && limitPages && o.memoryBytes >= limitPages * WASM_PAGE_BYTES - OOM_SLACK_BYTES) e.oomKilled = true;
  }
  return e;
}

interface Common {
  module: WebAssembly.Module;
  args: string[];
  env: string[];
  cwd: string;
  tty: boolean;
  onStart: () => void;
  usage: SharedArrayBuffer | ArrayBuffer;
}

async function runInline(opts: RunWasiOptions, c: Common, killed: () => number | null): Promise<WasiOutcome> {
  const stdin = await new StdinReader(opts.stdin).readAll();
  // Inline, nothing can wait for image bytes from an asynchronous store (IndexedDB) mid-call:
  // they are brought into memory first, as every file's were before layers were read on demand.
  for (const m of opts.mounts) {
    if (m.fs instanceof Overlay) {
      await materializeTree(m.fs.lowerTree.root);
      await materializeTree(m.fs.upperTree.root);
    }
  }
  const blocks = canBlock();
  const meter = new UsageMeter(c.usage);
  return runModule({
    ...c,
    usage: meter,
    mounts: opts.mounts,
    stdin: bufferReader(stdin),
    stdout: (d) => opts.onStdout?.(d),
    stderr: (d) => opts.onStderr?.(d),
    sleep: (ms) => {
      if (blocks) return void meter.blocked(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms));
      const end = performance.now() + ms;
      while (performance.now() < end) { /* no way to block a page's main thread */ }
    },
    checkpoint: () => {
      const s = killed();
      if (s !== null) throw new WasiSignal(s);
    },
    trace: opts.trace ? (line) => opts.trace!(`wasi ${line}`) : undefined,
  });
}

async function runInWorker(opts: RunWasiOptions, c: Common, setKill: (cb: (signal: number) => void) => void): Promise<WasiOutcome> {
  const filesystems: FileSystem[] = [];
  const mounts: RemoteMount[] = opts.mounts.map((m) => {
    let i = filesystems.indexOf(m.fs);
    if (i < 0) i = filesystems.push(m.fs) - 1;
    return { path: m.path, fs: i, readOnly: m.readOnly ?? m.fs.readOnly, fsReadOnly: m.fs.readOnly };
  });
  const servers = filesystems.map((fs) => new FileSystemServer(fs));
  const sab = createChannelBuffer();
  const channel = new ChannelServer(sab);
  const stdin = new StdinReader(opts.stdin);
  const spawn = opts.spawn!;
  const pool = 'replenish' in spawn ? (spawn as PooledSpawn) : null;
  const worker: WorkerHandle = await spawn();
  worker.ref?.();
  // Settles once the sink took everything written so far (the latest write's promise: sinks keep order).
  let output: Promise<unknown> = Promise.resolve();
  try {
    return await new Promise<WasiOutcome>((resolve, reject) => {
      let settled = false;
      const finish = (o: WasiOutcome | Error) => {
        if (settled) return;
        settled = true;
        if (o instanceof Error) reject(o);
        else resolve(o);
      };
      setKill((signal) => finish({ kind: 'signal', signal, exitCode: 128 + signal }));
      worker.onError((err) => finish(new SkiffError('RUNTIME', `wasm worker: ${err.message}`, { cause: err })));
      worker.onMessage((m: WorkerMessage) => {
        switch (m.t) {
          case 'call':
            if (m.fs === -1 && m.op === 'drain') {
              // The worker waits here until what it wrote so far was taken (backpressure).
              output.then(() => channel.replyValue(null), () => channel.replyValue(null));
            } else if (m.fs === -1 && m.op === 'stdin') {
              stdin.read(m.args[0] as number).then((d) => channel.replyValue(d.slice()), (e: unknown) => channel.replyError(e));
            } else if (m.fs === -1 && m.op === 'more') {
              channel.replyMore();
            } else {
              try {
                const server = servers[m.fs];
                if (!server) throw new Error(`no filesystem #${m.fs}`);
                // Image bytes in an asynchronous store (IndexedDB): the worker stays blocked on
                // the channel until they arrive, so the module sees an ordinary synchronous read.
                const value = retryAfterIO(() => server.handle(m.op, m.args));
                if (value instanceof Promise) value.then((v) => channel.replyValue(v), (e: unknown) => channel.replyError(e));
                else channel.replyValue(value);
              } catch (e) {
                channel.replyError(e);
              }
            }
            return;
          case 'out':
            try {
              const taken = (m.fd === 1 ? opts.onStdout : opts.onStderr)?.(m.data);
              if (taken instanceof Promise) output = taken;
            } catch (e) {
              finish(new SkiffError('RUNTIME', `output callback failed: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
            }
            return;
          case 'ready':
            return;
          case 'started':
            return c.onStart();
          case 'trace':
            opts.trace?.(m.line);
            return;
          case 'done':
            return finish(m.outcome);
          case 'fail':
            return finish(new SkiffError(m.code as SkiffError['code'], m.message));
        }
      });
      worker.post({ t: 'start', module: c.module, args: c.args, env: c.env, cwd: c.cwd, mounts, tty: c.tty, sab, trace: opts.trace !== undefined, ...(c.usage instanceof SharedArrayBuffer ? { usage: c.usage } : {}) });
    });
  } finally {
    void worker.terminate();
    void stdin.close();
    pool?.replenish();
  }
}
