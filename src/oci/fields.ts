/** Small field readers for JSON documents; every error names the document and the field path. */
import { SkiffError } from '../errors.ts';

export type Json = Record<string, unknown>;

export function fail(doc: string, field: string, msg: string): never {
  throw new SkiffError('INVALID_ARGUMENT', `${doc}: field "${field}" ${msg}`);
}

export function parseJsonObject(input: string | Uint8Array | unknown, doc: string): Json {
  let v: unknown = input;
  if (input instanceof Uint8Array) v = new TextDecoder().decode(input);
  if (typeof v === 'string') {
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
