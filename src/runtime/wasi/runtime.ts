/**
 * The WASI backend behind the engine's `ContainerRuntime` contract (runtime/types.ts): the
 * container's spec (resolved at create, runtime/spec container-spec.ts) becomes argv/env/cwd,
 * volumes and tmpfs become preopened mounts, `--memory` caps linear memory, and each container is
 * one `runWasi` process in its own worker. WASI has no users: HOME is "/" unless the env sets it.
 */
import { SkiffError } from '../../errors.ts';
import { Overlay } from '../../fs/overlay.ts';
import type { ContainerRuntime, ExecRequest, ExitStatus, ResourceStats, RuntimeProcess, StartContainerRequest } from '../types.ts';
import { daemonEnv } from '../spec/process.ts';
import { signalName } from '../spec/signals.ts';
import { StartFailure } from '../start-failure.ts';
import { WASM_PAGE_BYTES } from './memory-limit.ts';
import { readModuleFile } from './module-file.ts';
import { retryAfterIO } from '../../fs/pending-io.ts';
import type { WasiMount } from './namespace.ts';
import { runWasi, type RunWasiOptions, type WasiExit, type WasiProcess } from './runner.ts';
import { StdinQueue } from './stdin-source.ts';
import { withSecrets } from '../secrets.ts';

export interface WasiModuleSource {
  bytes: Uint8Array;
  /** Key for the compiled-module cache (e.g. the layer digest). */
  cacheKey?: string;
}

export interface WasiRuntimeOptions {
  /**
   * Where a container's module comes from. Default: the file argv[0] names in its root filesystem
   * (platform and compat images); the engine supplies the layer blob for CNCF artifact images.
   */
  resolveModule?: (req: StartContainerRequest, argv: readonly string[], cwd: string) => WasiModuleSource | Promise<WasiModuleSource>;
  /** Passed through to `runWasi`. */
  spawn?: RunWasiOptions['spawn'];
  mode?: RunWasiOptions['mode'];
  trace?: RunWasiOptions['trace'];
}

/** What `start` would run, without running it (exported for tests and `inspect`). */
export function wasiProcessOf(req: StartContainerRequest): { args: string[]; env: string[]; cwd: string; mounts: WasiMount[]; memoryLimitPages?: number } {
  const { spec } = req;
  let env = daemonEnv(spec.env, spec.hostname, spec.tty);
  if (!env.some((e) => e.startsWith('HOME='))) env = [...env, 'HOME=/'];
  const mounts: WasiMount[] = [{ path: '/', fs: req.rootfs, readOnly: spec.security.readOnlyRootfs }];
  for (const v of req.volumes) mounts.push({ path: v.destination, fs: v.fs, readOnly: v.readOnly });
  for (const t of spec.tmpfs) mounts.push({ path: t.destination, fs: new Overlay({ lower: null }), readOnly: t.options.includes('ro') });
  const out: ReturnType<typeof wasiProcessOf> = { args: [...spec.args], env, cwd: spec.cwd, mounts };
  const memory = spec.limits.memory;
  if (memory !== undefined && memory > 0) out.memoryLimitPages = Math.max(1, Math.floor(memory / WASM_PAGE_BYTES));
  return out;
}

export class WasiRuntime implements ContainerRuntime {
  readonly name = 'wasi' as const;
  private readonly running = new Map<string, WasiProcess>();
  /** --memory per running container, as the stats' limit. */
  private readonly limits = new Map<string, number>();

  constructor(private readonly options: WasiRuntimeOptions = {}) {}

