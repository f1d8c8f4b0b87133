/**
 * A readline for xterm.js, sans-IO: `feed(data)` takes what the terminal sends (keys, pastes,
 * escape sequences) and returns the bytes to echo plus any completed lines. Editing: left/right,
 * home/end, backspace/delete, up/down history, Ctrl-A/E/U/K/W, Ctrl-C (drops the line), Ctrl-L,
 * Tab (completes with `complete`: the candidates for the text before the cursor).
 */
export interface EditorOutput {
  echo: string;
  lines: string[];
  /** Ctrl-C while editing. */
  interrupted?: boolean;
  clear?: boolean;
}

export class LineEditor {
  #buf = '';
  #pos = 0;
  #history: string[] = [];
  #hIndex = 0;
  #draft = '';

  constructor(readonly prompt: string, readonly maxHistory = 200, readonly complete?: (before: string) => string[]) {}

  get line(): string {
    return this.#buf;
  }

  get history(): readonly string[] {
    return this.#history;
  }

  feed(data: string): EditorOutput {
    const out: EditorOutput = { echo: '', lines: [] };
    let i = 0;
    while (i < data.length) {
      const esc = /^\x1b(\[[0-9;]*[A-Za-z~]|O[A-Za-z])/.exec(data.slice(i));
      if (esc) {
        out.echo += this.#escape(esc[1]!);
        i += esc[0].length;
        continue;
      }
      const c = data[i]!;
      i++;
      const code = c.charCodeAt(0);
      if (c === '\r' || c === '\n') {
        if (c === '\n' && data[i - 2] === '\r') continue;
        out.echo += '\r\n';
        const line = this.#buf;
        if (line.trim() && this.#history[this.#history.length - 1] !== line) {
          this.#history.push(line);
          if (this.#history.length > this.maxHistory) this.#history.shift();
        }
        this.#hIndex = this.#history.length;
        this.#buf = '';
        this.#pos = 0;
        out.lines.push(line);
      } else if (code === 0x7f || code === 0x08) {
        if (this.#pos > 0) {
          this.#buf = this.#buf.slice(0, this.#pos - 1) + this.#buf.slice(this.#pos);
          this.#pos--;
          out.echo += this.#redraw();
        }
      } else if (code === 0x03) {
        out.echo += '^C\r\n';
        this.#buf = '';
        this.#pos = 0;
        out.interrupted = true;
      } else if (c === '\t') {
        out.echo += this.#tab();
      } else if (code === 0x0c) {
        out.clear = true;
      } else if (code === 0x01) {
        this.#pos = 0;
        out.echo += this.#redraw();
      } else if (code === 0x05) {
        this.#pos = this.#buf.length;
        out.echo += this.#redraw();
      } else if (code === 0x15) {
        this.#buf = this.#buf.slice(this.#pos);
        this.#pos = 0;
        out.echo += this.#redraw();
      } else if (code === 0x0b) {
        this.#buf = this.#buf.slice(0, this.#pos);
        out.echo += this.#redraw();
      } else if (code === 0x17) {
        const left = this.#buf.slice(0, this.#pos).replace(/\S+\s*$/, '');
        this.#buf = left + this.#buf.slice(this.#pos);
        this.#pos = left.length;
        out.echo += this.#redraw();
      } else if (code >= 0x20) {
        this.#buf = this.#buf.slice(0, this.#pos) + c + this.#buf.slice(this.#pos);
        this.#pos++;
        out.echo += this.#pos === this.#buf.length ? c : this.#redraw();
      }
    }
    return out;
  }

  /** Prompt plus current line, cursor placed: after output was printed over the line. */
  redrawAll(): string {
    return this.#redraw();
  }

  #escape(seq: string): string {
    switch (seq[seq.length - 1]) {
      case 'D': if (this.#pos > 0) { this.#pos--; return '\x1b[D'; } return '';
      case 'C': if (this.#pos < this.#buf.length) { this.#pos++; return '\x1b[C'; } return '';
      case 'H': this.#pos = 0; return this.#redraw();
      case 'F': this.#pos = this.#buf.length; return this.#redraw();
      case 'A': return this.#recall(-1);
      case 'B': return this.#recall(1);
      case '~':
        if (seq === '[3~' && this.#pos < this.#buf.length) {
          this.#buf = this.#buf.slice(0, this.#pos) + this.#buf.slice(this.#pos + 1);
          return this.#redraw();
        }
        return '';
      default: return '';
    }
  }

  #tab(): string {
    if (!this.complete) return '';
    const before = this.#buf.slice(0, this.#pos);
    const word = /\S*$/.exec(before)![0];
    const cands = this.complete(before);
    if (cands.length === 0) return '\x07';
    let common = cands[0]!;
    for (const c of cands) while (!c.startsWith(common)) common = common.slice(0, -1);
    const add = common.slice(word.length) + (cands.length === 1 ? ' ' : '');
    if (add) {
      this.#buf = before + add + this.#buf.slice(this.#pos);
      this.#pos += add.length;
      return this.#redraw();
    }
    return `\r\n${cands.join('  ')}\r\n${this.#redraw()}`;
  }

  #recall(step: number): string {
    const next = this.#hIndex + step;
    if (next < 0 || next > this.#history.length) return '';
    if (this.#hIndex === this.#history.length) this.#draft = this.#buf;
    this.#hIndex = next;
    this.#buf = next === this.#history.length ? this.#draft : this.#history[next]!;
    this.#pos = this.#buf.length;
    return this.#redraw();
  }

  #redraw(): string {
    const back = this.#buf.length - this.#pos;
    return `\r\x1b[2K${this.prompt}${this.#buf}${back > 0 ? `\x1b[${back}D` : ''}`;
  }
}
