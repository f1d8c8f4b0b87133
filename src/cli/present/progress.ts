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

export function progressBar(stream: ProgressTarget): ProgressSink {
  if (!stream.isTTY) return { update() {}, finish() {} };
  let last = 0;
  let drawn = false;
  return {
    update(label, done, total, unit = 'bytes') {
      const fmt = unit === 'bytes' ? humanSize : String;
      const now = Date.now();
      if (now - last < 80 && (total === undefined || done < total)) return;
      last = now;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
      let bar = '';
      if (total && total > 0) {
        const filled = Math.min(width, Math.round((done / total) * width));
        bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}] ${fmt(done)}/${fmt(total)}`;
      } else bar = fmt(done);
      stream.write(`\r\x1b[2K${displayText(label)} ${bar}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
