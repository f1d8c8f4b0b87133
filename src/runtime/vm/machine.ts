/**
 * The guest VM: v86 running our kernel, initramfs and agent, in a worker or in the caller's own
 * thread (never a page's main thread), whichever `spawnWorker` the entry point passes. `Machine.start` restores the snapshot for these exact artifacts if there is one, else
 * boots cold and saves one; either way it returns with the agent ready and the guest clock set.
 * Failures (kernel panic, worker death, boot timeout) surface as SkiffError VM.
 */
import { SkiffError } from '../../errors.ts';
import { Errno } from '../../fs/errno.ts';
import { encode, peekHeader } from '../../p9/codec.ts';
import { NOTAG } from '../../p9/messages.ts';
import { toBase64 } from '../../util/base64.ts';
import { AgentClient, AgentTimeout, type PingInfo } from './agent-client.ts';
import { ARTIFACT_FILES, type ArtifactSource } from './artifacts.ts';
import { openSnapshot, sealSnapshot, snapshotKey, type VmSnapshotStore } from './snapshot-store.ts';
import { joinHostState, splitHostState } from './host-state.ts';
import type { VmWorkerHandle } from './worker-handle.ts';
import type { BootMessage, StateEncoding, WorkerToHost } from './worker-protocol.ts';

/** v86's `filesystem.handle9p`, as a whole-message function (src/p9's `P9Server.handle` fits). */
export type P9Handler = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export interface MachineOptions {
  /** Kernel, initramfs and BIOS (artifacts-node.ts on Node, httpArtifacts(url) in the browser). */
  artifacts: ArtifactSource;
  /** Starts the emulator: in this thread (worker-inline.ts) or a worker (worker-node.ts, worker-web.ts). */
  spawnWorker: () => Promise<VmWorkerHandle>;
  /** Where states are saved and restored (snapshot-node.ts, snapshot-idb.ts ...); absent or null: never. */
  snapshots?: VmSnapshotStore | null;
  /** Guest RAM; default the manifest's (128 MiB). */
  memoryMiB?: number;
  bootTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long the ping that follows a timed-out request may take (default AGENT_PROBE_MS). */
  agentProbeMs?: number;
  /** Serves the guest's 9P requests (the host9p device); can also be set later with set9pHandler. */
  handle9p?: P9Handler;
  /** Log every agent frame and kernel console line (the entry points turn SKIFF_TRACE=vm into this). */
  trace?: boolean | ((line: string) => void);
  onSerial?: (line: string) => void;
  /** Told at each step of a start (timelines: the browser's EngineApi.timeline); `ms` in detail is the step's length. */
  onPhase?: (name: string, detail?: Record<string, number>) => void;
  /**
   * Guest setup the boot snapshot should hold (container-runtime.ts: the 9P mount and the
   * container pool): run after a cold boot, before the state is saved. It resolves to a function
   * called right before the save (after the guest dropped its caches) that gives the host side of
   * that setup (JSON-able), stored with the state (host-state.ts); a machine restored from it
   * has it as `restoredHost`.
   */
  prepareSnapshot?: (m: Machine) => Promise<() => unknown>;
}

export interface BootReport {
  restored: boolean;
  /** From start() to agent ready with the clock set. */
  readyMs: number;
  snapshotKey: string;
  /** Where the time went: waiting for the worker (started while the state was read), emulator ready (state inflated and loaded), agent answered. */
  phases?: {
    workerMs: number; emulatorMs: number; inflateMs: number; agentMs: number;
    /** Within emulatorMs: V86 built and its BIOS loaded (overlaps inflateMs), then `restore_state`. */
    loadedMs?: number; restoreMs?: number;
  };
  /** Set when this start saved a new snapshot: its stored (gzip) and raw sizes. */
  savedBytes?: number;
  savedRawBytes?: number;
}

const ENCODING: StateEncoding = 'gzip';
/**
 * After a request times out, the agent is pinged with this deadline. Its main loop answers a ping
 * at once, however long a container start takes, so an unanswered ping means the agent (or the
 * channel to it) is stuck: the machine is then failed and the runtime starts a fresh one, instead
 * of every later request waiting its full timeout on a guest that will never answer.
 */
