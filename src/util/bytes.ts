/** Byte-array helpers shared by the archive, content and runtime code. */

/**
 * The parts joined into one array. A single part is returned as it is, not copied (tar bodies
 * and blobs stay views of their input); `size`, when the caller already knows it, saves a pass.
 */
export function concatBytes(parts: readonly Uint8Array[], size?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = size;
  if (total === undefined) {
    total = 0;
    for (const p of parts) total += p.byteLength;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
