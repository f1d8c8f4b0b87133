/** What the Node CLI touches outside itself: output streams, stdin, and the engine (opened lazily). */
import type { Engine } from '../engine/engine.ts';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  engine(): Promise<Engine>;
}

/**
 * Stream chunks to `path` through a temp file renamed into place, so a failed write never leaves
 * a truncated archive; file errors become SkiffErrors naming the path.
 */
export async function writeFileAtomic(path: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const { createWriteStream } = await import('node:fs');
  const { rename, rm } = await import('node:fs/promises');
  const { Readable } = await import('node:stream');
  const { pipeline } = await import('node:stream/promises');
  const { SkiffError } = await import('../errors.ts');
  const tmp = `${path}.skiff-tmp-${process.pid}`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(tmp));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    const sys = err as NodeJS.ErrnoException;
    if (typeof sys.syscall === 'string') {
      const why = sys.code === 'ENOENT' ? 'no such file or directory' : sys.code === 'EACCES' ? 'permission denied' : sys.message;
      throw new SkiffError('STORAGE', `open ${path}: ${why}`, { cause: err });
    }
    throw err;
  }
}
