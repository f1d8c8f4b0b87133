/**
 * Restart policies, enforced while this API server runs (Docker's daemon enforces them while it
 * runs; skiff's "daemon" is `skiff system serve`). After an exit of a container this server
 * started: `always` and `unless-stopped` start it again, `on-failure[:N]` when it exited non-zero
 * (at most N times); never after a stop or kill through the API (Docker's "manually stopped"),
 * until it is started by hand again. Restarts back off as Docker's do: 100 ms, doubled each time,
 * at most a minute, back to 100 ms after a run of 10 s or more. When the server starts, it starts
 * the `always` containers, and the `unless-stopped` ones not stopped by hand (Docker at daemon
 * start). The count and the manual stop are kept on the record (inspect's RestartCount).
 */
import type { Engine } from '../engine/engine.ts';
import type { ContainerRecord } from '../engine/types.ts';
import type { ExitStatus } from '../runtime/types.ts';
import { RECORDED, type DockerRecorded } from './create-body.ts';
import { recordedOf } from './views.ts';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
const RESET_AFTER_MS = 10_000;

/** Whether Docker's restart manager would start the container again after this exit. */
export function shouldRestart(policy: DockerRecorded['restartPolicy'], exitCode: number, manuallyStopped: boolean, restartCount: number): boolean {
  if (manuallyStopped) return false;
  switch (policy.Name) {
    case 'always': case 'unless-stopped': return true;
    case 'on-failure': return exitCode !== 0 && (policy.MaximumRetryCount === 0 || restartCount < policy.MaximumRetryCount);
    default: return false;
  }
}

/** The next backoff after `prev` (0: none yet) for a run that lasted `ranMs`. */
export function nextDelay(prev: number, ranMs: number): number {
  if (ranMs >= RESET_AFTER_MS || prev === 0) return FIRST_DELAY_MS;
  return Math.min(prev * 2, MAX_DELAY_MS);
}

export class RestartPolicies {
  readonly #delay = new Map<string, number>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly engine: Engine, private readonly start: (id: string) => Promise<unknown>) {}

  async #patch(id: string, f: (r: DockerRecorded) => Partial<DockerRecorded>): Promise<ContainerRecord | undefined> {
    const rec = await this.engine.inspectContainer({ id }).catch(() => undefined);
    if (!rec) return undefined;
    const recorded = recordedOf(rec);
    return this.engine.updateContainer({ id, patch: { runtimeData: { ...rec.runtimeData, [RECORDED]: { ...recorded, ...f(recorded) } } } });
  }

  /** A stop or kill through the API: no restart after this exit. */
  async stoppedByHand(id: string): Promise<void> {
    this.cancel(id);
    await this.#patch(id, () => ({ manuallyStopped: true }));
  }

  /** A start by hand: the manual stop is forgotten and the count starts over. */
  async startedByHand(id: string): Promise<void> {
    this.cancel(id);
    this.#delay.delete(id);
    const rec = await this.engine.inspectContainer({ id }).catch(() => undefined);
    const r = rec && recordedOf(rec);
    if (r && (r.manuallyStopped || r.restartCount)) await this.#patch(id, () => ({ manuallyStopped: false, restartCount: 0 }));
  }

  /** Whether a restart is waiting out its backoff. */
  pending(id: string): boolean {
    return this.#timers.has(id);
  }

  cancel(id: string): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }

  /** The policy changed (`docker update --restart`). */
  changed(id: string): void {
    this.#delay.delete(id);
  }

  /** After an exit of a container this server started. */
  async exited(id: string, status: ExitStatus, ranMs: number): Promise<void> {
    const rec = await this.engine.inspectContainer({ id }).catch(() => undefined);
    if (!rec || rec.state === 'running' || rec.state === 'paused') return;
    const r = recordedOf(rec);
    if (!shouldRestart(r.restartPolicy, status.exitCode, r.manuallyStopped ?? false, r.restartCount ?? 0)) return;
    const delay = nextDelay(this.#delay.get(id) ?? 0, ranMs);
    this.#delay.set(id, delay);
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      void (async () => {
        const now = await this.#patch(id, (x) => ({ restartCount: (x.restartCount ?? 0) + 1 }));
        if (!now || now.state === 'running' || recordedOf(now).manuallyStopped) return;
        await this.start(id);
      })().catch(() => {});
    }, delay);
    // A pending restart does not keep a process alive that is otherwise done.
    (timer as { unref?: () => void }).unref?.();
    this.#timers.set(id, timer);
  }

  /** At server start: Docker's daemon-start rule for every stored container. */
  async resume(): Promise<string[]> {
    const started: string[] = [];
    for (const rec of await this.engine.listContainers({ all: true })) {
      if (rec.state === 'running' || rec.state === 'paused') continue;
      const r = recordedOf(rec);
      const name = r.restartPolicy.Name;
      if (name === 'always' || (name === 'unless-stopped' && !r.manuallyStopped)) {
        await this.start(rec.id).then(() => started.push(rec.id), () => {});
      }
    }
    return started;
  }

  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