export const AGENT_PROBE_MS = 20_000;

export class Machine {
  readonly agent: AgentClient;
  boot!: BootReport;
  /**
   * The host side of the guest setup its snapshot holds (MachineOptions.prepareSnapshot), for the
   * runtime to put back before the guest uses it; null after a cold boot or for a state with none.
   */
  restoredHost: unknown = null;
  private worker: VmWorkerHandle | null = null;
  private handler: P9Handler | null;
  private netHandler: ((frames: Uint8Array[]) => void) | null = null;
  private serialTail: string[] = [];
  private crashed: SkiffError | null = null;
  private stopped = false;
  private crashListeners: ((err: SkiffError) => void)[] = [];
  private savedWaiter: ((m: Extract<WorkerToHost, { t: 'saved' }>) => void) | null = null;
  private startedWaiter: ((m: Extract<WorkerToHost, { t: 'started' }>) => void) | null = null;
  private countWaiters: ((n: number) => void)[] = [];
  private readonly log: ((line: string) => void) | null;
  private lastPhases: BootReport['phases'];
  /** Started (booted or restored, agent ready): from then on a silent agent fails the machine. */
  private up = false;
  private probing = false;

  private constructor(private readonly opts: MachineOptions) {
    this.log = typeof opts.trace === 'function' ? opts.trace : opts.trace ? (l) => console.error(`[vm] ${l}`) : null;
    this.handler = opts.handle9p ?? null;
    this.agent = new AgentClient({
      write: (bytes) => this.worker?.post({ t: 'console', data: bytes }, [bytes.buffer as ArrayBuffer]),
      timeoutMs: opts.requestTimeoutMs,
      trace: this.log ?? undefined,
      onTimeout: (err) => this.probe(err),
    });
  }

  static async start(opts: MachineOptions): Promise<Machine> {
    const m = new Machine(opts);
    try {
      await m.startUp();
    } catch (err) {
      await m.shutdown();
      throw err instanceof SkiffError ? err : SkiffError.wrap(err, 'starting the VM');
    }
    m.up = true;
    return m;
  }

  /**
   * A request timed out (`err` says which and how the channel looked): is the agent there at all?
   * A ping answered means only that request is slow (a crun helper, say); a ping unanswered too
   * fails the machine (AGENT_PROBE_MS), with what was waited for and the console's last lines, and
   * stops its emulator.
   */
  private probe(err: AgentTimeout): void {
    if (!this.up || this.probing || this.state !== 'running' || err.op === 'ping') return;
    this.probing = true;
    const probeMs = this.opts.agentProbeMs ?? AGENT_PROBE_MS;
    this.agent.request('ping', {}, probeMs).then(
      () => this.log?.(`the agent answered a ping after: ${err.message}`),
      (e: unknown) => {
        if (!(e instanceof AgentTimeout) || this.state !== 'running') return;
        this.crash(new SkiffError('VM', `the guest agent stopped answering: ${err.message}; a ping then went unanswered for ${probeMs / 1000} s too; last console lines:\n${this.serialTail.join('\n')}`));
        void this.shutdown();
      },
    ).finally(() => { this.probing = false; });
  }

  /** Installs (or removes) the 9P handler; requests that arrive with none get Rlerror EIO. */
  set9pHandler(handler: P9Handler | null): void {
    this.handler = handler;
  }

  /**
   * Where the guest NIC's frames go (the host-side peer, src/net); frames sent while none is set
   * are dropped, as on an unplugged cable.
   */
  setNetHandler(handler: ((frames: Uint8Array[]) => void) | null): void {
    this.netHandler = handler;
  }

  /** Frames for the guest's NIC. */
  sendFrames(frames: Uint8Array[]): void {
    if (!frames.length || this.state !== 'running') return;
    this.worker?.post({ t: 'net', frames }, frames.map((f) => f.buffer as ArrayBuffer));
  }

  /** Called once if the VM dies after start (panic, worker death); calls fail with the same error. */
  onCrash(cb: (err: SkiffError) => void): void {
    if (this.crashed) cb(this.crashed);
    else this.crashListeners.push(cb);
  }

