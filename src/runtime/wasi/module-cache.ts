/**
 * Compiled modules, cached per (bytes, memory limit). Compiling is the slow part of a start and a
 * `WebAssembly.Module` can be posted to any worker, so a warm start only instantiates.
 */
import { SkiffError } from '../../errors.ts';
import { limitMemory } from './memory-limit.ts';

const byBytes = new WeakMap<Uint8Array, Map<number, Promise<WebAssembly.Module>>>();
const byKey = new Map<string, Promise<WebAssembly.Module>>();
const MAX_KEYED = 32;

export interface CompileOptions {
  /** Cap on the module's linear memory, in 64 KiB pages; 0 or absent for none. */
  memoryLimitPages?: number;
  /** A stable key (the layer digest) to share compiled code across byte arrays. */
  cacheKey?: string;
}

export function compileWasi(bytes: Uint8Array, opts: CompileOptions = {}): Promise<WebAssembly.Module> {
  const limit = opts.memoryLimitPages ?? 0;
  if (opts.cacheKey !== undefined) {
    const key = `${opts.cacheKey}@${limit}`;
    let p = byKey.get(key);
    if (!p) {
      p = compile(bytes, limit);
      byKey.set(key, p);
      p.catch(() => byKey.delete(key));
      if (byKey.size > MAX_KEYED) byKey.delete(byKey.keys().next().value!);
    }
    return p;
  }
  let perLimit = byBytes.get(bytes);
  if (!perLimit) byBytes.set(bytes, (perLimit = new Map()));
  let p = perLimit.get(limit);
  if (!p) {
    p = compile(bytes, limit);
    perLimit.set(limit, p);
    p.catch(() => perLimit.delete(limit));
  }
  return p;
}

async function compile(bytes: Uint8Array, limit: number): Promise<WebAssembly.Module> {
  const src = limit > 0 ? limitMemory(bytes, limit) : bytes;
  try {
    return await WebAssembly.compile(src as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new SkiffError('INVALID_ARGUMENT', `wasm module does not compile: ${(e as Error).message}`, { cause: e });
  }
}
