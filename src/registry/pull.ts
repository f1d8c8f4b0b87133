/**
 * `pull`: reference -> manifest (through an index to the platform skiff runs) -> config and layers
 * streamed into the content store, each verified against its digest -> the same checks and the
 * same records as `skiff load` (engine/load verify + commitVerified), so a pulled image is stored
 * exactly as a loaded one. A failed pull takes back the blobs it added: the store is as it was.
 */
import { SkiffError } from '../errors.ts';
import { parseImageConfig, configPlatform } from '../oci/config.ts';
import type { Digest } from '../oci/digest.ts';
import { parseIndex, parseManifest, type ImageManifest } from '../oci/manifest.ts';
import { isIndexType } from '../oci/mediatypes.ts';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '../oci/platform.ts';
import { familiarReference, formatReference, normalizeReference, parseReference, type ImageReference } from '../oci/reference.ts';
import { detectWasiImage } from '../runtime/wasi/image.ts';
import type { EngineContext } from '../engine/context.ts';
import { takeLease } from '../engine/leases.ts';
import { setTag } from '../engine/tags.ts';
import type { ImageRecord } from '../engine/types.ts';
import type { ArchiveFile, ArchiveListing } from '../engine/load/listing.ts';
import type { PlannedImage } from '../engine/load/plan.ts';
import { verifyImages } from '../engine/load/verify.ts';
import { commitVerified } from '../engine/load/loader.ts';
import { overLimit, resolveLimits, type LoadLimits } from '../engine/load/limits.ts';
import { fetchBlob, pool, type BlobProgress } from './blobs.ts';
import { StreamingScan } from './layer-scan.ts';
import { MemoryContentStore } from '../content/memory.ts';
import { scanLayer } from '../engine/tar-io.ts';
import { isTarLayerType, layerCompression } from '../oci/mediatypes.ts';
import type { RegistryClient } from './client.ts';
import { progressEmitter, type PullEvent } from './progress.ts';
export type { PullEvent } from './progress.ts';
import { chooseFromIndex, fetchManifest, RUNNABLE_TEXT, runnablePlatform, type FetchedManifest, type Repo } from './manifests.ts';


export interface PullOptions {
  ctx: EngineContext;
  client: RegistryClient;
  ref: string;
  /** "linux/386", "wasi/wasm"...; default: the first of skiff's runnable platforms the image has. */
  platform?: string | Platform;
  onProgress?: (e: PullEvent) => unknown;
  /** Blobs fetched at once (default 4; Docker's max-concurrent-downloads is 3). */
  concurrency?: number;
  signal?: AbortSignal;
  limits?: Partial<LoadLimits>;
}

export interface PullResult {
  /** The fully qualified reference pulled. */
  ref: string;
  /** What `Digest:` shows: the index's digest when there was one, else the manifest's. */
  digest: Digest;
  image: ImageRecord;
  platform: string;
  /** True when the store had the image already (only the tag moved, if at all). */
  existed: boolean;
}

const shortId = (d: string): string => d.slice(7, 19);

async function resolveManifest(client: RegistryClient, repo: Repo, r: ImageReference, what: string, want: Platform | undefined, signal?: AbortSignal): Promise<{ top: FetchedManifest; manifest: FetchedManifest; fromIndex: boolean }> {
  const top = await fetchManifest(client, repo, r.digest ?? r.tag ?? 'latest', what, signal);
  let cur = top;
  // An index may point at another index (rare); follow a few levels, no more.
  for (let depth = 0; isIndexType(cur.mediaType); depth++) {
    if (depth >= 4) throw new SkiffError('UNSUPPORTED', `${what}: indexes nested more than 4 deep`);
    const index = parseIndex(cur.bytes, `index ${cur.digest}`);
    const entry = chooseFromIndex(index, what, want);
    cur = await fetchManifest(client, repo, entry.digest, `${what} (${entry.platform ? formatPlatform(entry.platform) : entry.digest})`, signal);
    if (cur.digest !== entry.digest) throw new SkiffError('DIGEST_MISMATCH', `${what}: manifest ${entry.digest} hashes to ${cur.digest}`);
  }
  return { top, manifest: cur, fromIndex: cur !== top };
}

export async function pullImage(o: PullOptions): Promise<PullResult> {
  const progress = progressEmitter(o.onProgress);
  try {
    return await pull(o, progress.emit);
  } finally {
    await progress.drain();
  }
}

