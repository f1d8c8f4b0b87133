/**
 * The check `load` makes of a layer (decompress, hash to the diff_id, read the tar's headers:
 * engine/tar-io.ts scanLayer), run on a layer's bytes while they arrive from the registry, beside
 * their write into the store. A pull then neither reads its layers back from the store nor holds
 * one whole in memory, and the decompression of several layers runs while they download (zlib
 * works off the main thread on Node).
 *
 * Nothing is trusted sooner for it: the bytes scanned are the ones the ingestion hashes, and the
 * scan's result is used only once that ingestion has committed against the manifest's digest.
 * The diff_id it computes is compared with the config's by engine/load/verify.ts, as for a load,
 * before the image is recorded.
 */
import { SkiffError } from '../errors.ts';
import type { Compression } from '../archive/index.ts';
import { scanLayer, type LayerScan, type ScanLimits } from '../engine/tar-io.ts';

/** Bytes queued for the decoder before the download waits for it. */
const QUEUE_BYTES = 4 << 20;

/** Thrown inside a scan that went over the limit it was started with (see `within`). */
class OverLimit extends SkiffError {
  constructor(readonly kind: 'bytes' | 'entries') {
    super('INVALID_ARCHIVE', `over the ${kind} limit`);
  }
}

export class StreamingScan {
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  /** The consumer stopped (failed or abandoned): writes are dropped. */
  #stopped = false;
  #abandoned = false;
  #wake: (() => void) | undefined;
  #room: (() => void) | undefined;
  readonly #result: Promise<LayerScan>;

  /** `limits`: the layer's own budget (load limits maxLayerBytes, maxImageEntries). */
  constructor(compression: Compression, limits: { maxBytes: number; maxEntries: number; maxWindowBytes?: number }) {
    this.#result = scanLayer(this.#chunks(), compression, {
      ...limits,
      overBytes: () => new OverLimit('bytes'),
      overEntries: () => new OverLimit('entries'),
    }).finally(() => this.#stop());
    this.#result.catch(() => {}); // nobody may ask (the download failed first)
  }

  /** Queue a chunk; resolves when the decoder has room for more. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#stopped) return;
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    this.#wake?.();
    while (!this.#stopped && this.#queued > QUEUE_BYTES) await new Promise<void>((r) => (this.#room = r));
  }

  /** The blob is complete. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  /** The download started over (the registry ignored a Range): this scan saw bytes twice. */
  abandon(): void {
    this.#abandoned = true;
    this.#ended = true;
    this.#stop();
    this.#wake?.();
  }

  /**
   * The scan, held to `limits` (the budget verify.ts gives this layer: never above the one the
   * scan ran with, so going over that one is going over this one); undefined when abandoned.
   */
  async within(limits: ScanLimits): Promise<LayerScan | undefined> {
    let r: LayerScan;
    try {
      r = await this.#result;
    } catch (err) {
      if (this.#abandoned) return undefined;
      // Maybe wrapped on its way out of the decoder.
      for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof OverLimit) throw over(e.kind, limits);
      throw err;
    }
    if (this.#abandoned) return undefined;
    if (limits.maxBytes !== undefined && r.size > limits.maxBytes) throw over('bytes', limits);
    if (limits.maxEntries !== undefined && r.entries.length > limits.maxEntries) throw over('entries', limits);
    return r;
  }

  #stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#room?.();
  }

  async *#chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const c = this.#queue.shift();
      if (c) {
        this.#queued -= c.byteLength;
        if (this.#queued <= QUEUE_BYTES) { this.#room?.(); this.#room = undefined; }
        yield c;
        continue;
      }
      if (this.#ended) {
        if (this.#abandoned) throw new SkiffError('INTERNAL', 'scan abandoned');
        return;
      }
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }
}

function over(kind: 'bytes' | 'entries', limits: ScanLimits): SkiffError {
  const max = (kind === 'bytes' ? limits.maxBytes : limits.maxEntries) ?? 0;
  const make = kind === 'bytes' ? limits.overBytes : limits.overEntries;
  return make?.(max) ?? new SkiffError('INVALID_ARCHIVE', `more than ${max} ${kind === 'bytes' ? 'bytes uncompressed' : 'entries'}`);
}
