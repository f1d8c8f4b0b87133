/**
 * "The bytes are on their way": what a synchronous filesystem call throws when the data it needs
 * lives in an asynchronous store (IndexedDB) and is not cached yet. It is an EAGAIN, so a caller
 * that cannot wait still gets an errno; callers that can (the 9P server, the WASI host) await
 * `wait` and run the same call again (retryAfterIO), which then finds the bytes in the cache.
 * A call throws it before changing anything, so running it again is safe.
 */
import { FsError } from './errno.ts';

export class PendingIO extends FsError {
  constructor(readonly wait: Promise<unknown>, what: string) {
    super('EAGAIN', `${what}: waiting for the content store`);
  }
}

/** Most waits for one call before it fails: each wait brings its bytes, so more means thrashing. */
const MAX_WAITS = 64;

/**
 * `call()`'s value, synchronously when it needs no I/O, else a promise settled once the bytes it
 * waited for arrived and a new try succeeded. Other errors pass through as thrown (or rejected).
 */
export function retryAfterIO<T>(call: () => T, first?: PendingIO): T | Promise<T> {
  try {
    if (first) throw first;
    return call();
  } catch (e) {
    if (!(e instanceof PendingIO)) throw e;
    return (async () => {
      let pending: PendingIO = e;
      for (let i = 0; i < MAX_WAITS; i++) {
        await pending.wait;
        try {
          return call();
        } catch (again) {
          if (!(again instanceof PendingIO)) throw again;
          pending = again;
        }
      }
      throw new FsError('EIO', `${pending.message} (gave up after ${MAX_WAITS} waits: cache too small for this read?)`);
    })();
  }
}
