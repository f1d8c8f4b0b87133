/**
 * `loadArchive`: one pass over the archive builds its listing; then plan, verify, and only then
 * store. Blobs go into the content store after every check passed, and the image records and tags
 * land in one state transaction, so a failed load leaves no tag and no image behind.
 */
import { SkiffError } from '../../errors.ts';
import { putBlob } from '../../content/store.ts';
import { sha256Digest, type Digest } from '../../oci/digest.ts';
import type { Platform } from '../../oci/platform.ts';
import type { TarEntry } from '../../archive/types.ts';
import { decompressStream, detectCompression } from '../../archive/index.ts';
import type { EngineContext } from '../context.ts';
import { takeLease } from '../leases.ts';
import { collectBlobs } from '../images.ts';
import { setTag } from '../tags.ts';
import { parseTar, parseTarStream } from '../tar-io.ts';
import type { ImageRecord } from '../types.ts';
import { invalidArchive, normalizeArchivePath, type ArchiveFile, type ArchiveListing } from './listing.ts';
import { planArchive } from './plan.ts';
import { verifyImages, type BytesOf, type VerifiedImage } from './verify.ts';

export interface LoadProgress {
  phase: 'reading' | 'verifying' | 'storing' | 'done';
  /** Archive bytes read so far (reading), layers checked (verifying), blobs stored (storing). */
  done: number;
  total?: number;
}

export interface LoadArchiveOptions {
  /** The whole archive in memory ... */
  data?: Uint8Array;
  /** ... or a stream of it. */
  stream?: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
  /** Names the archive in messages (a file name); default "archive". */
  name?: string;
  /** Total archive bytes, for progress over a stream. */
  size?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Recorded as each image's source. */
  source?: string;
  /** Preferred platforms when an OCI index lists several. */
  platforms?: readonly Platform[];
  /** Largest uncompressed layer accepted (decompression bomb guard); default 2 GiB. */
  maxLayerBytes?: number;
  /** Largest archive after decompression (when the archive itself is compressed); default 32 GiB. */
  maxArchiveBytes?: number;
}

export const DEFAULT_MAX_ARCHIVE_BYTES = 32 * 2 ** 30;

export interface LoadedImage {
  digest: Digest;
  id: Digest;
  tags: string[];
  /** True when the store already had this image. */
  existed: boolean;
}

export interface LoadResult {
  images: LoadedImage[];
}