  get state(): 'running' | 'crashed' | 'stopped' {
    return this.crashed ? 'crashed' : this.stopped ? 'stopped' : 'running';
  }

  /** Agent round trip with a short deadline; a silent agent marks the machine crashed. */
  async health(timeoutMs = 5000): Promise<PingInfo> {
    if (this.crashed) throw this.crashed;
    try {
      return (await this.agent.request('ping', {}, timeoutMs)) as unknown as PingInfo;
    } catch (err) {
      if (err instanceof SkiffError && err.code === 'VM') this.crash(err);
      throw err;
    }
  }

  /**
   * The current state, compressed; a VmSnapshotStore keeps it sealed (sealSnapshot). Host-side state
   * is not in it: the automatic snapshot carries what `prepareSnapshot` gives beside it; a caller
   * saving at another time must save the 9P server's fids (P9Server.saveState) beside it.
   */
  async saveSnapshot(): Promise<{ state: ArrayBuffer; rawBytes: number; ms: number }> {
    const saved = new Promise<Extract<WorkerToHost, { t: 'saved' }>>((r) => (this.savedWaiter = r));
    this.worker!.post({ t: 'save', encoding: ENCODING });
    const m = await this.orCrash(saved);
    return { state: m.state, rawBytes: m.rawBytes, ms: m.ms };
  }

  /**
   * Guest instructions executed so far, modulo 2^32 (v86's counter): the difference across a step
   * is the guest work it cost, whatever the host's load (benches report it beside wall times).
   */
  async instructions(): Promise<number> {
    const got = new Promise<number>((r) => this.countWaiters.push(r));
    this.worker!.post({ t: 'count' });
    return this.orCrash(got);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.agent.close(new SkiffError('VM', 'the VM was shut down'));
    await this.worker?.terminate();
    this.worker = null;
  }

  private async startUp(): Promise<void> {
    const t0 = performance.now();
    const { artifacts } = this.opts;
    const snapshots = this.opts.snapshots ?? null;
    const { text, value: manifest } = await artifacts.manifest();
    const memoryBytes = (this.opts.memoryMiB ?? manifest.memoryMiB ?? 128) * 1024 * 1024;
    const key = snapshotKey({ manifestText: text, v86Version: manifest.v86, memoryBytes, encoding: ENCODING });
    const base = { t: 'boot' as const, memoryBytes, cmdline: manifest.cmdline, wasmPath: '' };
    // The emulator starts while the BIOS and the saved state are read and checked.
    const first = this.opts.spawnWorker();
    first.catch(() => {});
    let handedOver = false;
    const takeFirst = () => {
      handedOver = true;
      return first;
    };
    try {
      // The BIOS is fetched while the state is read and checked.
      const biosRead = artifacts.read(ARTIFACT_FILES.bios);
      biosRead.catch(() => {});
      const stored = snapshots ? await this.restorable(snapshots, key) : null;
      const bios = await biosRead;
      if (stored) {
        try {
          const { state, host } = splitHostState(stored);
          this.restoredHost = host;
          await this.bootWith({ ...base, bios: bios.slice(0), state, stateEncoding: ENCODING }, true, takeFirst());
          this.boot = { restored: true, readyMs: performance.now() - t0, snapshotKey: key, phases: this.lastPhases };
          return;
        } catch (err) {
          // A state that does not load is dropped and the guest boots cold; the cause is traced.
          this.log?.(`restoring snapshot ${key} failed, booting cold: ${(err as Error).message}`);
          await snapshots!.delete(key).catch(() => {});
          await this.worker?.terminate();
          this.worker = null;
          this.crashed = null;
          this.agent.reopen();
          this.restoredHost = null;
        }
      }
      const [bzimage, initrd] = await Promise.all([artifacts.read(ARTIFACT_FILES.kernel), artifacts.read(ARTIFACT_FILES.initrd)]);
      await this.bootWith({ ...base, bios, bzimage, initrd }, false, handedOver ? this.opts.spawnWorker() : takeFirst());
    } finally {
      // Failed before the emulator was used: it must not outlive this start.
      if (!handedOver) void first.then((w) => w.terminate(), () => {});
    }
    this.boot = { restored: false, readyMs: performance.now() - t0, snapshotKey: key, phases: this.lastPhases };
    if (snapshots) {
      const capture = this.opts.prepareSnapshot ? await this.opts.prepareSnapshot(this) : null;
      // Free pages full of boot leftovers (the unpacked initramfs) would be saved too.
      await this.agent.request('zero_free', {}, 120_000);
      const host = capture ? capture() : null;
      const saved = await this.saveSnapshot();
      const stored = joinHostState(host, saved.state);
      this.boot.savedBytes = stored.byteLength;
      this.boot.savedRawBytes = saved.rawBytes;
      await snapshots.put(key, await sealSnapshot(key, stored));
    }
  }

