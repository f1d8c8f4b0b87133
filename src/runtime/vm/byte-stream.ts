/**
 * A push-fed byte stream read as an AsyncIterable (or through callbacks). Unread chunks are kept
 * in memory until read. `onConsumed(n)` says when a reader has taken n bytes: a chunk an
 * iterator took, or one a listener accepted (at once, or when the promise it returned settles).
 * The agent's process handle returns that room to the guest (flow.ts OutputCredit), so a
 * process nobody reads stops, after its window, in write(2).
 */
export class ByteStream implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private ended = false;
  private waiter: (() => void) | null = null;
  private listeners: ((chunk: Uint8Array | null) => unknown)[] = [];

  constructor(private readonly onConsumed: (n: number) => void = () => {}) {}

  push(chunk: Uint8Array): void {
    if (this.ended || chunk.length === 0) return;
    if (this.listeners.length === 0) this.chunks.push(chunk);
    else this.give(chunk);
    this.wake();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const l of this.listeners) l(null);
    this.wake();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Callback per chunk (null at the end); a promise it returns means "not accepted yet". Chunks
   * buffered so far are delivered first.
   */
  on(listener: (chunk: Uint8Array | null) => unknown): void {
    this.listeners.push(listener);
    for (const c of this.chunks.splice(0)) this.give(c);
    if (this.ended) {
      this.listeners.splice(this.listeners.indexOf(listener), 1);
      listener(null);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const c = this.chunks.shift();
      if (c) {
        this.onConsumed(c.length);
        yield c;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** Everything until the end, concatenated. */
  async bytes(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const c of this) parts.push(c);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  private give(chunk: Uint8Array): void {
    const waits: Promise<unknown>[] = [];
    for (const l of this.listeners) {
      const r = l(chunk);
      if (r instanceof Promise) waits.push(r);
    }
    const done = () => this.onConsumed(chunk.length);
    if (waits.length === 0) done();
    else void Promise.all(waits).then(done, done);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
