/**
 * What `<skiff-run>` keeps of a process's output: the last `limit` characters, as Docker's log
 * drivers keep the last `max-size` of a container's log; what is dropped is counted, so the
 * element can say so. Consecutive writes to one stream share a run (one span in the DOM), so a
 * process that writes a byte at a time costs one node, not one per write. Sans-DOM: the element
 * mirrors the runs (added, grown, trimmed or removed) through the callbacks.
 */
export interface OutputRun {
  text: string;
  stream: 'stdout' | 'stderr';
}

export interface OutputView {
  added(run: OutputRun): void;
  /** `run` got `text` at its end. */
  grew(run: OutputRun, text: string): void;
  /** `run` lost `n` characters at its start. */
  trimmed(run: OutputRun, n: number): void;
  removed(run: OutputRun): void;
}

/** The default: 256 K characters (a few thousand lines) stay in the page. */
export const DEFAULT_OUTPUT_LIMIT = 256 * 1024;

export class OutputBuffer {
  readonly runs: OutputRun[] = [];
  /** Characters dropped from the start so far. */
  dropped = 0;
  #kept = 0;

  constructor(readonly limit = DEFAULT_OUTPUT_LIMIT, readonly view?: OutputView) {}

  append(text: string, stream: OutputRun['stream']): void {
    if (!text) return;
    const last = this.runs.at(-1);
    if (last && last.stream === stream) {
      last.text += text;
      this.view?.grew(last, text);
    } else {
      const run = { text, stream };
      this.runs.push(run);
      this.view?.added(run);
    }
    this.#kept += text.length;
    while (this.#kept > this.limit) {
      const first = this.runs[0]!;
      const excess = this.#kept - this.limit;
      if (first.text.length <= excess) {
        this.runs.shift();
        this.#kept -= first.text.length;
        this.dropped += first.text.length;
        this.view?.removed(first);
      } else {
        first.text = first.text.slice(excess);
        this.#kept -= excess;
        this.dropped += excess;
        this.view?.trimmed(first, excess);
      }
    }
  }

  text(): string {
    return this.runs.map((r) => r.text).join('');
  }

  clear(): void {
    for (const r of this.runs.splice(0)) this.view?.removed(r);
    this.#kept = 0;
    this.dropped = 0;
  }
}
