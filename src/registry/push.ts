/**
 * `push`: every blob of a local image the registry lacks goes up (HEAD first; a blob the registry
 * holds in another repository is mounted with `?mount=&from=`; small blobs in one PUT, big ones in
 * PATCH chunks), then the manifest with its exact stored bytes and media type, so the digest the
 * registry computes is the one skiff has.
 */
import { SkiffError } from '../errors.ts';
import type { Descriptor } from '../oci/descriptor.ts';
import type { Digest } from '../oci/digest.ts';
import { isNondistributable } from '../oci/mediatypes.ts';
import { familiarReference, formatReference, parseReference } from '../oci/reference.ts';
import type { EngineContext } from '../engine/context.ts';
import { findImage, noSuchImage } from '../engine/resolve.ts';
import type { ImageRecord } from '../engine/types.ts';
import { repositoryScope, type Scope } from './challenge.ts';
import type { RegistryClient } from './client.ts';
import { progressEmitter } from './progress.ts';
import { registryError } from './errors.ts';
import type { Repo } from './manifests.ts';
import { pool } from './blobs.ts';
import type { PullEvent } from './pull.ts';

export interface PushOptions {
  ctx: EngineContext;
  client: RegistryClient;
  /** The local image's reference; also where it goes ("localhost:5000/app:1"). */
  ref: string;
  onProgress?: (e: PullEvent) => unknown;
  concurrency?: number;
  /** Blobs up to this size go in one PUT; bigger ones in PATCH chunks of `chunkSize` (default 8 MiB each). */
  monolithicMax?: number;
  chunkSize?: number;
  /** Repositories on the same registry to mount blobs from (besides the one the image was pulled from). */
  mountFrom?: string[];
  signal?: AbortSignal;
}

export interface PushResult {
  ref: string;
  tag: string;
  digest: Digest;
  size: number;
  /** Per blob: what happened to it. */
  blobs: Array<{ digest: Digest; how: 'exists' | 'mounted' | 'uploaded' }>;
}

const DEFAULT_MONOLITHIC_MAX = 16 << 20;
const DEFAULT_CHUNK = 8 << 20;

export async function pushImage(o: PushOptions): Promise<PushResult> {
  const progress = progressEmitter(o.onProgress);
  try {
    return await push(o, progress.emit);
  } finally {
    await progress.drain();
  }
}

async function push(o: PushOptions, emit: (e: PullEvent) => void): Promise<PushResult> {
  const r = parseReference(o.ref);
  if (r.digest) throw new SkiffError('INVALID_ARGUMENT', `push ${o.ref}: push a tag, not a digest`);
  const tag = r.tag ?? 'latest';
  const repo: Repo = { domain: r.domain, path: r.path };
  const what = familiarReference(r);
  const found = await findImage(o.ctx.state, o.ref);
  if (!found) throw noSuchImage(o.ref);
  const image = found.image;
  try {
    emit({ status: `The push refers to repository [${r.domain}/${r.path}]` });
    const from = mountSources(image, repo, o.mountFrom);
    // Foreign (nondistributable) layers stay where their URLs say, as Docker leaves them; a layer
    // listed twice goes up once.
    const layers = [...new Map(image.layers.filter((l) => !isNondistributable(l.mediaType)).map((l) => [l.digest, l])).values()];
    const descs: Descriptor[] = [...layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })), { ...image.config }];
    const blobs: PushResult['blobs'] = [];
    for (const d of layers) emit({ id: d.digest.slice(7, 19), status: 'Preparing' });
    // Docker's max-concurrent-uploads is 5.
    // Progress lines are the layers' only: Docker pushes the config blob without a line of its own.
    const isLayer = new Set(layers.map((l) => l.digest));
    await pool(descs, o.concurrency ?? 5, async (d) => {
      const how = await pushBlob(o, repo, d, from, (e) => { if (isLayer.has(d.digest)) emit({ id: d.digest.slice(7, 19), ...e }); });
      blobs.push({ digest: d.digest, how });
    });
    const bytes = await o.ctx.content.get(image.digest);
    const res = await o.client.request({
      domain: repo.domain, scopes: [repositoryScope(repo.path, ['pull', 'push'])], method: 'PUT',
      path: `/v2/${repo.path}/manifests/${tag}`, headers: { 'content-type': image.mediaType }, body: bytes,
    });
    if (res.status !== 201 && res.status !== 200) throw await registryError(res, `putting manifest ${image.digest}`, repo.path);
    await res.body?.cancel().catch(() => {});
    const said = res.headers.get('docker-content-digest');
    if (said && said !== image.digest) {
      throw new SkiffError('DIGEST_MISMATCH', `the registry stored manifest ${image.digest} as ${said}`);
    }
    emit({ status: `${tag}: digest: ${image.digest} size: ${bytes.byteLength}` });
    return { ref: formatReference({ ...repo, tag }), tag, digest: image.digest, size: bytes.byteLength, blobs };
  } catch (err) {
    throw SkiffError.wrap(err, `pushing ${what}`);
  }
}

