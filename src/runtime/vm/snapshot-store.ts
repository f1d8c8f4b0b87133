/**
 * Saved guest states. A key names one exact machine: the artifact manifest (kernel, initrd, BIOS
 * hashes), the v86 version, the memory size, the state encoding and this format's version; a
 * changed kernel or emulator never restores a stale state, it just misses.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface SnapshotStore {
  get(key: string): Promise<ArrayBuffer | null>;
  put(key: string, state: ArrayBuffer): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Bumped when what a snapshot contains changes (e.g. the point at which it is taken). */
export const SNAPSHOT_FORMAT = 1;

export function snapshotKey(o: { manifestText: string; v86Version: string; memoryBytes: number; encoding: string }): string {
  const text = JSON.stringify([SNAPSHOT_FORMAT, o.v86Version, o.memoryBytes, o.encoding, o.manifestText]);
  return `vm-${bytesToHex(sha256(new TextEncoder().encode(text))).slice(0, 32)}`;
}

export function memorySnapshots(): SnapshotStore {
  const m = new Map<string, ArrayBuffer>();
  return {
    get: async (k) => m.get(k) ?? null,
    put: async (k, s) => void m.set(k, s),
    delete: async (k) => void m.delete(k),
  };
}
