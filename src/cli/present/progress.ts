/** A one-line progress bar on a terminal; silent otherwise (pipes, CI logs). */
import type { ProgressSink } from '../commands/context.ts';
import { displayText } from './escape.ts';
import { humanSize } from './format.ts';

/** What the bar draws on: a Node stream, or anything with the same three members. */
export interface ProgressTarget {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** `[====>    ] 1.2MB/3.4MB` in `width` columns of bar. */
export function barText(done: number, total: number, width: number, fmt: (n: number) => string = humanSize): string {
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}] ${fmt(done)}/${fmt(total)}`;
}

/**
 * Redraws a block of lines in place: back to the block's first line (the cursor is on its last),
 * each row over the old one, and what is left of a longer old block erased. Rows are cut to the
 * width so that none wraps (a wrapped row would throw the line count off).
 */
export function redrawBlock(drawnRows: number, rows: string[], columns: number): string {
  const w = columns > 1 ? columns : 80; // a terminal that does not say (0) is taken as 80 wide
  const cut = rows.map((r) => { const t = displayText(r); return t.length >= w ? t.slice(0, w - 1) : t; });
  return `${eraseBlock(drawnRows)}${cut.join('\r\n')}`;
}

/** Back to the first line of a block of `drawnRows` lines and erase from there down. */
export function eraseBlock(drawnRows: number): string {
  return drawnRows > 1 ? `\r\x1b[${drawnRows - 1}A\x1b[J` : '\r\x1b[J';
}

export function progressBar(stream: ProgressTarget): ProgressSink {
  if (!stream.isTTY) return { update() {}, finish() {} };
  let last = 0;
  let drawn = false;
  /** Lines of the block on screen (0: none; a one-line bar counts as 1). */
  let rowsDrawn = 0;
  return {
    lines(rows) {
      const now = Date.now();
      // Rows come and go at once; byte counts at most every 80 ms.
      if (rows.length === rowsDrawn && now - last < 80) return;
      last = now;
      stream.write(redrawBlock(rowsDrawn, rows, stream.columns ?? 80));
      rowsDrawn = rows.length;
      drawn = rows.length > 0;
    },
    update(label, done, total, unit = 'bytes') {
      const fmt = unit === 'bytes' ? humanSize : String;
      const now = Date.now();
      if (now - last < 80 && (total === undefined || done < total)) return;
      last = now;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
      const bar = total && total > 0 ? barText(done, total, width, fmt) : fmt(done);
      stream.write(`${rowsDrawn > 1 ? eraseBlock(rowsDrawn) : '\r\x1b[2K'}${displayText(label)} ${bar}`);
      drawn = true;
      rowsDrawn = 1;
    },
    finish() {
      if (drawn) stream.write(rowsDrawn > 1 ? eraseBlock(rowsDrawn) : '\r\x1b[2K');
      drawn = false;
      rowsDrawn = 0;
    },
  };
}