  /**
   * The stored state for `key` if its seal holds (snapshot-store.ts). One that fails the check
   * is deleted and traced: the guest boots cold and saves a good one, never restores a damaged one.
   */
  private async restorable(snapshots: VmSnapshotStore, key: string): Promise<ArrayBuffer | null> {
    const t0 = performance.now();
    const sealed = await snapshots.get(key).catch(() => null);
    if (!sealed) return null;
    this.opts.onPhase?.('snapshot-read', { ms: Math.round(performance.now() - t0), bytes: sealed.byteLength });
    try {
      const t1 = performance.now();
      const state = await openSnapshot(key, sealed);
      this.opts.onPhase?.('snapshot-checked', { ms: Math.round(performance.now() - t1) });
      return state;
    } catch (err) {
      this.log?.(`snapshot ${key} failed its check, booting cold: ${(err as Error).message}`);
      await snapshots.delete(key).catch(() => {});
      return null;
    }
  }

  private async bootWith(msg: BootMessage, restore: boolean, worker: Promise<VmWorkerHandle>): Promise<void> {
    const timeoutMs = this.opts.bootTimeoutMs ?? 60_000;
    const tSpawn = performance.now();
    const w = await worker;
    const workerMs = performance.now() - tSpawn;
    this.worker = w;
    w.onMessage((m) => this.onWorker(m));
    // In this thread: the guest's 9P requests call the handler directly (no message hops, and
    // a synchronous answer reaches the guest before its 9P client sleeps).
    w.setDirect9p?.((req) => this.direct9p(req));
    w.onError((err) => this.crash(new SkiffError('VM', `the emulator worker died: ${err.message}`, { cause: err })));
    const started = new Promise<Extract<WorkerToHost, { t: 'started' }>>((r) => (this.startedWaiter = r));
    const transfer = [msg.bios, msg.bzimage, msg.initrd, msg.state].filter((b): b is ArrayBuffer => b !== undefined);
    const wasmModule = await w.wasmModule?.().catch(() => undefined);
    w.post({ ...msg, wasmPath: w.wasmPath, wasmModule }, transfer);
    // The deadline below (with the console's last lines) is the one that fires, not these.
    const helloMs = timeoutMs * 2;
    const ready = (async () => {
      const hello = this.agent.hello({ timeoutMs: helloMs });
      hello.catch(() => {}); // awaited below, unless the emulator never starts (the deadline fails the boot)
      await started;
      if (restore) {
        this.agent.resetTransport();
        // The restored agent sits in poll(). HELLO and the clock go out together (one round trip
        // instead of two); both are idempotent, so they are simply repeated if nothing comes back.
        const again = setInterval(() => this.agent.hello({ ask: true, timeoutMs: 1000 }).catch(() => {}), 1000);
        try {
          await Promise.all([this.agent.hello({ ask: true, timeoutMs: helloMs }), this.setClockRetrying()]);
        } finally {
          clearInterval(again);
        }
      } else {
        await hello;
        // A cold guest's clock is the RTC's, to the second; set it to the millisecond.
        await this.setClockRetrying();
      }
      const s = await started;
      this.lastPhases = {
        workerMs, emulatorMs: s.ms, inflateMs: s.inflateMs, agentMs: performance.now() - tSpawn - workerMs - s.ms,
        ...(s.loadedMs !== undefined ? { loadedMs: s.loadedMs } : {}), ...(s.restoreMs !== undefined ? { restoreMs: s.restoreMs } : {}),
      };
      this.opts.onPhase?.('agent-ready', { ms: Math.round(this.lastPhases.agentMs) });
    })();
    ready.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new SkiffError('VM',
        `the guest did not become ready within ${timeoutMs} ms (${restore ? 'restore' : 'cold boot'}); last console lines:\n${this.serialTail.join('\n')}`)), timeoutMs);
    });
    try {
      await this.orCrash(Promise.race([ready, deadline]));
    } finally {
      clearTimeout(timer);
    }
  }

  private async setClockRetrying(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // With fresh random bytes: the guest has no entropy source of its own (PROTOCOL.md set_clock).
        const seed = toBase64(crypto.getRandomValues(new Uint8Array(32)));
        await this.agent.request('set_clock', { epoch_ms: Date.now(), seed }, 2000 * attempt);
        return;
      } catch (err) {
        if (attempt === 3 || !(err instanceof AgentTimeout)) throw err;
      }
    }
  }

  private onWorker(m: WorkerToHost): void {
    switch (m.t) {
      case 'console':
        this.agent.receive(m.data);
        break;
      case 'serial':
        this.serialTail.push(m.line);
        if (this.serialTail.length > 40) this.serialTail.shift();
        this.log?.(`console: ${m.line}`);
        this.opts.onSerial?.(m.line);
        if (/Kernel panic|BUG: |Oops: /.test(m.line)) this.crash(new SkiffError('VM', `the guest kernel failed: ${m.line}`));
        else if (/reboot: (Power down|System halted|Restarting)/.test(m.line)) this.crash(new SkiffError('VM', `the guest shut down (${m.line.trim()})`));
        break;
      case 'p9':
        void this.serve9p(m.id, m.data);
        break;
      case 'net':
        this.netHandler?.(m.frames);
        break;
      case 'started':
        this.opts.onPhase?.('emulator-started', {
          ms: Math.round(m.ms), inflateMs: Math.round(m.inflateMs),
          ...(m.loadedMs !== undefined ? { loadedMs: Math.round(m.loadedMs) } : {}), ...(m.restoreMs !== undefined ? { restoreMs: Math.round(m.restoreMs) } : {}),
        });
        this.startedWaiter?.(m);
        break;
      case 'saved':
        this.savedWaiter?.(m);
        break;
      case 'count':
        this.countWaiters.shift()?.(m.instructions);
        break;
      case 'error':
        this.crash(new SkiffError('VM', `emulator: ${m.message}`));
        break;
      case 'stopped':
        if (!this.stopped) this.crash(new SkiffError('VM', 'the emulator stopped unexpectedly'));
        break;
    }
  }

  private direct9p(req: Uint8Array): Uint8Array | Promise<Uint8Array> {
    try {
      const r = this.handler ? this.handler(req) : rlerror(req);
      return r instanceof Uint8Array ? r : r.catch(() => rlerror(req));
    } catch {
      return rlerror(req);
    }
  }

  private async serve9p(id: number, req: Uint8Array): Promise<void> {
    let reply: Uint8Array;
    try {
      reply = this.handler ? await this.handler(req) : rlerror(req);
    } catch {
      reply = rlerror(req);
    }
    this.worker?.post({ t: 'p9-reply', id, data: reply });
  }

  private crash(err: SkiffError): void {
    if (this.crashed || this.stopped) return;
    this.crashed = err;
    this.agent.close(err);
    for (const l of this.crashListeners.splice(0)) l(err);
  }

  /** Rejects as soon as the machine crashes, whatever `p` is waiting for. */
  private orCrash<T>(p: Promise<T>): Promise<T> {
    if (this.crashed) return Promise.reject(this.crashed);
    return new Promise<T>((resolve, reject) => {
      this.crashListeners.push(reject);
      p.then(resolve, reject).finally(() => {
        const i = this.crashListeners.indexOf(reject);
        if (i >= 0) this.crashListeners.splice(i, 1);
      });
    });
  }
}

/** Rlerror EIO for the request's tag: what the guest gets when no 9P server is installed. */
function rlerror(req: Uint8Array): Uint8Array {
  return encode({ type: 'Rlerror', tag: peekHeader(req)?.tag ?? NOTAG, ecode: Errno.EIO });
}
