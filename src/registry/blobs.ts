/**
 * Blobs over the distribution API. A pull streams each blob into a content-store ingestion, which
 * hashes what it is given and refuses at commit anything that does not match the descriptor's
 * digest and size, so nothing unverified becomes visible. A connection that drops mid-blob is
 * resumed where it stopped with a Range request when the registry honours it (206), else started
 * over; a blob the store already has is not fetched.
 */
import { SkiffError } from '../errors.ts';
import type { Ingester, Ingestion, Provider } from '../content/store.ts';
import type { Descriptor } from '../oci/descriptor.ts';
import { repositoryScope } from './challenge.ts';
import type { RegistryClient } from './client.ts';
import { registryError } from './errors.ts';
import type { Repo } from './manifests.ts';
import { backoffMs, DEFAULT_RETRY, isNetworkError, networkReason, sleep, type RetryPolicy } from './retry.ts';

export interface BlobProgress {
  digest: string;
  phase: 'exists' | 'downloading' | 'verifying' | 'done';
  current: number;
  total: number;
}

export interface FetchBlobOptions {
  client: RegistryClient;
  repo: Repo;
  desc: Descriptor;
  store: Ingester & Provider;
  onProgress?: (p: BlobProgress) => void;
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  wait?: (ms: number) => Promise<void>;
}

/** Fetch one blob into the store; false when it was there already. */
export async function fetchBlob(o: FetchBlobOptions): Promise<boolean> {
  const { desc, repo } = o;
  const progress = o.onProgress ?? (() => {});
  if (await o.store.has(desc.digest)) {
    progress({ digest: desc.digest, phase: 'exists', current: desc.size, total: desc.size });
    return false;
  }
  const policy = { ...DEFAULT_RETRY, ...o.retry };
  const wait = o.wait ?? sleep;
  const what = `blob ${desc.digest} of ${repo.domain}/${repo.path}`;
  let ing: Ingestion = o.store.ingest();
  let failures = 0;
  try {
    for (;;) {
      const offset = ing.size;
      const headers: Record<string, string> = {};
      if (offset > 0) headers['range'] = `bytes=${offset}-`;
      const res = await o.client.request({
        domain: repo.domain, scopes: [repositoryScope(repo.path, ['pull'])],
        path: `/v2/${repo.path}/blobs/${desc.digest}`, headers, ...(o.signal ? { signal: o.signal } : {}),
      });
      if (res.status === 206 && offset > 0) {
        const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          // A range other than the one asked for: start over rather than splice wrong bytes.
          await res.body?.cancel().catch(() => {});
          await ing.abort();
          ing = o.store.ingest();
          continue;
        }
      } else if (res.status === 200) {
        if (offset > 0) {
          await ing.abort(); // the registry ignored Range: the whole blob comes again
          ing = o.store.ingest();
        }
      } else {
        throw await registryError(res, what, repo.path);
      }
      try {
        if (!res.body) throw new SkiffError('REGISTRY', `${what}: empty response body`);
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (ing.size + value.byteLength > desc.size) {
            await reader.cancel().catch(() => {});
            throw new SkiffError('DIGEST_MISMATCH', `${what}: the registry sent more than the ${desc.size} bytes its descriptor says`);
          }
          await ing.write(value);
          progress({ digest: desc.digest, phase: 'downloading', current: ing.size, total: desc.size });
        }
      } catch (err) {
        if (!isNetworkError(err) || o.signal?.aborted) throw err;
        if (++failures >= policy.attempts) throw new SkiffError('REGISTRY', `${what}: connection lost ${failures} times, last at byte ${ing.size} of ${desc.size}: ${networkReason(err)}`, { cause: err });
        await wait(backoffMs(policy, failures, null));
        continue; // resume from ing.size
      }
      if (ing.size < desc.size) {
        // The body ended early without an error: treat it like a dropped connection.
        if (++failures >= policy.attempts) throw new SkiffError('REGISTRY', `${what}: the registry sent ${ing.size} of ${desc.size} bytes`);
        await wait(backoffMs(policy, failures, null));
        continue;
      }
      break;
    }
    progress({ digest: desc.digest, phase: 'verifying', current: desc.size, total: desc.size });
    try {
      await ing.commit({ expectedDigest: desc.digest, expectedSize: desc.size });
    } catch (err) {
      throw SkiffError.wrap(err, what);
    }
    progress({ digest: desc.digest, phase: 'done', current: desc.size, total: desc.size });
    return true;
  } catch (err) {
    await ing.abort().catch(() => {});
    throw err;
  }
}

/** Run `tasks` with at most `limit` at once; the first failure stops new ones and is thrown after the running ones settle. */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw failed.err;
}
