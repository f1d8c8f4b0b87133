/**
 * BuildKit's plain progress output: one numbered vertex per step (`#5 [2/7] RUN ...`), its output
 * lines prefixed with the seconds since it started (`#5 0.312 hello`), then `#5 CACHED` or
 * `#5 DONE 1.2s` (or `#5 ERROR: ...`), a blank line between vertices.
 */
export type ProgressSink = (text: string) => void;

export class PlainProgress {
  private n = 0;
  constructor(private readonly sink: ProgressSink, private readonly clock: () => number = () => performance.now()) {}

  vertex(name: string): Vertex {
    const id = ++this.n;
    this.sink(`#${id} ${name}\n`);
    return new Vertex(id, this.sink, this.clock);
  }
}

export class Vertex {
  private readonly started: number;
  private partial = '';
  constructor(readonly id: number, private readonly sink: ProgressSink, private readonly clock: () => number) {
    this.started = clock();
  }

  private secs(): string {
    return ((this.clock() - this.started) / 1000).toFixed(3);
  }

  /** Output of the step (RUN's stdout and stderr), line by line. */
  output(text: string): void {
    const all = this.partial + text;
    const lines = all.split('\n');
    this.partial = lines.pop()!;
    for (const l of lines) this.sink(`#${this.id} ${this.secs()} ${l}\n`);
  }

  log(text: string): void {
    this.sink(`#${this.id} ${text}\n`);
  }

  private flush(): void {
    if (this.partial) this.sink(`#${this.id} ${this.secs()} ${this.partial}\n`);
    this.partial = '';
  }

  cached(): void {
    this.sink(`#${this.id} CACHED\n\n`);
  }

  done(): void {
    this.flush();
    this.sink(`#${this.id} DONE ${((this.clock() - this.started) / 1000).toFixed(1)}s\n\n`);
  }

  error(message: string): void {
    this.flush();
    this.sink(`#${this.id} ERROR: ${message}\n\n`);
  }
}
