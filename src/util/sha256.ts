/**
 * SHA-256 of a whole buffer as hex, through WebCrypto where it exists (browsers in a secure
 * context, Node >= 19: native, ~10x the pure-JS speed on a multi-megabyte VM state) and the
 * pure-JS implementation otherwise (a page served over plain http has no crypto.subtle).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (subtle) {
    try {
      return bytesToHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
    } catch {
      // a subtle that refuses (e.g. a detached or shared buffer): the JS digest below
    }
  }
  return bytesToHex(sha256(bytes));
}