  async start(request: StartContainerRequest): Promise<RuntimeProcess> {
    // A preopen is a directory: a secret file cannot be placed alone at its path.
    if (request.secrets?.files?.length) throw new SkiffError('UNSUPPORTED', 'secret files are not supported by the WASI runtime (use a secret as an environment variable)');
    const req = withSecrets(request);
    if (this.running.has(req.id)) throw new SkiffError('CONFLICT', `container ${req.id.slice(0, 12)} is already running`);
    // Both read the image (/etc/passwd, the module): from an async store they wait for its bytes.
    const p = await retryAfterIO(() => wasiProcessOf(req));
    const source = this.options.resolveModule
      ? await this.options.resolveModule(req, p.args, p.cwd)
      : await moduleOf(req, p);
    const stdin = req.spec.openStdin ? new StdinQueue() : undefined;
    const run: RunWasiOptions = {
      module: source.bytes,
      args: p.args,
      env: p.env,
      cwd: p.cwd,
      mounts: p.mounts,
      tty: req.spec.tty,
      onStdout: (d) => req.io.onStdout(d),
      onStderr: (d) => (req.spec.tty ? req.io.onStdout(d) : req.io.onStderr(d)),
    };
    if (stdin) run.stdin = stdin;
    if (source.cacheKey !== undefined) run.cacheKey = source.cacheKey;
    if (p.memoryLimitPages !== undefined) run.memoryLimitPages = p.memoryLimitPages;
    if (this.options.spawn) run.spawn = this.options.spawn;
    if (this.options.mode) run.mode = this.options.mode;
    if (this.options.trace) run.trace = this.options.trace;
    const proc = runWasi(run);
    this.running.set(req.id, proc);
    this.limits.set(req.id, p.memoryLimitPages !== undefined ? p.memoryLimitPages * WASM_PAGE_BYTES : WASM32_MAX_BYTES);
    const forget = () => this.running.get(req.id) === proc && this.running.delete(req.id) && this.limits.delete(req.id);
    proc.exited.then(forget, forget);
    if (stdin) proc.exited.finally(() => stdin.abandon()).catch(() => {});
    await proc.started;
    const wait = proc.exited.then(statusOf);
    return {
      writeStdin: (chunk) => stdin?.push(chunk),
      closeStdin: () => stdin?.end(),
      kill: async (signal) => proc.kill(signal),
      resize: async () => undefined,
      wait: () => wait,
    };
  }

  async exec(req: ExecRequest): Promise<RuntimeProcess> {
    throw new SkiffError('UNSUPPORTED', `exec into ${req.id.slice(0, 12)}: a wasm container runs a single module, it has no other processes to start`);
  }

  /**
   * `docker stats` for a module: its linear memory, the CPU time its thread spent running it
   * (usage.ts), one process. The machine's time is wall time on every CPU, so a module that never
   * waits reads as 100% (one core), as a busy single-threaded process does under Docker.
   */
  async stats(id: string): Promise<ResourceStats> {
    const proc = this.running.get(id);
    if (!proc) throw new SkiffError('CONFLICT', `container ${id.slice(0, 12)} is not running`);
    const { cpuMs, memoryBytes } = proc.usage();
    const cpus = Math.max(1, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1);
    const cpuNs = Math.round(cpuMs * 1e6);
    return {
      cpuNs, cpuUserNs: cpuNs, cpuSystemNs: 0,
      systemNs: Math.round((performance.timeOrigin + performance.now()) * 1e6 * cpus), onlineCpus: cpus,
      throttling: { periods: 0, throttledPeriods: 0, throttledNs: 0 },
      memoryBytes, memoryLimitBytes: this.limits.get(id) ?? WASM32_MAX_BYTES, memoryStat: {},
      pids: 1, pidsLimit: 1,
      io: { readBytes: 0, writeBytes: 0, reads: 0, writes: 0 }, networks: {}, frozen: false,
    };
  }

  async release(id: string): Promise<void> {
    this.running.get(id)?.kill('SIGKILL');
    this.running.delete(id);
    this.limits.delete(id);
  }

  async shutdown(): Promise<void> {
    const all = [...this.running.values()];
    for (const p of all) p.kill('SIGKILL');
    await Promise.allSettled(all.map((p) => p.exited));
    this.running.clear();
  }
}

/**
 * The module argv[0] names, read from the container's root. A missing one is Docker's "command
 * not found" (exit 127), one that is not a wasm module (or not a file) its "cannot execute" (126):
 * the engine records those exit codes as for a Linux container.
 */
async function moduleOf(req: StartContainerRequest, p: ReturnType<typeof wasiProcessOf>): Promise<WasiModuleSource> {
  const argv0 = p.args[0]!;
  try {
    // Image bytes may live in an asynchronous store (IndexedDB): the read waits for them.
    return { bytes: await retryAfterIO(() => readModuleFile({ fs: req.rootfs, path: argv0, cwd: p.cwd, searchPath: p.env.find((e) => e.startsWith('PATH='))?.slice(5) })) };
  } catch (err) {
    if (!(err instanceof SkiffError)) throw err;
    const missing = err.code === 'NOT_FOUND';
    const why = missing ? (argv0.includes('/') ? 'no such file or directory' : 'executable file not found in $PATH') : 'permission denied';
    throw new StartFailure(missing ? 'not-found' : 'not-executable', err.code, `exec: "${argv0}": ${why} (${err.message})`, { cause: err });
  }
}

/** What a 32-bit linear memory can grow to: the limit of a module run without --memory. */
const WASM32_MAX_BYTES = 65536 * WASM_PAGE_BYTES;

function statusOf(e: WasiExit): ExitStatus {
  const s: ExitStatus = { exitCode: e.exitCode, oomKilled: e.oomKilled === true };
  if (e.signal !== undefined) s.signal = signalName(e.signal);
  if (e.trap !== undefined) s.error = e.trap;
  return s;
}
