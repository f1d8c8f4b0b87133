/**
 * Browser stand-in for the one `node:crypto` call the engine makes (`randomBytes(n).toString('hex')`
 * for container IDs and names), aliased by vite.config.ts. Remove once src/engine uses
 * `crypto.getRandomValues` (see .notes/browser-compat.md).
 */
class RandomBytes extends Uint8Array {
  override toString(encoding?: string): string {
    if (encoding !== 'hex') throw new Error(`randomBytes shim: toString("${encoding}") is not supported, only "hex"`);
    return Array.from(this, (b) => b.toString(16).padStart(2, '0')).join('');
  }
}

export function randomBytes(n: number): RandomBytes {
  const out = new RandomBytes(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

export default { randomBytes };
