/**
 * A writable layer or volume while it is in use: an Overlay whose upper tree is saved to a
 * snapshot store as it changes. Every change notice from the overlay arms a short timer
 * (`flushMs`, default 100 ms, not re-armed by later changes, so a steady writer is saved every
 * ~100 ms); `flush()` saves at once (container exit, `persist*`, shutdown). A process killed
 * mid-run therefore loses at most the changes of the last ~100 ms plus the batch being written,
 * never what an earlier flush saved. (Overlay calls are synchronous, so a guest's write cannot
 * wait for the disk; the bound is the timer.) An fsync in the container (`Overlay.sync`, 9P
 * Tfsync) saves at once and is answered after the save, so what a program synced survives.
 *
 * This process keeps one LiveLayer per snapshot (the registry below, per store): engines in one
 * process share it, and it is the snapshot's one writer for as long as it is open.
 */
import { SkiffError } from '../../errors.ts';
import type { TarEntry } from '../../archive/types.ts';
import { emptyLayerTree, type LayerTree } from '../../fs/layer.ts';
import { Overlay, type OverlayOptions } from '../../fs/overlay.ts';
import type { QuotaOptions } from '../../fs/quota.ts';
import { UpperTracker } from './records.ts';
import type { SnapshotKey, SnapshotStore, SnapshotWriter } from './store.ts';

export interface LiveLayerOptions {
  /** The image's merged layers; null for a volume. */
  lower: LayerTree | null;
  now: () => number;
  /** Bytes and inodes the layer may hold (writes past them fail with ENOSPC); absent: no limit. */
  quota?: QuotaOptions;
  flushMs?: number;
  /** An upper saved in the old form (one tar): loaded, then saved whole on the first flush. */
  legacy?: () => Promise<Iterable<TarEntry>>;
}

type Hooks = Required<Pick<OverlayOptions, 'onChange' | 'onSync'>>;

const quota = (o: LiveLayerOptions): { quota?: QuotaOptions } => (o.quota ? { quota: o.quota } : {});

export class LiveLayer {
  readonly fs: Overlay;
  readonly #writer: SnapshotWriter;
  readonly #tracker: UpperTracker;
  readonly #flushMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;
  #closed = false;

  private constructor(writer: SnapshotWriter, tracker: UpperTracker, make: (hooks: Hooks) => Overlay, flushMs: number) {
    this.#writer = writer;
    this.#tracker = tracker;
    this.#flushMs = flushMs;
    this.fs = make({
      onChange: (i) => {
        tracker.notice(i);
        this.#arm();
      },
      // fsync in the container (9P Tfsync): its reply waits for this save.
      onSync: () => this.flush(),
    });
  }

  static async open(store: SnapshotStore, key: SnapshotKey, o: LiveLayerOptions): Promise<LiveLayer> {
    const writer = await store.open(key);
    try {
      const legacy = writer.records.size === 0 && o.legacy ? await o.legacy() : null;
      if (legacy) {
        const { tracker } = UpperTracker.load(new Map(), () => emptyLayerTree().root);
        const live = new LiveLayer(writer, tracker, (hooks) => Overlay.fromUpper({ lower: o.lower, entries: legacy, now: o.now, ...hooks, ...quota(o) }), o.flushMs ?? 100);
        tracker.adoptRoot(live.fs.upperTree.root);
        await live.flush();
        return live;
      }
      const { tracker, tree } = UpperTracker.load(writer.records, () => (o.lower ?? emptyLayerTree()).root.copyUp());
      return new LiveLayer(writer, tracker, (hooks) => new Overlay({ lower: o.lower, upper: tree, now: o.now, ...hooks, ...quota(o) }), o.flushMs ?? 100);
    } catch (err) {
      await writer.close().catch(() => {});
      throw SkiffError.wrap(err, `opening ${key}`);
    }
  }

  /** The snapshot as last saved, read-only (its writer is another process). */
  static async view(store: SnapshotStore, key: SnapshotKey, o: LiveLayerOptions): Promise<Overlay> {
    const { tree } = UpperTracker.load(await store.read(key), () => (o.lower ?? emptyLayerTree()).root.copyUp());
    return new Overlay({ lower: o.lower, upper: tree, now: o.now, readOnly: true });
  }

  get key(): SnapshotKey {
    return this.#writer.key;
  }

  /** Bytes stored, as of the last flush. */
  get storedBytes(): number {
    return this.#writer.bytes;
  }

  /** Saves every change made so far; rejects with the error of a failed earlier save. */
  flush(): Promise<void> {
    const run = this.#chain.then(() => this.#flushNow());
    this.#chain = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      clearTimeout(this.#timer);
      await this.#writer.close();
    }
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => void this.flush().catch(() => {}), this.#flushMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #flushNow(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#error) throw SkiffError.wrap(this.#error, `saving ${this.key}`);
    if (!this.#tracker.pending) return;
    try {
      await this.#tracker.prepare();
      await this.#writer.commit(this.#tracker.ops());
    } catch (err) {
      // The tracker now counts a batch the store may not hold: refuse to build on it.
      this.#error = err;
      throw SkiffError.wrap(err, `saving ${this.key}`);
    }
  }
}

// By the store's id where it has one: two engines of this process over one home share their live layers.
const byObject = new WeakMap<SnapshotStore, Map<SnapshotKey, Promise<LiveLayer>>>();
const byId = new Map<string, Map<SnapshotKey, Promise<LiveLayer>>>();
const registry = {
  get: (store: SnapshotStore) => (store.id !== undefined ? byId.get(store.id) : byObject.get(store)),
};

function openIn(store: SnapshotStore): Map<SnapshotKey, Promise<LiveLayer>> {
  let m = registry.get(store);
  if (!m) {
    m = new Map();
    if (store.id !== undefined) byId.set(store.id, m);
    else byObject.set(store, m);
  }
  return m;
}

/** This process's live layer for `key`, opened (as its writer) on first use. */
export function openLive(store: SnapshotStore, key: SnapshotKey, o: () => Promise<LiveLayerOptions>): Promise<LiveLayer> {
  const m = openIn(store);
  let p = m.get(key);
  if (!p) {
    p = o().then((opts) => LiveLayer.open(store, key, opts));
    m.set(key, p);
    p.catch(() => m.delete(key));
  }
  return p;
}

export function liveLayer(store: SnapshotStore, key: SnapshotKey): Promise<LiveLayer> | undefined {
  return registry.get(store)?.get(key);
}

/** Saves and closes this process's live layer for `key`, if any. */
export async function closeLive(store: SnapshotStore, key: SnapshotKey): Promise<void> {
  const p = registry.get(store)?.get(key);
  if (!p) return;
  registry.get(store)!.delete(key);
  const live = await p.catch(() => null);
  await live?.close();
}

export async function closeAllLive(store: SnapshotStore): Promise<void> {
  const keys = [...(registry.get(store)?.keys() ?? [])];
  for (const k of keys) await closeLive(store, k).catch(() => {});
}

/** Finds the live layer behind an overlay (persist calls get the overlay). */
export async function liveOf(store: SnapshotStore, fs: Overlay): Promise<LiveLayer | undefined> {
  for (const p of registry.get(store)?.values() ?? []) {
    const l = await p.catch(() => null);
    if (l?.fs === fs) return l;
  }
  return undefined;
}