async function pull(o: PullOptions, emit: (e: PullEvent) => void): Promise<PullResult> {
  const r = parseReference(o.ref);
  const repo: Repo = { domain: r.domain, path: r.path };
  const what = familiarReference(r);
  const full = formatReference(r);
  const want = o.platform === undefined ? undefined : typeof o.platform === 'string' ? parsePlatform(o.platform) : o.platform;
  const { ctx } = o;
  try {
    const { top, manifest: mf, fromIndex } = await resolveManifest(o.client, repo, r, what, want, o.signal);
    const tag = r.tag !== undefined && r.digest === undefined ? normalizeReference(o.ref) : undefined;
    if (r.tag !== undefined && r.digest === undefined) emit({ status: `${r.tag}: Pulling from ${r.path}` });
    const manifest = parseManifest(mf.bytes, `manifest ${mf.digest}`);

    // Already here: only the tag may need to move.
    const have = await ctx.state.get<ImageRecord>('images', mf.digest);
    if (have) {
      const moved = tag ? await ctx.state.transaction(async (tx) => {
        const before = await tx.get<{ digest: string }>('tags', tag);
        await setTag(tx, tag, mf.digest, ctx.now().toISOString());
        return before?.digest !== mf.digest;
      }) : false;
      emit({ status: `Digest: ${top.digest}` });
      emit({ status: `Status: ${moved ? 'Downloaded newer image' : 'Image is up to date'} for ${what}` });
      return { ref: full, digest: top.digest, image: have, platform: have.platform, existed: true };
    }

    // What the manifest claims is checked before a byte is fetched: a registry does not get to
    // fill the disk (each blob is also held to its claimed size while it streams).
    const limits = resolveLimits(o.limits ?? {});
    checkSizes(what, manifest, limits);
    const added: Digest[] = [];
    const release = await takeLease(ctx);
    try {
      const cfgDesc = manifest.config;
      // The config (verified as any blob) is held in memory and stored with the manifest at the
      // end: the layers need not wait for its write.
      let configBytes: Uint8Array;
      if (await ctx.content.has(cfgDesc.digest)) configBytes = await ctx.content.get(cfgDesc.digest);
      else {
        const mem = new MemoryContentStore();
        await fetchBlob({ client: o.client, repo, desc: cfgDesc, store: mem, ...(o.signal ? { signal: o.signal } : {}) });
        configBytes = await mem.get(cfgDesc.digest);
      }
      checkRunnable(what, manifest, configBytes, want, fromIndex);

      for (const l of new Set(manifest.layers.map((x) => x.digest))) emit({ id: shortId(l), status: 'Pulling fs layer' });
      // Layers are checked in order while later ones still download: the check of layer i waits
      // for layer i only. Every layer's arrival is a promise that settles either way.
      const arrived = new Map<Digest, { promise: Promise<void>; resolve(): void; reject(e: unknown): void }>();
      for (const l of manifest.layers) {
        let resolve!: () => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
        promise.catch(() => {});
        arrived.set(l.digest, { promise, resolve, reject });
      }
      // A layer listed twice (it happens) is fetched once.
      const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
      // Each tar layer is scanned as it arrives (layer-scan.ts), within the layer's own budget;
      // verify below holds the result to the image's.
      const scans = new Map<Digest, StreamingScan>();
      for (const l of unique) {
        if (!isTarLayerType(l.mediaType)) continue;
        let compression;
        try { compression = layerCompression(l.mediaType); } catch { continue; } // verify names it
        scans.set(l.digest, new StreamingScan(compression, { maxBytes: limits.maxLayerBytes, maxEntries: limits.maxImageEntries, maxWindowBytes: limits.maxZstdWindowBytes }));
      }
      // Docker fetches 3 at once; one more keeps both cores busy decompressing (measured on the
      // 4-layer bench image: ~8% faster).
      const downloads = pool(unique, o.concurrency ?? 4, async (desc) => {
        const id = shortId(desc.digest);
        try {
          const fresh = await fetchBlob({
            client: o.client, repo, desc, store: ctx.content, ...(o.signal ? { signal: o.signal } : {}),
            ...(scans.has(desc.digest) ? { tee: scans.get(desc.digest)! } : {}),
            onProgress: (p: BlobProgress) => {
              if (p.phase === 'exists') emit({ id, status: 'Already exists' });
              else if (p.phase === 'downloading') emit({ id, status: 'Downloading', current: p.current, total: p.total });
              else if (p.phase === 'verifying') emit({ id, status: 'Verifying Checksum' });
              else emit({ id, status: 'Download complete' });
            },
          });
          if (fresh) added.push(desc.digest);
          arrived.get(desc.digest)!.resolve();
        } catch (err) {
          arrived.get(desc.digest)!.reject(err);
          throw err;
        }
      });
      // A failed download stops the pool: the layers it never started must not be waited for.
      const settled = downloads.then(() => undefined, (err: unknown) => {
        for (const a of arrived.values()) a.reject(err);
        // Scans of layers never fetched would wait for bytes forever, each holding its decoder.
        for (const s of scans.values()) s.abandon();
        return { err };
      });

      // The checks and records of `skiff load`, over an archive-like listing of what was fetched.
      const file = (d: Digest, size: number, bytes?: Uint8Array): ArchiveFile => ({ name: `blobs/sha256/${d.slice(7)}`, digest: d, size, magic: new Uint8Array(0), ...(bytes ? { bytes } : {}) });
      const blobs = new Map<Digest, ArchiveFile>([[cfgDesc.digest, file(cfgDesc.digest, cfgDesc.size, configBytes)]]);
      for (const l of manifest.layers) blobs.set(l.digest, file(l.digest, l.size));
      const listing: ArchiveListing = { archive: what, files: new Map([...blobs.values()].map((f) => [f.name, f])), links: new Map(), entries: 0 };
      const plan: PlannedImage = { manifestDigest: mf.digest, manifestBytes: mf.bytes, manifestMediaType: mf.mediaType, manifest, blobs, tags: tag ? [tag] : [] };
      let verified;
      try {
        verified = await verifyImages(listing, [plan], async (f) => {
          if (f.bytes) return f.bytes;
          await arrived.get(f.digest)?.promise;
          return ctx.content.get(f.digest);
        }, {
          limits,
          onLayer: (_done, _total, d) => emit({ id: shortId(d), status: 'Extracting' }),
          // The scan made while the layer downloaded; a layer the store had (or one whose
          // download started over) is read back from the store, a chunk at a time.
          scan: async (f, compression, budget) => {
            await arrived.get(f.digest)?.promise;
            return (await scans.get(f.digest)?.within(budget)) ?? scanLayer(ctx.content.stream(f.digest), compression, budget);
          },
        });
      } catch (err) {
        // Nothing may still be writing when the blobs are taken back; a download's own error says more.
        const failed = await settled;
        throw failed ? failed.err : err;
      }
      const failed = await settled;
      if (failed) throw failed.err;
      for (const l of new Set(manifest.layers.map((x) => x.digest))) emit({ id: shortId(l), status: 'Pull complete' });
      await commitVerified(ctx, verified, `registry:${full}`, () => {}, added);
      added.length = 0;
      const image = await ctx.state.get<ImageRecord>('images', mf.digest);
      if (!image) throw new SkiffError('CONFLICT', `${what}: the image was removed by another process right after the pull`);
      emit({ status: `Digest: ${top.digest}` });
      emit({ status: `Status: Downloaded newer image for ${what}` });
      return { ref: full, digest: top.digest, image, platform: image.platform, existed: false };
    } catch (err) {
      for (const d of added) await ctx.content.delete(d).catch(() => {});
      throw err;
    } finally {
      await release().catch(() => {});
    }
  } catch (err) {
    throw SkiffError.wrap(err, `pulling ${what}`);
  }
}

