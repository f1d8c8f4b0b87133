/**
 * Decompression and unpack bombs, generated (never committed): a few megabytes of gzip that
 * unpack to gigabytes, built from gzip members (a gzip stream may hold several, each decoded
 * after the other) so generating one costs about as little as sending it.
 */
import { gzipSync } from 'node:zlib';
import { tarEntry, writeTar } from '../../src/archive/tar-writer.ts';
import { checksums } from '../../src/archive/tar-format.ts';

const MiB = 1 << 20;

/** A tar header block for a regular file of `size` bytes (the body is not included). */
export function fileHeader(name: string, size: number): Uint8Array {
  const h = writeTar([tarEntry({ name }, 'x')]).slice(0, 512);
  h.fill(0, 124, 136);
  h.set(new TextEncoder().encode(size.toString(8).padStart(11, '0')), 124);
  h.fill(0x20, 148, 156);
  h.set(new TextEncoder().encode(checksums(h).unsigned.toString(8).padStart(6, '0') + '\0 '), 148);
  return h;
}

/** gzip of a tar holding `files` files of `size` zero bytes each (`size` a multiple of 1 MiB). */
export function gzipBombTar(files: number, size: number): Uint8Array {
  const zeros = gzipSync(new Uint8Array(MiB), { level: 9 });
  const parts: Uint8Array[] = [];
  for (let f = 0; f < files; f++) {
    parts.push(gzipSync(fileHeader(`zeros-${f}`, size)));
    for (let i = 0; i < size / MiB; i++) parts.push(zeros);
  }
  parts.push(gzipSync(new Uint8Array(1024)));
  return Buffer.concat(parts);
}

/** gzip of a tar whose one directory holds `n` empty files. */
export function gzipManyEntries(n: number): Uint8Array {
  const entries = [tarEntry({ name: 'd/', type: 'directory' })];
  for (let i = 0; i < n; i++) entries.push(tarEntry({ name: `d/${i.toString(36)}` }));
  return gzipSync(writeTar(entries), { level: 1 });
}
