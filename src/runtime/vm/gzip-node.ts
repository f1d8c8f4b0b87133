/**
 * VM states through Node's zlib: one native call each way, ~2x the stream API's speed. Used by the
 * Node entry points (src/node.ts for the in-thread emulator, workers/vm-worker-node.ts).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { StateGzip } from './worker-main.ts';

const own = (u: Uint8Array) => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

export const nodeGzip: StateGzip = {
  gzip: async (b) => own(gzipSync(new Uint8Array(b), { level: 6 })),
  // Synchronous: measured faster than zlib.gunzip on the thread pool, which on two busy cores
  // competes with the emulator's construction instead of overlapping it.
  gunzip: async (b) => own(gunzipSync(new Uint8Array(b))),
};
