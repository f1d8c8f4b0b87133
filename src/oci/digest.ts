/**
 * Content addresses. Three brands so a layer's compressed digest, its uncompressed DiffID and the
 * ChainID of a layer stack cannot be passed for one another by accident.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SkiffError } from '../errors.ts';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** "sha256:<64 lowercase hex>" naming a blob by its bytes as stored (often compressed). */
export type Digest = Brand<string, 'Digest'>;
/** Digest of a layer's uncompressed tar (config.rootfs.diff_ids). */
export type DiffID = Brand<string, 'DiffID'>;
/** Identity of a layer stack: ChainID(L0) = DiffID(L0), ChainID(L0..n) = sha256(ChainID(n-1) + " " + DiffID(n)). */
export type ChainID = Brand<string, 'ChainID'>;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const ANY_ALGO_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Parse and validate a digest string; only sha256 is supported (as the OCI spec requires). */
export function parseDigest(s: string, what = 'digest'): Digest {
  if (typeof s !== 'string') throw new SkiffError('INVALID_ARGUMENT', `${what}: expected a string, got ${typeof s}`);
  if (DIGEST_RE.test(s)) return s as Digest;
  if (ANY_ALGO_RE.test(s)) {
    const algo = s.slice(0, s.indexOf(':'));
    if (algo === 'sha256') {
      throw new SkiffError('INVALID_ARGUMENT', `${what} "${s}": sha256 digests need exactly 64 lowercase hex characters`);
    }
    throw new SkiffError('UNSUPPORTED', `${what} "${s}": algorithm "${algo}" is not supported (only sha256)`);
  }
  throw new SkiffError('INVALID_ARGUMENT', `${what} "${s}": not of the form sha256:<64 hex>`);
}

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

/** The 64-hex part of a digest (file names in blob stores). */
export function digestHex(d: Digest | DiffID | ChainID): string {
  return d.slice(7);
}

export function asDiffID(d: Digest | string): DiffID {
  return parseDigest(d, 'diff_id') as string as DiffID;
}
export function asChainID(d: Digest | string): ChainID {
  return parseDigest(d, 'chain id') as string as ChainID;
}

export interface Hasher {
  update(chunk: Uint8Array): Hasher;
  /** Finishes the hash; the hasher cannot be updated afterwards. */
  digest(): Digest;
  /** Bytes fed so far. */
  readonly size: number;
}

interface NodeHash {
  update(b: Uint8Array): unknown;
  digest(enc: 'hex'): string;
}
export type NodeCreateHash = (algo: string) => NodeHash;

// A native hash is several times faster than JS. The Node entry point installs crypto.createHash
// (src/node-natives.ts useNodeNatives); browsers keep the pure-JS one. No `node:` import here.
let nodeCreateHash: NodeCreateHash | undefined;

/** Makes SHA-256 in this process go through `createHash` (Node's crypto.createHash). */
export function useNativeSha256(createHash: NodeCreateHash): void {
  nodeCreateHash = createHash;
}

/** A streaming SHA-256; `portable` forces the pure-JS implementation (what browsers get). */
export function createHasher(opts: { portable?: boolean } = {}): Hasher {
  let size = 0;
  if (nodeCreateHash && !opts.portable) {
    const h = nodeCreateHash('sha256');
    const hasher: Hasher = {
      update(chunk) { h.update(chunk); size += chunk.byteLength; return hasher; },
      digest() { return `sha256:${h.digest('hex')}` as Digest; },
      get size() { return size; },
    };
    return hasher;
  }
  const h = sha256.create();
  const hasher: Hasher = {
    update(chunk) { h.update(chunk); size += chunk.byteLength; return hasher; },
    digest() { return `sha256:${bytesToHex(h.digest())}` as Digest; },
    get size() { return size; },
  };
  return hasher;
}

export function sha256Digest(bytes: Uint8Array | string): Digest {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return createHasher().update(b).digest();
}

/** ChainIDs for a bottom-to-top list of DiffIDs, per the OCI image spec (config.md, "Layer ChainID"). */
export function chainIds(diffIds: readonly DiffID[]): ChainID[] {
  const out: ChainID[] = [];
  for (const [i, d] of diffIds.entries()) {
    parseDigest(d, `diff_ids[${i}]`);
    const prev = out[i - 1];
    out.push((prev === undefined ? d : sha256Digest(`${prev} ${d}`)) as string as ChainID);
  }
  return out;
}
