/** The caller's grip on a worker, the same in Node (worker_threads) and browsers (Web Worker). */
import type { HostMessage, WorkerMessage } from './protocol.ts';

export interface WorkerHandle {
  post(msg: HostMessage): void;
  onMessage(cb: (msg: WorkerMessage) => void): void;
  /** The worker died on its own (uncaught error, failed to load). */
  onError(cb: (err: Error) => void): void;
  terminate(): Promise<void>;
  /** Node: keep the caller's process alive while this worker runs a module (spares do not). */
  ref?(): void;
}

export type SpawnWorker = () => WorkerHandle | Promise<WorkerHandle>;

export type PooledSpawn = SpawnWorker & {
  /** Resolves when a spare worker is started and waiting. */
  warm(): Promise<void>;
  /** Start a spare in the background if none is waiting (called when a run ends). */
  replenish(): void;
};

/**
 * Keeps one started worker waiting, so a run does not pay the worker's start (~20 ms in Node on an
 * idle machine, far more on a busy one). The next spare is started when a run ends, not when it
 * begins: starting a worker takes a core for tens of ms, and measured side by side that slowed
 * the running module by a third on this 2-core machine.
 */
export function withSpare(spawn: SpawnWorker): PooledSpawn {
  let spare: Promise<WorkerHandle> | null = null;
  const start = () => {
    const p = Promise.resolve().then(spawn);
    p.catch(() => undefined);
    return p;
  };
  const take = (() => {
    const next = spare ?? start();
    spare = null;
    return next;
  }) as PooledSpawn;
  take.warm = async () => {
    spare ??= start();
    await spare;
  };
  take.replenish = () => {
    spare ??= start();
  };
  return take;
}