/**
 * A single image (no index to choose from) must run here unless the user asked for its platform:
 * an amd64-only image is refused before its layers are fetched, naming what it is.
 */
function checkRunnable(what: string, manifest: ImageManifest, configBytes: Uint8Array, want: Platform | undefined, fromIndex: boolean): void {
  const config = parseImageConfig(configBytes, `image config ${manifest.config.digest}`);
  const p = configPlatform(config);
  if (want) {
    if (!platformMatches(want, p)) throw new SkiffError('NOT_FOUND', `${what}: image is ${formatPlatform(p)}, not the requested ${formatPlatform(want)}`);
    return;
  }
  if (fromIndex) return;
  if (runnablePlatform(p) || detectWasiImage(config, manifest)) return;
  throw new SkiffError('UNSUPPORTED', `${what} offers ${formatPlatform(p)}; skiff runs ${RUNNABLE_TEXT} (choose one with --platform)`);
}

/** Largest image config accepted (configs are JSON held in memory). */
export const MAX_CONFIG_BYTES = 16 << 20;

function checkSizes(what: string, m: ImageManifest, limits: LoadLimits): void {
  if (m.config.size > MAX_CONFIG_BYTES) throw new SkiffError('REGISTRY', `${what}: its config claims ${m.config.size} bytes, more than the ${MAX_CONFIG_BYTES} allowed`);
  let total = 0;
  for (const l of m.layers) {
    // A compressed layer is (within a few bytes) no bigger than what it unpacks to.
    if (l.size > limits.maxLayerBytes) throw overLimit(`${what}: layer ${l.digest}`, 'maxLayerBytes', limits.maxLayerBytes, 'bytes');
    total += l.size;
  }
  if (total > limits.maxImageBytes) throw overLimit(`${what}`, 'maxImageBytes', limits.maxImageBytes, 'bytes');
}