/** Repositories on the same registry that may already hold the image's blobs. */
function mountSources(image: ImageRecord, repo: Repo, extra: string[] = []): string[] {
  const out = new Set<string>(extra);
  const m = /^registry:(.+)$/.exec(image.source ?? '');
  if (m) {
    try {
      const src = parseReference(m[1]!);
      if (src.domain === repo.domain && src.path !== repo.path) out.add(src.path);
    } catch { /* not a reference: nothing to mount from */ }
  }
  out.delete(repo.path);
  return [...out];
}

async function pushBlob(o: PushOptions, repo: Repo, d: Descriptor, from: string[], emit: (e: Omit<PullEvent, 'id'>) => void): Promise<'exists' | 'mounted' | 'uploaded'> {
  const { client } = o;
  const push = repositoryScope(repo.path, ['pull', 'push']);
  const head = await client.request({ domain: repo.domain, scopes: [push], method: 'HEAD', path: `/v2/${repo.path}/blobs/${d.digest}` });
  await head.body?.cancel().catch(() => {});
  if (head.status === 200) {
    emit({ status: 'Layer already exists' });
    return 'exists';
  }
  if (head.status !== 404) throw await registryError(head, `checking blob ${d.digest}`, repo.path);
  let location: string | undefined;
  for (const src of from) {
    const scopes: Scope[] = [push, repositoryScope(src, ['pull'])];
    const res = await client.request({
      domain: repo.domain, scopes, method: 'POST',
      path: `/v2/${repo.path}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(src)}`,
    });
    await res.body?.cancel().catch(() => {});
    if (res.status === 201) {
      emit({ status: `Mounted from ${src}` });
      return 'mounted';
    }
    // 202: the registry could not mount and opened an ordinary upload instead.
    if (res.status === 202) { location = res.headers.get('location') ?? undefined; break; }
  }
  const base = (await client.endpoint(repo.domain)).base;
  if (!location) {
    const res = await client.request({ domain: repo.domain, scopes: [push], method: 'POST', path: `/v2/${repo.path}/blobs/uploads/` });
    if (res.status !== 202) throw await registryError(res, `starting the upload of ${d.digest}`, repo.path);
    await res.body?.cancel().catch(() => {});
    location = res.headers.get('location') ?? undefined;
  }
  if (!location) throw new SkiffError('REGISTRY', `uploading ${d.digest}: the registry gave no upload Location`);
  let url = new URL(location, `${base}/`);
  const monolithicMax = o.monolithicMax ?? DEFAULT_MONOLITHIC_MAX;
  let body: Uint8Array | (() => AsyncIterable<Uint8Array>) | undefined;
  if (d.size <= monolithicMax) {
    body = await o.ctx.content.get(d.digest);
    emit({ status: 'Pushing', current: 0, total: d.size });
  } else if (client.streamBodies && o.chunkSize === undefined) {
    // One streamed PUT, read from the store as it goes: memory stays at a chunk.
    const store = o.ctx.content;
    body = async function* () {
      let sent = 0;
      for await (const c of store.stream(d.digest, { chunkSize: 1 << 20 })) {
        yield c;
        sent += c.byteLength;
        emit({ status: 'Pushing', current: sent, total: d.size });
      }
    };
  } else {
    // Chunked: each PATCH carries the next range; the registry answers with the next Location.
    let offset = 0;
    for await (const chunk of o.ctx.content.stream(d.digest, { chunkSize: o.chunkSize ?? DEFAULT_CHUNK })) {
      const res = await client.request({
        domain: repo.domain, scopes: [push], method: 'PATCH', path: url.href, body: chunk,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.byteLength - 1}` },
      });
      if (res.status !== 202) throw await registryError(res, `uploading ${d.digest} (bytes ${offset}-${offset + chunk.byteLength - 1})`, repo.path);
      await res.body?.cancel().catch(() => {});
      offset += chunk.byteLength;
      const next = res.headers.get('location');
      if (next) url = new URL(next, `${base}/`);
      emit({ status: 'Pushing', current: offset, total: d.size });
    }
  }
  url.searchParams.set('digest', d.digest);
  const res = await client.request({
    domain: repo.domain, scopes: [push], method: 'PUT', path: url.href,
    headers: { 'content-type': 'application/octet-stream' },
    ...(body ? { body } : {}),
  });
  if (res.status !== 201) throw await registryError(res, `finishing the upload of ${d.digest}`, repo.path);
  await res.body?.cancel().catch(() => {});
  emit({ status: 'Pushed' });
  return 'uploaded';
}
