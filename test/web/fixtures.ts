/**
 * Archives for the browser tests, made by real peers at test time: skopeo re-encodes the bundled
 * busybox as a `docker save` archive under a new name; broken variants are cut or corrupted
 * copies of it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.ts';
import { requireTool } from '../helpers/peers.ts';

export interface Archives {
  dir: string;
  /** docker-archive of skiff/busybox re-tagged skiff/dropped:v1 (skopeo). */
  valid: Buffer;
  /** The same, cut in the middle of a layer. */
  truncated: Buffer;
  /** The same length, with bytes of the layer flipped (digest mismatch). */
  corrupt: Buffer;
}

export async function makeArchives(): Promise<Archives> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-web-fixtures-'));
  const out = join(dir, 'dropped.tar');
  execFileSync(requireTool('skopeo', 'skopeo'), ['copy', '-q', `oci-archive:${join(ROOT, 'vm-images/images/dist/busybox.tar')}`, `docker-archive:${out}:skiff/dropped:v1`]);
  const valid = await readFile(out);
  const truncated = valid.subarray(0, Math.floor(valid.length / 2));
  const corrupt = Buffer.from(valid);
  // Flip bytes well inside the biggest member (the layer), past its tar header.
  for (let i = Math.floor(valid.length * 0.4); i < Math.floor(valid.length * 0.4) + 64; i++) corrupt[i] = corrupt[i]! ^ 0xff;
  return { dir, valid, truncated, corrupt };
}
