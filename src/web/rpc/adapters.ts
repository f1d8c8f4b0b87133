/**
 * Comlink transfer handlers that let the Engine's own API cross the page <-> worker boundary
 * unchanged (no mirror with other names):
 * - byte streams: an AsyncIterable<Uint8Array> (saveArchive's result, loadArchive's `stream`)
 *   travels as a transferred ReadableStream, which is itself async-iterable on the other side;
 * - callbacks inside an options object (`io: { onStdout }`, `onProgress`) and objects of methods
 *   in a result (startContainer's process: writeStdin, kill, wait ...) travel as MessagePorts,
 *   each function exposed with comlink and called back through it.
 * Install in every realm that talks to the engine (the page and the worker), before the first call.
 */
import { expose, transferHandlers, wrap, type TransferHandler } from 'comlink';
import { toReadableStream } from '../../util/streams.ts';

type Plain = Record<string, unknown>;

const FN = '__skiffFn';
const MAX_DEPTH = 3;

function isAsyncIterable(v: unknown): v is AsyncIterable<Uint8Array> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function isPlain(v: unknown): v is Plain {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Whether `v` (a plain object) holds a function or a stream within MAX_DEPTH levels. */
function needsAdapting(v: unknown, depth = 0): boolean {
  if (typeof v === 'function' || isAsyncIterable(v)) return true;
  if (depth >= MAX_DEPTH || !isPlain(v)) return false;
  return Object.values(v).some((x) => needsAdapting(x, depth + 1));
}

function encode(v: unknown, transfer: Transferable[], depth = 0): unknown {
  if (typeof v === 'function') {
    const { port1, port2 } = new MessageChannel();
    expose(v as (...a: unknown[]) => unknown, port1);
    transfer.push(port2);
    return { [FN]: port2 };
  }
  if (isAsyncIterable(v)) {
    const s = toReadableStream(v);
    transfer.push(s as unknown as Transferable);
    return s;
  }
  if (depth >= MAX_DEPTH || !isPlain(v)) return v;
  const out: Plain = {};
  for (const [k, x] of Object.entries(v)) out[k] = encode(x, transfer, depth + 1);
  return out;
}

function decode(v: unknown, depth = 0): unknown {
  if (isPlain(v) && v[FN] instanceof MessagePort) {
    const remote = wrap<(...a: unknown[]) => unknown>(v[FN]);
    return (...args: unknown[]) => remote(...args);
  }
  if (depth >= MAX_DEPTH || !isPlain(v)) return v;
  const out: Plain = {};
  for (const [k, x] of Object.entries(v)) out[k] = decode(x, depth + 1);
  return out;
}

let installed = false;

/** Idempotent; call once per realm. */
export function installEngineAdapters(): void {
  if (installed) return;
  installed = true;
  const handler: TransferHandler<unknown, unknown> = {
    canHandle: (v): v is unknown => needsAdapting(v),
    serialize(v) {
      const transfer: Transferable[] = [];
      return [encode(v, transfer), transfer];
    },
    deserialize: (w) => decode(w),
  };
  transferHandlers.set('skiff-engine', handler);
}
