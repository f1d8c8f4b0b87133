/**
 * Docker's detach keys (default ctrl-p,ctrl-q), sans IO: `--detach-keys` / the API's
 * `detachKeys` parsed as moby/term's ToBytes does, and a scanner over the stdin stream that holds
 * back a partial sequence (released if the next byte does not continue it, as term's escape
 * proxy does) and says when the whole sequence was typed: the client detaches, the container runs on.
 */
import { SkiffError } from '../errors.ts';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_PUNCT: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** "ctrl-p,ctrl-q" -> [16, 17]; "a,ctrl-[" -> [97, 27]. Docker's error for anything else. */
export function parseDetachKeys(keys: string): Uint8Array {
  const out: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0) & 0xff);
      continue;
    }
    const m = /^ctrl-(.)$/.exec(key);
    const c = m?.[1];
    if (c !== undefined && /[a-z]/.test(c)) out.push(c.charCodeAt(0) - 96);
    else if (c !== undefined && c in CTRL_PUNCT) out.push(CTRL_PUNCT[c]!);
    else throw new SkiffError('INVALID_ARGUMENT', `Invalid detach keys (${keys}) provided`);
  }
  return new Uint8Array(out);
}

export class DetachScanner {
  #matched = 0;

  constructor(private readonly keys: Uint8Array) {}

  /** The bytes to pass on, and whether the sequence is now complete (nothing after it is passed on). */
  push(chunk: Uint8Array): { data: Uint8Array; detached: boolean } {
    if (this.keys.length === 0) return { data: chunk, detached: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.#matched]) {
        if (++this.#matched === this.keys.length) return { data: new Uint8Array(out), detached: true };
        continue;
      }
      // Not the sequence after all: what was held goes on, then this byte (which may start it anew).
      for (let i = 0; i < this.#matched; i++) out.push(this.keys[i]!);
      this.#matched = 0;
      if (b === this.keys[0]) {
        if (this.keys.length === 1) return { data: new Uint8Array(out), detached: true };
        this.#matched = 1;
      } else out.push(b);
    }
    return { data: new Uint8Array(out), detached: false };
  }
}
