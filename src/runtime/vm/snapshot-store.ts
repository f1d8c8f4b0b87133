/**
 * Saved guest states. A key names one exact machine: the artifact manifest (kernel, initrd, BIOS
 * hashes), the v86 version, the memory size, the state encoding and this format's version; a
 * changed kernel or emulator never restores a stale state, it just misses.
 *
 * What a store keeps is sealed (`sealSnapshot`): one header line naming the format, the key and
 * the SHA-256 of the state, then the state. The Machine opens it (`openSnapshot`) before restoring
 * and boots cold instead when anything disagrees, so a truncated file, a torn IndexedDB write, a
 * corrupted download or a state filed under another machine's key is never loaded into the guest.
 * Someone who can rewrite the whole entry can also rewrite its header: the seal guards against
 * damage and mix-ups, not against the user's own account.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SkiffError } from '../../errors.ts';
import { sha256Hex } from '../../util/sha256.ts';

export interface VmSnapshotStore {
  get(key: string): Promise<ArrayBuffer | null>;
  put(key: string, state: ArrayBuffer): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Bumped when what a snapshot contains changes (e.g. the point at which it is taken). 2: sealed.
 * 3: the machine has a virtio-net NIC (a state only loads into identical devices). 4: the host side
 * of the guest setup (host-state.ts: 9P fids, the container pool) precedes the state.
 */
export const SNAPSHOT_FORMAT = 4;

export function snapshotKey(o: { manifestText: string; v86Version: string; memoryBytes: number; encoding: string }): string {
  const text = JSON.stringify([SNAPSHOT_FORMAT, o.v86Version, o.memoryBytes, o.encoding, o.manifestText]);
  return `vm-${bytesToHex(sha256(new TextEncoder().encode(text))).slice(0, 32)}`;
}

/**
 * The key of a Machine started with the manifest's memory size and gzip states (every browser
 * engine, and the snapshot a build ships): what a page computes to find the shipped file.
 */
export function defaultSnapshotKey(manifestText: string, manifest: { v86: string; memoryMiB?: number }): string {
  return snapshotKey({ manifestText, v86Version: manifest.v86, memoryBytes: (manifest.memoryMiB ?? 128) * 1024 * 1024, encoding: 'gzip' });
}

const MAGIC = 'skiff-vm-state';
/** Longer than any header this code writes (magic, version, a key, a digest). */
const MAX_HEADER = 256;

/** The state with its header line: `skiff-vm-state 2 <key> sha256:<hex>\n`. */
export async function sealSnapshot(key: string, state: ArrayBuffer): Promise<ArrayBuffer> {
  const header = new TextEncoder().encode(`${MAGIC} ${SNAPSHOT_FORMAT} ${key} sha256:${await sha256Hex(new Uint8Array(state))}\n`);
  const out = new Uint8Array(header.length + state.byteLength);
  out.set(header);
  out.set(new Uint8Array(state), header.length);
  return out.buffer;
}

/**
 * The state inside a sealed entry read for `key`, as a buffer of its own (the caller may transfer
 * it). Throws SkiffError DIGEST_MISMATCH saying what disagreed.
 */
export async function openSnapshot(key: string, sealed: ArrayBuffer): Promise<ArrayBuffer> {
  const bytes = new Uint8Array(sealed);
  const nl = bytes.subarray(0, MAX_HEADER).indexOf(10);
  const header = nl < 0 ? '' : new TextDecoder().decode(bytes.subarray(0, nl));
  const m = /^skiff-vm-state (\d+) (\S+) sha256:([0-9a-f]{64})$/.exec(header);
  if (!m) throw new SkiffError('DIGEST_MISMATCH', `snapshot ${key}: no ${MAGIC} header (an unsealed or damaged entry)`);
  if (Number(m[1]) !== SNAPSHOT_FORMAT) throw new SkiffError('DIGEST_MISMATCH', `snapshot ${key}: format ${m[1]}, expected ${SNAPSHOT_FORMAT}`);
  if (m[2] !== key) throw new SkiffError('DIGEST_MISMATCH', `snapshot ${key}: the entry is sealed for ${m[2]}`);
  const state = bytes.slice(nl + 1);
  const got = await sha256Hex(state);
  if (got !== m[3]) throw new SkiffError('DIGEST_MISMATCH', `snapshot ${key}: state hashes to sha256:${got}, its header says sha256:${m[3]}`);
  return state.buffer;
}

export function memorySnapshots(): VmSnapshotStore {
  const m = new Map<string, ArrayBuffer>();
  return {
    get: async (k) => m.get(k) ?? null,
    put: async (k, s) => void m.set(k, s),
    delete: async (k) => void m.delete(k),
  };
}
