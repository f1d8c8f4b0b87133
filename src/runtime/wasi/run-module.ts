/**
 * One WASI process, start to exit, on the current thread: preopens, stdio, the import object, and
 * how it ended. The worker calls this with a proxied filesystem; the inline runner with the real one.
 */
import { WASIProcExit, type Fd } from '@bjorn3/browser_wasi_shim';
import { FsError } from '../../fs/errno.ts';
import { SkiffError } from '../../errors.ts';
import { FsDirFd } from './dir-fd.ts';
import { createWasiContext } from './imports.ts';
import { Namespace, splitPath, type WasiMount, type Walk } from './namespace.ts';
import { InputStreamFd, OutputStreamFd, type SyncReader, type SyncWriter } from './stdio.ts';

export interface RunModuleOptions {
  module: WebAssembly.Module;
  /** argv, argv[0] included. */
  args: readonly string[];
  env: readonly string[];
  /** Absolute; created if missing, as runc does for WorkingDir. */
  cwd: string;
  mounts: readonly WasiMount[];
  stdin: SyncReader;
  stdout: SyncWriter;
  stderr: SyncWriter;
  tty?: boolean;
  sleep: (ms: number) => void;
  checkpoint?: () => void;
  trace?: (line: string) => void;
}

export type WasiOutcome =
  | { kind: 'exit'; exitCode: number }
  | { kind: 'trap'; exitCode: number; message: string }
  | { kind: 'signal'; exitCode: number; signal: number };

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
    if (m.path !== '/') ensureDir(ns, root, m.path, 'mount point');
  }
  const cwd = ensureDir(ns, root, opts.cwd, 'working directory');
  const fds: Fd[] = [
    new InputStreamFd(opts.stdin, opts.tty),
    new OutputStreamFd(opts.stdout, opts.tty),
    new OutputStreamFd(opts.stderr, opts.tty),
    new FsDirFd(ns, root, '/'),
  ];
  // wasi-libc resolves relative paths against a "." preopen (its own getcwd() still says "/").
  if (cwd.length > 1) fds.push(new FsDirFd(ns, cwd, '.'));
  const ctx = createWasiContext({ args: opts.args, env: opts.env, fds, sleep: opts.sleep, checkpoint: opts.checkpoint, trace: opts.trace });
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(opts.module, { wasi_snapshot_preview1: ctx.imports as WebAssembly.ModuleImports });
  } catch (e) {
    throw new SkiffError('RUNTIME', `instantiating wasm module: ${(e as Error).message}`, { cause: e });
  }
  const exports = instance.exports as { memory?: unknown; _start?: unknown };
  if (!(exports.memory instanceof WebAssembly.Memory)) throw new SkiffError('RUNTIME', 'wasm module exports no memory');
  if (typeof exports._start !== 'function') throw new SkiffError('RUNTIME', 'wasm module is not a WASI command: no _start export');
  try {
    const code = ctx.wasi.start(instance as unknown as Parameters<typeof ctx.wasi.start>[0]);
    return { kind: 'exit', exitCode: code & 255 };
  } catch (e) {
    if (e instanceof WasiSignal) return { kind: 'signal', signal: e.signal, exitCode: 128 + e.signal };
    if (e instanceof WASIProcExit) return { kind: 'exit', exitCode: e.code & 255 };
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
      return { kind: 'trap', exitCode: TRAP_EXIT_CODE, message: `wasm trap: ${e.message}` };
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

function wrapFs(e: unknown, path: string, what: string): SkiffError {
  return new SkiffError('INVALID_ARGUMENT', `${what} "${path}": ${(e as Error).message}`, { cause: e });
}
