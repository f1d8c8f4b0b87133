/** A one-line progress bar drawn in the terminal (redrawn in place) and mirrored on a <progress>. */
import { displayText } from '../../cli/present/escape.ts';
import { humanSize } from '../../cli/present/format.ts';
import { eraseBlock, redrawBlock } from '../../cli/present/progress.ts';

export interface ProgressView {
  update(label: string, done: number, total?: number): void;
  /** A transient status line (dim), cleared by the next output or done(). */
  note(text: string): void;
  /** A block of lines redrawn in place (a pull's bar per layer), cleared by done(). */
  lines(rows: string[]): void;
  done(): void;
}

export function terminalProgress(write: (s: string) => void, columns: () => number, bar?: HTMLProgressElement, label?: HTMLElement): ProgressView {
  let drawn = false;
  let last = 0;
  /** Lines of the block on screen, when lines() drew the last. */
  let rowsDrawn = 0;
  /** Back to the start of what is drawn, erased. */
  const clear = (): string => (rowsDrawn > 1 ? eraseBlock(rowsDrawn) : '\r\x1b[2K');
  return {
    lines(rows) {
      const now = performance.now();
      if (rows.length === rowsDrawn && now - last < 50) return;
      last = now;
      write(redrawBlock(rowsDrawn, rows, columns()));
      rowsDrawn = rows.length;
      drawn = rows.length > 0;
    },
    update(text, done, total) {
      if (bar) {
        bar.hidden = false;
        if (total) { bar.max = total; bar.value = Math.min(done, total); } else bar.removeAttribute('value');
      }
      if (label) label.textContent = `${text} ${total ? `${humanSize(done)}/${humanSize(total)}` : humanSize(done)}`;
      const now = performance.now();
      if (now - last < 50 && (total === undefined || done < total)) return;
      last = now;
      const width = Math.max(10, Math.min(40, columns() - 40));
      let line: string;
      if (total && total > 0) {
        const filled = Math.min(width, Math.round((done / total) * width));
        line = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}] ${humanSize(done)}/${humanSize(total)}`;
      } else line = humanSize(done);
      write(`${clear()}${displayText(text)} ${line}`);
      drawn = true;
      rowsDrawn = 1;
    },
    note(text) {
      if (label) label.textContent = text;
      write(`${clear()}\x1b[2m${displayText(text)}\x1b[0m`);
      drawn = true;
      rowsDrawn = 1;
    },
    done() {
      if (bar) bar.hidden = true;
      if (label) label.textContent = '';
      if (drawn) write(clear());
      drawn = false;
      rowsDrawn = 0;
    },
  };
}
