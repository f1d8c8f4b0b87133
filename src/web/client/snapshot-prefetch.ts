/**
 * A first visit's VM snapshot, fetched by the page as soon as an element that runs a bundled Linux
 * image connects. The engine worker would ask for it only once its script loaded, its stores
 * opened and the VM's code arrived (~0.3-0.5 s later on a first visit, while the same visit also
 * downloads the image and the emulator); the 6.4 MB state is the longest download on the path to
 * the first output. The worker takes the bytes (the client transfers them in an early message,
 * worker/early-vm.ts, so that a restore the worker's entry started gets them) instead of
 * fetching them again. Nothing is fetched when IndexedDB already holds a snapshot (a reload), when
 * the image is not a bundled Linux one, or when the site ships none (404: the worker boots cold).
 */
import { createStore, keys } from 'idb-keyval';
import { normalizeReference } from '../../oci/reference.ts';
import { SHIPPED_SNAPSHOT_DIR, shippedSnapshotFile } from '../../runtime/vm/snapshot-http.ts';
import { defaultSnapshotKey } from '../../runtime/vm/snapshot-store.ts';
import type { EngineApi } from '../rpc/protocol.ts';

export type PrefetchOutcome = 'not-linux' | 'stored' | 'fetched' | 'failed' | 'busy';

/** One download per page, whichever element asks first. */
let started = false;
/** What the decision reads, once per page whatever the number of elements (by URL / database). */
const once = new Map<string, Promise<unknown>>();
const memo = <T>(key: string, make: () => Promise<T>): Promise<T> => {
  let p = once.get(key) as Promise<T> | undefined;
  if (!p) once.set(key, (p = make()));
  return p;
};

export async function prefetchShippedSnapshot(
  api: Pick<EngineApi, 'snapshotFetching' | 'snapshotFetched'>,
  o: {
    assetBase: string; dbPrefix: string; image: string; fetch?: typeof fetch;
    /** Told as soon as the image is known to be a bundled Linux one, with the guest's manifest (null: unreadable). */
    onLinux?: (vmManifest: string | null) => void;
  },
): Promise<PrefetchOutcome> {
  if (started) return 'busy';
  const get = o.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const vmDir = new URL('vm-images/dist/', o.assetBase);
  const [stored, linux, manifest] = await Promise.all([
    // The worker's snapshot store (snapshot-idb.ts): any entry means it was stored before.
    memo(`idb ${o.dbPrefix}`, () => keys(createStore(`${o.dbPrefix}-vm`, 'snapshots')).then((k) => k.length > 0, () => true)),
    bundledLinux(o.assetBase, o.image, get),
    memo(new URL('manifest.json', vmDir).href, () => get(new URL('manifest.json', vmDir)).then((r) => (r.ok ? r.text() : null), () => null)),
  ]);
  if (!linux) return 'not-linux';
  o.onLinux?.(manifest);
  if (stored) return 'stored';
  if (!manifest) return 'failed';
  if (started) return 'busy';
  started = true;
  let key: string;
  try {
    key = defaultSnapshotKey(manifest, JSON.parse(manifest) as { v86: string; memoryMiB?: number });
  } catch {
    return 'failed'; // a manifest the worker will reject with a clear error itself
  }
  await api.snapshotFetching(key);
  let state: ArrayBuffer | null = null;
  try {
    const res = await get(new URL(shippedSnapshotFile(key), new URL(SHIPPED_SNAPSHOT_DIR, vmDir)));
    if (res.ok) state = await res.arrayBuffer();
  } catch {
    // offline or refused: the worker tries itself
  }
  await api.snapshotFetched(key, state);
  return state ? 'fetched' : 'failed';
}

/** Whether the site's bundled images list `image` as a Linux one (vm-images/images/dist/manifest.json). */
async function bundledLinux(assetBase: string, image: string, get: typeof fetch): Promise<boolean> {
  const url = new URL('vm-images/images/dist/manifest.json', assetBase).href;
  const rows = await memo(url, async () => {
    try {
      const res = await get(url);
      return res.ok ? (await res.json()) as { name: string; platform?: { os?: string } }[] : [];
    } catch {
      return [];
    }
  });
  let want: string;
  try {
    want = normalizeReference(image);
  } catch {
    return false; // a bad reference: the run reports it
  }
  return rows.some((r) => r.platform?.os === 'linux' && normalizeReference(r.name) === want);
}
