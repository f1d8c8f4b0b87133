/**
 * `--memory` for a wasm module: rewrite the maximum of its defined memory in the binary, so
 * `memory.grow` past the cap fails inside the module (malloc returns NULL) as on a real limit.
 * Sans-IO: bytes in, bytes out. Only the memory section's limits change; every other byte is copied.
 */
import { SkiffError } from '../../errors.ts';
import { concatBytes } from '../../util/bytes.ts';

const MEMORY_SECTION = 5;
export const WASM_PAGE_BYTES = 65536;

function readLeb(b: Uint8Array, at: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (at >= b.length) throw new SkiffError('INVALID_ARGUMENT', 'wasm module: truncated LEB128');
    const byte = b[at++]!;
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [result, at];
    if (shift > 35) throw new SkiffError('INVALID_ARGUMENT', 'wasm module: LEB128 too long');
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** Returns the module with every defined memory capped at `maxPages` (unchanged if already lower). */
export function limitMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  if (!Number.isInteger(maxPages) || maxPages < 1 || maxPages > 65536) {
    throw new SkiffError('INVALID_ARGUMENT', `memory limit ${maxPages} pages: must be 1..65536 (64 KiB pages)`);
  }
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new SkiffError('INVALID_ARGUMENT', 'wasm module: missing \\0asm magic');
  }
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  let at = 8;
  let changed = false;
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, bodyAt] = readLeb(bytes, at + 1);
    const end = bodyAt + size;
    if (end > bytes.length) throw new SkiffError('INVALID_ARGUMENT', `wasm module: section ${id} runs past the end`);
    if (id !== MEMORY_SECTION) {
      out.push(bytes.subarray(at, end));
      at = end;
      continue;
    }
    const body: number[] = [];
    let [count, p] = readLeb(bytes, bodyAt);
    body.push(...leb(count));
    for (let m = 0; m < count; m++) {
      const flags = bytes[p++]!;
      if (flags & 0x04) throw new SkiffError('UNSUPPORTED', 'wasm module: 64-bit memories cannot be limited');
      let min: number;
      [min, p] = readLeb(bytes, p);
      let max: number | undefined;
      if (flags & 0x01) [max, p] = readLeb(bytes, p);
      if (min > maxPages) {
        throw new SkiffError('INVALID_ARGUMENT', `wasm module needs ${min} pages (${min * 64} KiB) at start, over the memory limit of ${maxPages} pages`);
      }
      const cap = max === undefined ? maxPages : Math.min(max, maxPages);
      body.push(flags | 0x01, ...leb(min), ...leb(cap));
      changed = true;
    }
    if (p !== end) throw new SkiffError('INVALID_ARGUMENT', 'wasm module: malformed memory section');
    out.push(Uint8Array.from([id, ...leb(body.length), ...body]));
    at = end;
  }
  return changed ? concatBytes(out) : bytes;
}
