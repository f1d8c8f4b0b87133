/**
 * One WASI process, start to exit, on the current thread: preopens, stdio, the import object, and
 * how it ended. The worker calls this with a proxied filesystem; the inline runner with the real one.
 */
import { WASIProcExit, type Fd } from '@bjorn3/browser_wasi_shim';
import { FsError } from '../../fs/errno.ts';
import { SkiffError } from '../../errors.ts';
import { FsDirFd } from './dir-fd.ts';
import { createWasiContext } from './imports.ts';
import type { WasiOutcome } from './protocol.ts';
import { Namespace, splitPath, type WasiMount, type Walk } from './namespace.ts';
import { InputStreamFd, OutputStreamFd, type SyncReader, type SyncWriter } from './stdio.ts';
import type { UsageMeter } from './usage.ts';

export interface RunModuleOptions {
  module: WebAssembly.Module;
  /** argv, argv[0] included. */
  args: readonly string[];
  env: readonly string[];
  /** Absolute; created if missing, as runc does for WorkingDir, and passed as PWD (see below). */
  cwd: string;
  mounts: readonly WasiMount[];
  stdin: SyncReader;
  stdout: SyncWriter;
  stderr: SyncWriter;
  tty?: boolean;
  sleep: (ms: number) => void;
  checkpoint?: () => void;
  trace?: (line: string) => void;
  /** Called once the module is instantiated, just before `_start`. */
  onStart?: () => void;
  /** Told the module's memory and when it starts and stops running (`stats`). */
  usage?: UsageMeter;
}

export type { WasiOutcome } from './protocol.ts';

/** wasmtime's convention: a trap ends the process like SIGABRT (128 + 6). */
export const TRAP_EXIT_CODE = 134;

/** Thrown by a `checkpoint` to stop the module at its next WASI call. */
export class WasiSignal extends Error {
  constructor(readonly signal: number) {
    super(`killed by signal ${signal}`);
  }
}

export async function runModule(opts: RunModuleOptions): Promise<WasiOutcome> {
  const ns = new Namespace(opts.mounts);
  const root = ns.rootWalk();
  // Like runc, create the directories leading to each mount point (they show in the diff, as in Docker).
  for (const m of [...opts.mounts].sort((a, b) => a.path.length - b.path.length)) {
    if (m.path !== '/') ensureMountPoint(ns, root, m.path);
  }
  ensureDir(ns, root, opts.cwd, 'working directory');
  const fds: Fd[] = [
    new InputStreamFd(opts.stdin, opts.tty),
    new OutputStreamFd(opts.stdout, opts.tty),
    new OutputStreamFd(opts.stderr, opts.tty),
    new FsDirFd(ns, root, '/'),
  ];
  // The working directory cannot be given to wasi-libc: it starts in "/" and matches paths to
  // preopens by prefix after stripping the leading "/", so a "." preopen for the cwd would also
  // capture every absolute path (measured under node:wasi too). Absolute paths must stay right;
  // the cwd is created and announced as PWD, which Go's wasip1 runtime and shells honour.
  const env = opts.env.some((e) => e.startsWith('PWD=')) ? opts.env : [...opts.env, `PWD=${opts.cwd}`];
  // Every WASI call samples the memory for `stats` (a module that grows it and never waits on the caller).
  const usage = opts.usage;
  const checkpoint = usage ? () => { usage.sample(); opts.checkpoint?.(); } : opts.checkpoint;
  const ctx = createWasiContext({ args: opts.args, env, fds, sleep: opts.sleep, checkpoint, trace: opts.trace });
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(opts.module, { wasi_snapshot_preview1: ctx.imports as WebAssembly.ModuleImports });
  } catch (e) {
    throw new SkiffError('RUNTIME', `instantiating wasm module: ${(e as Error).message}`, { cause: e });
  }
  const exports = instance.exports as { memory?: unknown; _start?: unknown };
  if (!(exports.memory instanceof WebAssembly.Memory)) throw new SkiffError('RUNTIME', 'wasm module exports no memory');
  if (typeof exports._start !== 'function') throw new SkiffError('RUNTIME', 'wasm module is not a WASI command: no _start export');
  opts.onStart?.();
  const memory = exports.memory;
  opts.usage?.watch(memory);
  opts.usage?.resume();
  const ended = (o: WasiOutcome): WasiOutcome => {
    opts.usage?.pause();
    return { ...o, memoryBytes: memory.buffer.byteLength };
  };
  try {
    const code = ctx.wasi.start(instance as unknown as Parameters<typeof ctx.wasi.start>[0]);
    return ended({ kind: 'exit', exitCode: code & 255 });
  } catch (e) {
    if (e instanceof WasiSignal) return ended({ kind: 'signal', signal: e.signal, exitCode: 128 + e.signal });
    if (e instanceof WASIProcExit) return ended({ kind: 'exit', exitCode: e.code & 255 });
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
      return ended({ kind: 'trap', exitCode: TRAP_EXIT_CODE, message: `wasm trap: ${e.message}` });
    }
    throw new SkiffError('RUNTIME', `wasm module failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

function ensureDir(ns: Namespace, root: Walk, path: string, what: string): Walk {
  if (!path.startsWith('/')) throw new SkiffError('INVALID_ARGUMENT', `${what} "${path}": must be absolute`);
  let walk = root;
  for (const name of splitPath(path)) {
    try {
      walk = ns.resolve(walk, name, true);
    } catch (e) {
      if (!(e instanceof FsError && e.code === 'ENOENT')) throw wrapFs(e, path, what);
      const dir = walk[walk.length - 1]!;
      try {
        dir.mount.fs.mkdir(dir.node, name, { mode: 0o755, uid: 0, gid: 0 });
        walk = ns.resolve(walk, name, true);
      } catch (e2) {
        throw wrapFs(e2, path, what);
      }
    }
  }
  if (ns.stat(walk[walk.length - 1]!).kind !== 'directory') throw new SkiffError('INVALID_ARGUMENT', `${what} "${path}": not a directory`);
  return walk;
}

/** The directory a mount covers, created in the filesystem below it (Docker's diff shows it). */
function ensureMountPoint(ns: Namespace, root: Walk, path: string): void {
  const parts = splitPath(path);
  const name = parts.pop()!;
  const parent = ensureDir(ns, root, '/' + parts.join('/'), 'mount point');
  const dir = parent[parent.length - 1]!;
  try {
    dir.mount.fs.lookup(dir.node, name);
  } catch (e) {
    if (!(e instanceof FsError && e.code === 'ENOENT')) throw wrapFs(e, path, 'mount point');
    try {
      dir.mount.fs.mkdir(dir.node, name, { mode: 0o755, uid: 0, gid: 0 });
    } catch (e2) {
      // A read-only image root without the directory: the mount still works through the namespace.
      if (!(e2 instanceof FsError && e2.code === 'EROFS')) throw wrapFs(e2, path, 'mount point');
    }
  }
}

function wrapFs(e: unknown, path: string, what: string): SkiffError {
  return new SkiffError('INVALID_ARGUMENT', `${what} "${path}": ${(e as Error).message}`, { cause: e });
}
