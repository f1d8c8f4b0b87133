/**
 * What a stored VM state holds besides the emulator's own state: the host side of the guest setup
 * taken into the snapshot (Machine's `prepareSnapshot`: the 9P server's fids and exports, the
 * container pool), as JSON in front of the state: `SKHS`, a u32 (little-endian) length, the JSON,
 * then v86's state. Snapshot format 4 (snapshot-store.ts) on; a state saved with no host side has
 * `null` there.
 */
import { SkiffError } from '../../errors.ts';

const MAGIC = [0x53, 0x4b, 0x48, 0x53]; // "SKHS"

export function joinHostState(host: unknown, state: ArrayBuffer): ArrayBuffer {
  const json = new TextEncoder().encode(JSON.stringify(host ?? null));
  const out = new Uint8Array(8 + json.length + state.byteLength);
  out.set(MAGIC);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(new Uint8Array(state), 8 + json.length);
  return out.buffer;
}

/**
 * The host part and the emulator's state (a buffer of its own: it is transferred to the worker).
 * A bare emulator state (Machine.saveSnapshot's, which starts with gzip's magic) has no host part.
 */
export function splitHostState(stored: ArrayBuffer): { host: unknown; state: ArrayBuffer } {
  const bytes = new Uint8Array(stored);
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) return { host: null, state: stored };
  const n = new DataView(stored).getUint32(4, true);
  if (8 + n > bytes.length) throw new SkiffError('DIGEST_MISMATCH', `VM snapshot: host state of ${n} bytes overruns the entry`);
  const host = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as unknown;
  return { host, state: stored.slice(8 + n) };
}
