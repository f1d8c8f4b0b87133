/**
 * The IndexedDB probe and the quota rewrite, against IDBFactory doubles that fail the way
 * browsers do (blocked by another tab, refused in private mode, never answering, absent), and
 * against fake-indexeddb for the working case.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { SkiffError } from '../../src/errors.ts';
import { explainStorageError, probeIndexedDb } from '../../src/web/worker/storage.ts';

type Handler = ((this: IDBOpenDBRequest) => void) | null;

function factory(behaviour: 'blocked' | 'error' | 'throw' | 'silent'): IDBFactory {
  return {
    open() {
      if (behaviour === 'throw') throw new DOMException('The operation is insecure.', 'SecurityError');
      const req = { onblocked: null as Handler, onerror: null as Handler, onsuccess: null as Handler, error: new DOMException('Internal error opening backing store', 'UnknownError') };
      setTimeout(() => {
        if (behaviour === 'blocked') req.onblocked?.call(req as unknown as IDBOpenDBRequest);
        if (behaviour === 'error') req.onerror?.call(req as unknown as IDBOpenDBRequest);
      }, 1);
      return req as unknown as IDBOpenDBRequest;
    },
  } as unknown as IDBFactory;
}

describe('probeIndexedDb', () => {
  it('opens a real database', async () => {
    await expect(probeIndexedDb('probe-ok')).resolves.toBeUndefined();
  });

  it.each([
    ['blocked', /is blocked by another open tab: close other skiff tabs and reload/],
    ['error', /cannot be opened: Internal error opening backing store \(private browsing, or site data disabled\?\)/],
    ['throw', /refused to open "x": The operation is insecure/],
  ] as const)('%s: a STORAGE error that says what to do', async (behaviour, message) => {
    const err = await probeIndexedDb('x', factory(behaviour)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).code).toBe('STORAGE');
    expect((err as SkiffError).message).toMatch(message);
  });

  it('no IndexedDB at all', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')!;
    Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });
    try {
      await expect(probeIndexedDb('x')).rejects.toThrow(/IndexedDB is not available in this browser context \(private browsing, or site data disabled\)/);
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', saved);
    }
  });

  it('a database that never answers times out with advice', async () => {
    vi.useFakeTimers();
    try {
      const p = probeIndexedDb('stuck', factory('silent')).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(10_001);
      expect(((await p) as Error).message).toMatch(/did not open within 10 s: another tab may hold it open/);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('explainStorageError', () => {
  it('rewrites quota errors (also when the quota error is the cause), names the cause when the message is empty', () => {
    const cause = new DOMException('', 'QuotaExceededError');
    const wrapped = new SkiffError('STORAGE', 'IndexedDB: committing sha256:ab: ', { cause });
    const e = explainStorageError(wrapped, { usage: 95e6, quota: 100e6 }) as SkiffError;
    expect(e.code).toBe('STORAGE');
    expect(e.message).toBe("the browser's storage quota for this site is full (95.0 MB of 100.0 MB used): this was not stored; remove images (rmi) or containers (rm) and retry. (IndexedDB: committing sha256:ab: QuotaExceededError)");
  });

  it('leaves other errors alone', () => {
    const other = new SkiffError('NOT_FOUND', 'No such image: x');
    expect(explainStorageError(other)).toBe(other);
  });
});
