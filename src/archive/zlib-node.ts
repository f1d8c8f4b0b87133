/**
 * Node fast path for gzip: zlib streams with 256 KiB output chunks run ~3x faster than Node's
 * DecompressionStream (which wraps the same zlib behind web streams with 16 KiB chunks). The Node
 * entry point installs Node's zlib here (src/node-natives.ts useNodeNatives); where nothing is
 * installed (browsers) compression.ts uses the web-standard streams. No `node:` import here.
 */
interface ZlibStream {
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(err?: Error): void;
  once(ev: string, fn: (...a: unknown[]) => void): void;
  off(ev: string, fn: (...a: unknown[]) => void): void;
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
}
export interface Zlib {
  createGunzip(o: { chunkSize: number }): ZlibStream;
  createGzip(o: { chunkSize: number; level?: number }): ZlibStream;
}

let zlib: Zlib | undefined;

/** Makes gzip in this process go through `z` (Node's zlib module). */
export function useNodeZlib(z: Zlib): void {
  zlib = z;
}

export function hasNodeZlib(): boolean {
  return zlib !== undefined;
}

/**
 * Pipe `source` through a zlib transform; `onError` maps zlib and source errors. The consumer
 * stopping early (break/throw) destroys the transform.
 */
export async function* nodeZlib(
  kind: 'gunzip' | 'gzip',
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  mapError: (e: unknown) => unknown,
): AsyncGenerator<Uint8Array> {
  const z = kind === 'gunzip' ? zlib!.createGunzip({ chunkSize: 1 << 18 }) : zlib!.createGzip({ chunkSize: 1 << 18 });
  let sourceError: unknown;
  let stopped = false;
  const pump = (async () => {
    try {
      for await (const c of source) {
        if (stopped) return;
        if (!z.write(c)) {
          await new Promise<void>((resolve) => {
            const done = (): void => { z.off('drain', done); z.off('close', done); resolve(); };
            z.once('drain', done);
            z.once('close', done);
          });
        }
      }
      z.end();
    } catch (e) {
      sourceError = e;
      z.destroy(e as Error);
    }
  })();
  let ok = false;
  try {
    try {
      for await (const out of z) yield out;
    } catch (e) {
      if (sourceError !== undefined) throw sourceError;
      throw mapError(e);
    }
    await pump;
    if (sourceError !== undefined) throw sourceError;
    ok = true;
  } finally {
    if (!ok) {
      stopped = true;
      z.destroy();
      await pump.catch(() => {});
    }
  }
}
