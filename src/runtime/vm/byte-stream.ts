/**
 * A push-fed byte stream read as an AsyncIterable (or through callbacks). Unread chunks are kept
 * in memory: a caller that never reads a process's stdout keeps it all.
 */
export class ByteStream implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private ended = false;
  private waiter: (() => void) | null = null;
  private listeners: ((chunk: Uint8Array | null) => void)[] = [];

  push(chunk: Uint8Array): void {
    if (this.ended || chunk.length === 0) return;
    for (const l of this.listeners) l(chunk);
    if (this.listeners.length === 0) this.chunks.push(chunk);
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

  /** Callback per chunk (null at the end). Chunks buffered so far are delivered first. */
  on(listener: (chunk: Uint8Array | null) => void): void {
    for (const c of this.chunks.splice(0)) listener(c);
    if (this.ended) listener(null);
    else this.listeners.push(listener);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const c = this.chunks.shift();
      if (c) { yield c; continue; }
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

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
