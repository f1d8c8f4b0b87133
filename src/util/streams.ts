/** Stream adapters shared by the registry client (upload bodies), archive loads and the page <-> worker RPC. */

/**
 * An async iterable of bytes as a ReadableStream (what fetch bodies and postMessage transfers
 * take), pulled lazily; cancelling the stream ends the iterator. A ReadableStream is returned
 * as it is.
 */
export function toReadableStream(it: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  if (typeof ReadableStream !== 'undefined' && it instanceof ReadableStream) return it as ReadableStream<Uint8Array>;
  const iter = it[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await iter.next();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    async cancel(reason) {
      await iter.return?.(reason);
    },
  });
}

/**
 * Bytes from a ReadableStream (a fetch body, a File's stream) or an async iterable, as an async
 * iterable; the stream's reader lock is released when the iteration ends or stops early.
 */
export async function* chunksOf(s: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (Symbol.asyncIterator in s) {
    yield* s as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (s as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
