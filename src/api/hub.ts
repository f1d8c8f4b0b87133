/**
 * The containers this API server starts, and who listens to them. Docker's clients attach (and
 * ask to wait) before they start a container, so output and exits are routed here: `start`
 * hands the engine an io that fans out to the attached connections, and the exit ends them and
 * wakes the waiters. Containers some other skiff process runs are reached through the engine
 * (its control channel) instead.
 */
import type { Engine } from '../engine/engine.ts';
import type { ExitStatus, RuntimeProcess } from '../runtime/types.ts';
import { RECORDED, type DockerRecorded } from './create-body.ts';

export interface Attachment {
  output(stream: 'stdout' | 'stderr', data: Uint8Array): Promise<void> | void;
  /** The container's process ended: close the connection. */
  end(): void;
}

interface Live {
  proc: RuntimeProcess;
  startedAt: number;
}

export class Hub {
  readonly #attached = new Map<string, Set<Attachment>>();
  readonly #live = new Map<string, Live>();
  readonly #startWaiters = new Map<string, Array<(p: RuntimeProcess) => void>>();
  readonly #exitWaiters = new Map<string, Array<(s: ExitStatus) => void>>();
  /** Waiters a failed start answers too (the removal an --rm container's failed start ends in). */
  readonly #failWaiters = new Map<string, Array<(s: ExitStatus) => void>>();

  /** Told of every exit of a container this server started, with how long it ran (restart policies). */
  onExit?: (id: string, status: ExitStatus, ranMs: number) => void;

  constructor(readonly engine: Engine) {}

  attach(id: string, a: Attachment): () => void {
    let set = this.#attached.get(id);
    if (!set) this.#attached.set(id, (set = new Set()));
    set.add(a);
    return () => {
      set.delete(a);
      if (set.size === 0 && this.#attached.get(id) === set) this.#attached.delete(id);
    };
  }

  /** The running process this server started, if any. */
  process(id: string): RuntimeProcess | undefined {
    return this.#live.get(id)?.proc;
  }

  /** Resolves with the process once this server starts the container. */
  whenStarted(id: string): Promise<RuntimeProcess> {
    const p = this.process(id);
    if (p) return Promise.resolve(p);
    return new Promise((resolve) => this.#push(this.#startWaiters, id, resolve));
  }

  /**
   * The next exit of a container this server starts (or runs now). A start that fails is no exit
   * (dockerd leaves a next-exit wait pending then: the client reports only the start's error),
   * unless `failedStart`.
   */
  nextExit(id: string, o: { failedStart?: boolean } = {}): Promise<ExitStatus> {
    return new Promise((resolve) => this.#push(o.failedStart ? this.#failWaiters : this.#exitWaiters, id, resolve));
  }

  #push<T>(m: Map<string, Array<(v: T) => void>>, id: string, f: (v: T) => void): void {
    const l = m.get(id);
    if (l) l.push(f);
    else m.set(id, [f]);
  }

  #fire<T>(m: Map<string, Array<(v: T) => void>>, id: string, v: T): void {
    const l = m.get(id);
    m.delete(id);
    for (const f of l ?? []) f(v);
  }

  /** Start the container in this process, its output to whoever is attached. */
  async start(id: string): Promise<RuntimeProcess> {
    const rec = await this.engine.inspectContainer({ id });
    const fan = (stream: 'stdout' | 'stderr', d: Uint8Array): Promise<unknown> | undefined => {
      const set = this.#attached.get(rec.id);
      if (!set?.size) return undefined;
      const waits = [...set].map((a) => a.output(stream, d)).filter((w): w is Promise<void> => w instanceof Promise);
      return waits.length ? Promise.all(waits) : undefined;
    };
    const recorded = rec.runtimeData?.[RECORDED] as DockerRecorded | undefined;
    const proc = await this.engine.startContainer({
      id: rec.id,
      io: { onStdout: (d) => fan('stdout', d), onStderr: (d) => fan('stderr', d) },
      ...(recorded?.consoleSize ? { consoleSize: recorded.consoleSize } : {}),
    });
    this.#live.set(rec.id, { proc, startedAt: Date.now() });
    this.#fire(this.#startWaiters, rec.id, proc);
    void proc.wait().then(
      (status) => this.#exited(rec.id, status),
      (err: unknown) => this.#exited(rec.id, { exitCode: 125, oomKilled: false, error: String(err) }),
    );
    return proc;
  }

  #exited(id: string, status: ExitStatus, failedStart = false): void {
    const live = this.#live.get(id);
    this.#live.delete(id);
    for (const a of this.#attached.get(id) ?? []) a.end();
    this.#attached.delete(id);
    if (!failedStart) this.#fire(this.#exitWaiters, id, status);
    this.#fire(this.#failWaiters, id, status);
    if (live) this.onExit?.(id, status, Date.now() - live.startedAt);
  }

  /** A start that failed: attached clients get their connection closed, waiters for it the status. */
  failed(id: string, status: ExitStatus): void {
    this.#exited(id, status, true);
  }
}
