/**
 * Bundled images in the browser: vm-images/images/dist/manifest.json and the archives it lists,
 * fetched from the site (or its service-worker cache) and checked against the manifest's sha256
 * before the engine loads them. The Node twin is src/engine/bundled.ts.
 */
import { SkiffError } from '../../errors.ts';
import type { BundledImages } from '../../engine/engine.ts';
import type { BundledEntry } from '../../engine/bundled.ts';
import { sha256Hex } from '../../util/sha256.ts';
import { normalizeReference } from '../../oci/reference.ts';

export const BUNDLED_DIR = 'vm-images/images/dist/';

export interface HttpBundled extends BundledImages {
  /** Every bundled image, in manifest order. */
  entries(): Promise<BundledEntry[]>;
}

export function httpBundled(assetBase: string, fetchFn: typeof fetch = (...a) => fetch(...a)): HttpBundled {
  const base = new URL(BUNDLED_DIR, assetBase);
  let rows: Promise<BundledEntry[]> | undefined;
  const entries = (): Promise<BundledEntry[]> => (rows ??= fetchManifest(base, fetchFn).catch((e) => {
    rows = undefined;
    throw e;
  }));
  return {
    entries,
    async find(ref) {
      const row = (await entries()).find((r) => normalizeReference(r.name) === ref);
      if (!row) return undefined;
      const url = new URL(row.file, base);
      const data = await fetchBytes(url, fetchFn, `bundled image ${row.name}`);
      // crypto.subtle where there is one: off this thread, which the VM's restore shares on a first visit.
      const got = `sha256:${await sha256Hex(data)}`;
      const want = row.sha256.startsWith('sha256:') ? row.sha256 : `sha256:${row.sha256}`;
      if (got !== want) throw new SkiffError('DIGEST_MISMATCH', `bundled image ${row.name}: ${url.href} hashes to ${got}, manifest.json says ${want}`);
      return { name: row.file, data };
    },
  };
}

async function fetchManifest(base: URL, fetchFn: typeof fetch): Promise<BundledEntry[]> {
  const url = new URL('manifest.json', base);
  const text = new TextDecoder().decode(await fetchBytes(url, fetchFn, 'the bundled image list'));
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (e) {
    throw new SkiffError('INVALID_ARGUMENT', `${url.href}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(rows)) throw new SkiffError('INVALID_ARGUMENT', `${url.href}: expected an array of bundled images`);
  return rows as BundledEntry[];
}

async function fetchBytes(url: URL, fetchFn: typeof fetch, what: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new SkiffError('NOT_FOUND', `fetching ${what} from ${url.href}: ${(e as Error).message} (offline before the first visit finished?)`, { cause: e });
  }
  if (!res.ok) throw new SkiffError('NOT_FOUND', `fetching ${what} from ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
