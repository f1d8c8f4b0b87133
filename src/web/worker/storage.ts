/**
 * IndexedDB health in words a user can act on: a probe before the engine opens (private mode,
 * storage disabled, a database blocked by another tab), quota errors rewritten, and the usage
 * estimate for `system df`.
 */
import { SkiffError, isSkiffError } from '../../errors.ts';
import type { StorageInfo } from '../rpc/protocol.ts';

const PROBE_TIMEOUT_MS = 10_000;

/** Opens (and closes) a database; throws STORAGE with the reason if IndexedDB cannot be used. */
export function probeIndexedDb(name: string, idb: IDBFactory | undefined = globalThis.indexedDB): Promise<void> {
  if (!idb) return Promise.reject(new SkiffError('STORAGE', 'IndexedDB is not available in this browser context (private browsing, or site data disabled): images cannot be stored'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new SkiffError('STORAGE',
      `IndexedDB database "${name}" did not open within ${PROBE_TIMEOUT_MS / 1000} s: another tab may hold it open during an upgrade; close other skiff tabs and reload`)), PROBE_TIMEOUT_MS);
    let req: IDBOpenDBRequest;
    try {
      req = idb.open(name);
    } catch (e) {
      clearTimeout(timer);
      reject(new SkiffError('STORAGE', `IndexedDB refused to open "${name}": ${(e as Error).message}`, { cause: e }));
      return;
    }
    req.onblocked = () => {
      clearTimeout(timer);
      reject(new SkiffError('STORAGE', `IndexedDB database "${name}" is blocked by another open tab: close other skiff tabs and reload`));
    };
    req.onerror = () => {
      clearTimeout(timer);
      reject(new SkiffError('STORAGE', `IndexedDB database "${name}" cannot be opened: ${req.error?.message ?? 'unknown error'} (private browsing, or site data disabled?)`));
    };
    req.onsuccess = () => {
      clearTimeout(timer);
      req.result.close();
      resolve();
    };
  });
}

function isQuota(err: unknown): boolean {
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? ''}`;
  let cause: unknown = (err as { cause?: unknown })?.cause;
  let more = '';
  for (let i = 0; cause && i < 5; i++) {
    more += ` ${(cause as Error).name ?? ''} ${(cause as Error).message ?? ''}`;
    cause = (cause as { cause?: unknown }).cause;
  }
  return /quota/i.test(text + more);
}

/** Quota errors become one clear STORAGE error; everything else passes through unchanged. */
export function explainStorageError(err: unknown, info?: StorageInfo): unknown {
  if (!isQuota(err)) return err;
  // The estimate is only worth showing when it explains the failure (it can lag or be overridden).
  const used = info?.usage !== undefined && info.quota ? info.usage / info.quota > 0.8 ? ` (${mb(info.usage)} of ${mb(info.quota)} used)` : '' : '';
  let what = isSkiffError(err) ? err.message : (err as Error)?.message ?? String(err);
  const cause = (err as { cause?: Error }).cause;
  if (/:\s*$/.test(what) && cause?.name) what = `${what.trimEnd()} ${cause.name}`;
  return new SkiffError('STORAGE', `the browser's storage quota for this site is full${used}: this was not stored; remove images (rmi) or containers (rm) and retry. (${what})`, { cause: err });
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

export async function storageInfo(): Promise<StorageInfo> {
  const s = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!s?.estimate) return {};
  const [est, persisted] = await Promise.all([s.estimate(), s.persisted?.().catch(() => undefined)]);
  return {
    ...(est.usage !== undefined ? { usage: est.usage } : {}),
    ...(est.quota !== undefined ? { quota: est.quota } : {}),
    ...(persisted !== undefined ? { persisted } : {}),
  };
}
