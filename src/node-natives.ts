/**
 * Node's native gzip and SHA-256 for the layers below the entry points (archive/, oci/, content/):
 * zlib streams ~3x Node's DecompressionStream, crypto's hash several times the pure-JS one. Apart
 * from src/node.ts so that code which only needs these (the test setup) need not load the engine.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { useNodeZlib, type Zlib } from './archive/zlib-node.ts';
import { useNativeSha256 } from './oci/digest.ts';

export function useNodeNatives(): void {
  useNodeZlib(zlib as unknown as Zlib);
  useNativeSha256(createHash);
}
