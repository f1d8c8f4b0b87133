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
  /** Also given the blob's bytes in order as they are stored (a layer's scan: layer-scan.ts). */
  tee?: BlobTee;
}

export interface BlobTee {
  write(chunk: Uint8Array): Promise<void>;
  /** Every byte was given. */
  end(): void;
  /** The download started over: what was given is not the blob. */
  abandon(): void;
}

/**
 * Bytes gathered before a write to the store: fetch hands over 16-64 KiB pieces, and a write per
 * piece (a round trip to the file system's threads each) was the pull's largest cost.
 */
const WRITE_BYTES = 1 << 20;

/** Fetch one blob into the store; false when it was there already. */
export async function fetchBlob(o: FetchBlobOptions): Promise<boolean> {
  const { desc, repo } = o;
  const progress = o.onProgress ?? (() => {});
  if (await o.store.has(desc.digest)) {
    o.tee?.abandon(); // nothing to scan as it comes: the caller reads the stored blob
    progress({ digest: desc.digest, phase: 'exists', current: desc.size, total: desc.size });
    return false;
  }
  const policy = { ...DEFAULT_RETRY, ...o.retry };
  const wait = o.wait ?? sleep;
  const what = `blob ${desc.digest} of ${repo.domain}/${repo.path}`;
  let ing: Ingestion = o.store.ingest();
  let failures = 0;
  // Received, not yet written: always the bytes right after ing.size.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const chunk = pending.length === 1 ? pending[0]! : concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await (o.tee ? Promise.all([ing.write(chunk), o.tee.write(chunk)]) : ing.write(chunk));
    progress({ digest: desc.digest, phase: 'downloading', current: ing.size, total: desc.size });
  };
  const restart = async (): Promise<void> => {
    await ing.abort();
    ing = o.store.ingest();
    o.tee?.abandon();
  };
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
          await restart();
          continue;
        }
      } else if (res.status === 200) {
        if (offset > 0) await restart(); // the registry ignored Range: the whole blob comes again
      } else {
        throw await registryError(res, what, repo.path);
      }
      try {
        if (!res.body) throw new SkiffError('REGISTRY', `${what}: empty response body`);
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (ing.size + pendingBytes + value.byteLength > desc.size) {
            await reader.cancel().catch(() => {});
            throw new SkiffError('DIGEST_MISMATCH', `${what}: the registry sent more than the ${desc.size} bytes its descriptor says`);
          }
          pending.push(value);
          pendingBytes += value.byteLength;
          if (pendingBytes >= WRITE_BYTES) await flush();
        }
        await flush();
      } catch (err) {
        if (!isNetworkError(err) || o.signal?.aborted) throw err;
        await flush(); // what arrived before the cut is good: resume after it
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
    o.tee?.end();
    progress({ digest: desc.digest, phase: 'verifying', current: desc.size, total: desc.size });
    try {
      await ing.commit({ expectedDigest: desc.digest, expectedSize: desc.size });
    } catch (err) {
      throw SkiffError.wrap(err, what);
    }
    progress({ digest: desc.digest, phase: 'done', current: desc.size, total: desc.size });
    return true;
  } catch (err) {
    o.tee?.abandon();
    await ing.abort().catch(() => {});
    throw err;
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.byteLength; }
  return out;
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
