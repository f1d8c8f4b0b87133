/**
 * The keyboard as a process's stdin while `run -i` runs: a line discipline like a cooked TTY's
 * (local echo and editing, a line is sent on Enter, Ctrl-D sends what is typed or ends input,
 * Ctrl-C interrupts). Sans-IO apart from the echo callback.
 */
import type { StdinAttachment } from '../shell/context.ts';
import { LineEditor } from './line-editor.ts';

export interface KeyboardStdin extends StdinAttachment {
  /** Keys from the terminal (xterm's onData). */
  feed(data: string): void;
  readonly attached: boolean;
}

export function keyboardStdin(echo: (s: string) => void): KeyboardStdin {
  const editor = new LineEditor('');
  const queue: (Uint8Array | null)[] = [];
  const waiting: ((c: Uint8Array | null) => void)[] = [];
  const enc = new TextEncoder();
  let interrupt: (() => void) | undefined;
  let attached = true;
  let ended = false;
  let raw = false;
  const push = (c: Uint8Array | null): void => {
    if (ended) return;
    if (c === null) ended = true;
    const w = waiting.shift();
    if (w) w(c);
    else queue.push(c);
  };
  return {
    get attached() { return attached; },
    feed(data) {
      if (!attached) return;
      if (raw) { push(enc.encode(data)); return; }
      for (const part of data.split(/(\x04)/)) {
        if (part === '\x04') {
          // Ctrl-D: flush a partial line, or end input on an empty one.
          const line = editor.line;
          if (line) { editor.feed('\x15'); echo('\r\x1b[2K'); push(enc.encode(line)); } else push(null);
          continue;
        }
        if (part.includes('\x03')) { echo('^C\r\n'); interrupt?.(); continue; }
        const r = editor.feed(part);
        if (r.echo) echo(r.echo);
        for (const line of r.lines) push(enc.encode(`${line}\n`));
      }
    },
    read: () => {
      const c = queue.shift();
      if (c !== undefined) return Promise.resolve(c);
      if (ended || !attached) return Promise.resolve(null);
      return new Promise((resolve) => waiting.push(resolve));
    },
    onInterrupt(cb) { interrupt = cb; },
    setRaw(r) { raw = r; },
    detach() {
      attached = false;
      for (const w of waiting.splice(0)) w(null);
    },
  };
}