async function* chunksOf(s: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
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

async function* counted(chunks: AsyncIterable<Uint8Array>, on: (n: number) => void): AsyncIterable<Uint8Array> {
  let n = 0;
  for await (const c of chunks) {
    n += c.byteLength;
    on(n);
    yield c;
  }
}

/** Files bigger than this go to the content store as they stream by, instead of staying in memory. */
export const KEEP_IN_MEMORY_MAX = 1 << 20;

/**
 * One pass over the archive: hash every file; keep small ones (JSON documents) in memory and put
 * big ones (layers) into the content store at once, recording in `added` what was not there yet
 * so a failed load can take it back out. Memory stays at one entry, not the archive.
 */
export async function readListing(ctx: EngineContext | null, archive: string, entries: AsyncIterable<TarEntry> | Iterable<TarEntry>, added: Digest[]): Promise<ArchiveListing> {
  const listing: ArchiveListing = { archive, files: new Map(), links: new Map() };
  for await (const e of entries) {
    const name = normalizeArchivePath(archive, e.header.name);
    if (name === '') continue;
    if (listing.files.has(name) || listing.links.has(name)) throw invalidArchive(archive, e.header.name, 'duplicate entry in the archive');
    switch (e.header.type) {
      case 'directory':
        break;
      case 'symlink':
      case 'hardlink':
        listing.links.set(name, { type: e.header.type, target: e.header.linkname });
        break;
      case 'file': {
        const digest = sha256Digest(e.data);
        const file: ArchiveFile = { name, digest, size: e.data.byteLength, magic: e.data.slice(0, 512) };
        // Streamed entries may be views of a large read chunk: copy the small ones we keep.
        if (!ctx) file.bytes = e.data;
        else if (e.data.byteLength <= KEEP_IN_MEMORY_MAX) file.bytes = e.data.slice();
        else if (!(await ctx.content.has(digest))) {
          await putBlob(ctx.content, e.data, { expectedDigest: digest, expectedSize: e.data.byteLength });
          added.push(digest);
        }
        listing.files.set(name, file);
        break;
      }
      default:
        throw invalidArchive(archive, e.header.name, `unexpected ${e.header.type} entry in an image archive`);
    }
  }
  return listing;
}

export async function loadArchive(ctx: EngineContext, opts: LoadArchiveOptions): Promise<LoadResult> {
  const archive = opts.name ?? 'archive';
  const progress = opts.onProgress ?? (() => {});
  const added: Digest[] = [];
  if (!opts.data && !opts.stream) throw new SkiffError('INVALID_ARGUMENT', 'loadArchive needs `data` or `stream`');
  // Like docker load, a gzip- or zstd-compressed archive is fine too; a plain one given whole is
  // parsed in place, anything else streams and stages its big blobs in the store, under a lease
  // so that a prune elsewhere leaves them be.
  const inMemory = opts.data !== undefined && detectCompression(opts.data.subarray(0, 4)) === 'none';
  const release = inMemory ? async () => {} : await takeLease(ctx);
  try {
    let listing: ArchiveListing;
    try {
      let entries: AsyncIterable<TarEntry> | Iterable<TarEntry>;
      const max = opts.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE_BYTES;
      if (inMemory) {
        progress({ phase: 'reading', done: opts.data!.byteLength, total: opts.data!.byteLength });
        entries = parseTar(opts.data!);
      } else {
        const raw = opts.data ? [opts.data] : counted(chunksOf(opts.stream!), (n) => progress({ phase: 'reading', done: n, ...(opts.size ? { total: opts.size } : {}) }));
        entries = parseTarStream(decompressStream(raw, { compression: 'auto', maxOutputBytes: max, what: archive }));
      }
      // Bytes given whole are already in memory: no need to stage them in the store.
      listing = await readListing(inMemory ? null : ctx, archive, entries, added);
    } catch (err) {
      if (err instanceof SkiffError && err.message.startsWith(`loading ${archive}`)) throw err;
      const sys = err as NodeJS.ErrnoException;
      if (typeof sys?.syscall === 'string') {
        throw new SkiffError(sys.code === 'ENOENT' ? 'NOT_FOUND' : 'STORAGE', `loading ${archive}: ${sys.message}`, { cause: err });
      }
      const e = SkiffError.wrap(err, `loading ${archive}: reading the archive`);
      throw e.code === 'INTERNAL' || e.code === 'INVALID_ARGUMENT' ? new SkiffError('INVALID_ARCHIVE', e.message, { cause: err }) : e;
    }
    let plans;
    try {
      plans = planArchive(listing, opts.platforms ? { platforms: opts.platforms } : {});
    } catch (err) {
      if (err instanceof SkiffError && err.message.startsWith(`loading ${archive}`)) throw err;
      throw SkiffError.wrap(err, `loading ${archive}`);
    }
    if (plans.length === 0) throw invalidArchive(archive, undefined, 'holds no image');
    const bytesOf: BytesOf = async (f) => f.bytes ?? ctx.content.get(f.digest);
    const verified = await verifyImages(listing, plans, bytesOf, {
      onLayer: (done, total) => progress({ phase: 'verifying', done, total }),
      ...(opts.maxLayerBytes !== undefined ? { maxLayerBytes: opts.maxLayerBytes } : {}),
    });
    const result = await commit(ctx, verified, opts.source ?? archive, progress, added);
    added.length = 0; // committed: the images own these blobs now
    progress({ phase: 'done', done: 1, total: 1 });
    return result;
  } catch (err) {
    for (const d of added) await ctx.content.delete(d).catch(() => {});
    if (err instanceof SkiffError) throw err;
    throw SkiffError.wrap(err, `loading ${archive}`);
  } finally {
    await release().catch(() => {});
  }
}

async function commit(ctx: EngineContext, verified: VerifiedImage[], source: string, progress: (p: LoadProgress) => void, added: Digest[]): Promise<LoadResult> {
  // What is still only in memory; big files were stored while reading.
  const blobs = new Map<Digest, Uint8Array | undefined>();
  for (const v of verified) {
    blobs.set(v.plan.manifestDigest, v.plan.manifestBytes);
    for (const [d, f] of v.plan.blobs) blobs.set(d, f.bytes);
  }
  const ensure = async (digest: Digest, bytes: Uint8Array | undefined): Promise<void> => {
    if (await ctx.content.has(digest)) return;
    if (!bytes) throw new SkiffError('CONFLICT', `blob ${digest} was removed from the store by another process while loading; load again`);
    await putBlob(ctx.content, bytes, { expectedDigest: digest, expectedSize: bytes.byteLength });
    added.push(digest);
  };
  let i = 0;
  for (const [digest, bytes] of blobs) {
    progress({ phase: 'storing', done: i++, total: blobs.size });
    await ensure(digest, bytes);
  }
  try {
    return await ctx.state.transaction(async (tx) => {
      // A concurrent prune may have collected a blob we found present: store it again.
      for (const [digest, bytes] of blobs) await ensure(digest, bytes);
      const now = ctx.now().toISOString();
      const images: LoadedImage[] = [];
      let all: ImageRecord[] | undefined;
      for (const v of verified) {
        let existing = await tx.get<ImageRecord>('images', v.plan.manifestDigest);
        if (!existing && v.plan.synthesized) {
          // docker save | load of an image we hold under its own manifest: keep that one (Docker's
          // identity is the config digest), so the manifest digest survives the round trip.
          all ??= await tx.list<ImageRecord>('images');
          existing = all.find((i) => i.id === v.plan.manifest.config.digest && i.layers.length === v.layers.length && i.layers.every((l, j) => l.diffId === v.layers[j]!.diffId));
        }
        const record: ImageRecord = existing ?? {
          digest: v.plan.manifestDigest,
          id: v.plan.manifest.config.digest,
          mediaType: v.plan.manifestMediaType,
          manifestSize: v.plan.manifestBytes.byteLength,
          config: { digest: v.plan.manifest.config.digest, size: v.plan.manifest.config.size, mediaType: v.plan.manifest.config.mediaType },
          layers: v.layers,
          chainId: v.chainId,
          platform: v.platform,
          ...(v.config.created ? { created: v.config.created } : {}),
          size: v.size,
          loadedAt: now,
          source,
        };
        if (!existing) await tx.put('images', record.digest, record);
        images.push({ digest: record.digest, id: record.id, tags: v.plan.tags, existed: existing !== undefined });
      }
      for (const img of images) for (const t of img.tags) await setTag(tx, t, img.digest, now);
      // Blobs this load added that no image ended up using (an equivalent image was kept).
      await collectBlobs(ctx, tx, added);
      return { images };
    });
  } catch (err) {
    throw SkiffError.wrap(err, `loading ${source}: storing the images`);
  }
}
