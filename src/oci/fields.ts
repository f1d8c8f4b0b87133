/** Small field readers for JSON documents; every error names the document and the field path. */
import { SkiffError } from '../errors.ts';

export type Json = Record<string, unknown>;

export function fail(doc: string, field: string, msg: string): never {
  throw new SkiffError('INVALID_ARGUMENT', `${doc}: field "${field}" ${msg}`);
}

/**
 * Deepest nesting accepted in an image document. Real configs, manifests and indexes nest a few
 * levels; a value nested thousands deep parses fine but overflows the stack of every recursive
 * walk after it (inspect, display, structured clone), long after the load that accepted it.
 */
export const MAX_JSON_DEPTH = 64;

/** Throws unless the JSON text nests at most `max` arrays/objects deep (a scan, no recursion). */
export function checkJsonDepth(text: string, doc: string, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) throw new SkiffError('INVALID_ARGUMENT', `${doc}: nested more than ${max} levels deep (at character ${i})`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** The same bound for a value already parsed (iterative: a deep value must not overflow here either). */
export function checkValueDepth(value: unknown, doc: string, max = MAX_JSON_DEPTH): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > max) throw new SkiffError('INVALID_ARGUMENT', `${doc}: nested more than ${max} levels deep`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
}

export function parseJsonObject(input: string | Uint8Array | unknown, doc: string): Json {
  let v: unknown = input;
  if (input instanceof Uint8Array) v = new TextDecoder().decode(input);
  if (typeof v !== 'string') checkValueDepth(v, doc);
  else {
    checkJsonDepth(v, doc);
    try {
      v = JSON.parse(v);
    } catch (e) {
      throw new SkiffError('INVALID_ARGUMENT', `${doc}: not valid JSON (${(e as Error).message})`);
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SkiffError('INVALID_ARGUMENT', `${doc}: expected a JSON object`);
  }
  return v as Json;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(o: Json, k: string, doc: string, path = k): string {
  const v = o[k];
  if (typeof v !== 'string') fail(doc, path, v === undefined ? 'is missing' : `must be a string, got ${kind(v)}`);
  return v;
}
export function optStr(o: Json, k: string, doc: string, path = k): string | undefined {
  return o[k] === undefined || o[k] === null ? undefined : str(o, k, doc, path);
}
export function int(o: Json, k: string, doc: string, path = k): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(doc, path, v === undefined ? 'is missing' : `must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}
export function optStrArray(o: Json, k: string, doc: string, path = k): string[] | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(doc, path, 'must be an array of strings');
  return v as string[];
}
export function optStrMap(o: Json, k: string, doc: string, path = k): Record<string, string> | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) fail(doc, path, 'must be an object of strings');
  return v as Record<string, string>;
}
/** Docker's `{"80/tcp": {}}` sets. */
export function optSet(o: Json, k: string, doc: string, path = k): Record<string, object> | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail(doc, path, 'must be an object');
  return v as Record<string, object>;
}
export function arr(o: Json, k: string, doc: string, path = k): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) fail(doc, path, v === undefined ? 'is missing' : `must be an array, got ${kind(v)}`);
  return v;
}
export function obj(o: Json, k: string, doc: string, path = k): Json {
  const v = o[k];
  if (!isObject(v)) fail(doc, path, v === undefined ? 'is missing' : `must be an object, got ${kind(v)}`);
  return v;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
