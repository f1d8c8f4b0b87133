/**
 * `loadArchive`: one pass over the archive builds its listing; then plan, verify, and only then
 * store. Blobs go into the content store after every check passed, and the image records and tags
 * land in one state transaction, so a failed load leaves no tag and no image behind.
 */
import { SkiffError } from '../../errors.ts';
import { putBlob, type Ingestion } from '../../content/store.ts';
import { createHasher, type Digest, type Hasher } from '../../oci/digest.ts';
import type { Platform } from '../../oci/platform.ts';
import { decompressStream, detectCompression, readTarEvents, TarParser, type TarEvent } from '../../archive/index.ts';
import { concatBytes } from '../../util/bytes.ts';
import { chunksOf } from '../../util/streams.ts';
import type { EngineContext } from '../context.ts';
import { takeLease } from '../leases.ts';
import { collectBlobs } from '../images.ts';
import { setTag } from '../tags.ts';
import type { ImageRecord } from '../types.ts';
import { invalidArchive, normalizeArchivePath, type ArchiveFile, type ArchiveListing } from './listing.ts';
import { planArchive } from './plan.ts';
import { verifyImages, type BytesOf, type VerifiedImage } from './verify.ts';
import { overLimit, resolveLimits, type LoadLimits } from './limits.ts';

export interface LoadProgress {
  phase: 'reading' | 'verifying' | 'storing' | 'done';
  /** Archive bytes read so far (reading), layers checked (verifying), blobs stored (storing). */
  done: number;
  total?: number;
}

/** Also every decompression bomb guard of limits.ts (maxImageBytes ...), DEFAULT_LOAD_LIMITS if not given. */
export interface LoadArchiveOptions extends Partial<LoadLimits> {
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
}


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
 * Most bytes of small files kept in memory in all. Past it, small files go to the store too,
 * except JSON documents (the planner reads those), which fail the load instead: thousands of
 * 1 MiB files compress to almost nothing and must not pile up in memory.
 */
export const KEPT_IN_MEMORY_TOTAL = 64 << 20;

/**
 * One pass over the archive: hash every file as its body streams by; keep small ones (JSON
 * documents) in memory and write big ones (layers) into the content store as they come,
 * recording in `added` what was not there yet so a failed load can take it back out. Memory
 * stays at one read chunk plus the small files, whatever the entries' sizes.
 * Without a store (`ctx` null: the archive is in memory already), bodies are kept as views.
 */
export async function readListing(ctx: EngineContext | null, archive: string, events: AsyncIterable<TarEvent> | Iterable<TarEvent>, added: Digest[], maxEntries = Infinity): Promise<ArchiveListing> {
  const listing: ArchiveListing = { archive, files: new Map(), links: new Map(), entries: 0 };
  // The file whose body is streaming by.
  let cur: { name: string; hasher: Hasher; head: Uint8Array[]; parts: Uint8Array[] | null; ingest: Ingestion | null } | null = null;
  let kept = 0;
  try {
    for await (const ev of events) {
      if (ev.kind === 'data') {
        if (!cur) continue;
        // The first bytes, for sniffing the compression (copied: the view's chunk is transient).
        if (cur.hasher.size < 512) cur.head.push(ev.data.slice(0, 512 - cur.hasher.size));
        cur.hasher.update(ev.data);
        if (cur.parts) {
          cur.parts.push(ev.data);
          // Too big to keep in memory: from here on it goes to the store.
          if (ctx && (cur.hasher.size > KEEP_IN_MEMORY_MAX || (kept + cur.hasher.size > KEPT_IN_MEMORY_TOTAL && !looksLikeJson(cur.head[0]!)))) {
            cur.ingest = ctx.content.ingest();
            for (const p of cur.parts) await cur.ingest.write(p);
            cur.parts = null;
          }
        } else await cur.ingest!.write(ev.data);
        continue;
      }
      if (ev.kind === 'end') {
        if (!cur) continue;
        const { name, hasher, head, parts, ingest } = cur;
        cur = null;
        const size = hasher.size;
        const digest = hasher.digest();
        const file: ArchiveFile = { name, digest, size, magic: concatBytes(head) };
        // Streamed pieces may be views of a large read chunk: copy the small files we keep.
        if (parts) {
          if (ctx && (kept += size) > KEPT_IN_MEMORY_TOTAL) throw invalidArchive(archive, name, `more than ${KEPT_IN_MEMORY_TOTAL} bytes of JSON documents in the archive`);
          file.bytes = !ctx ? joinPieces(parts, size) : parts.length === 1 ? parts[0]!.slice() : concatBytes(parts, size);
        }
        else if (await ctx!.content.has(digest)) await ingest!.abort();
        else {
          await ingest!.commit({ expectedDigest: digest, expectedSize: size });
          added.push(digest);
        }
        listing.files.set(name, file);
        continue;
      }
      const h = ev.header;
      if (++listing.entries > maxEntries) throw overLimit(archive, 'maxLoadEntries', maxEntries, 'entries');
      const name = normalizeArchivePath(archive, h.name);
      if (name === '') continue;
      if (listing.files.has(name) || listing.links.has(name)) throw invalidArchive(archive, h.name, 'duplicate entry in the archive');
      switch (h.type) {
        case 'directory':
          break;
        case 'symlink':
        case 'hardlink':
          listing.links.set(name, { type: h.type, target: h.linkname });
          break;
        case 'file':
          cur = { name, hasher: createHasher(), head: [], parts: [], ingest: null };
          break;
        default:
          throw invalidArchive(archive, h.name, `unexpected ${h.type} entry in an image archive`);
      }
    }
  } finally {
    await cur?.ingest?.abort().catch(() => {});
  }
  return listing;
}

export async function loadArchive(ctx: EngineContext, opts: LoadArchiveOptions): Promise<LoadResult> {
  const archive = opts.name ?? 'archive';
  const progress = opts.onProgress ?? (() => {});
  const added: Digest[] = [];
  if (!opts.data && !opts.stream) throw new SkiffError('INVALID_ARGUMENT', 'loadArchive needs `data` or `stream`');
  const limits = resolveLimits(opts);
  // Like docker load, a gzip- or zstd-compressed archive is fine too; a plain one given whole is
  // parsed in place, anything else streams and stages its big blobs in the store, under a lease
  // so that a prune elsewhere leaves them be.
  const inMemory = opts.data !== undefined && detectCompression(opts.data.subarray(0, 4)) === 'none';
  const release = inMemory ? async () => {} : await takeLease(ctx);
  try {
    let listing: ArchiveListing;
    try {
      let events: AsyncIterable<TarEvent> | Iterable<TarEvent>;
      if (inMemory) {
        progress({ phase: 'reading', done: opts.data!.byteLength, total: opts.data!.byteLength });
        events = wholeTar(opts.data!);
      } else {
        const raw = opts.data ? [opts.data] : counted(chunksOf(opts.stream!), (n) => progress({ phase: 'reading', done: n, ...(opts.size ? { total: opts.size } : {}) }));
        events = readTarEvents(decompressStream(raw, {
          compression: 'auto', what: archive, maxOutputBytes: limits.maxArchiveBytes, maxWindowBytes: limits.maxZstdWindowBytes,
          overLimit: (m) => overLimit(`${archive} (decompressed)`, 'maxArchiveBytes', m, 'bytes'),
        }));
      }
      // Bytes given whole are already in memory: no need to stage them in the store.
      listing = await readListing(inMemory ? null : ctx, archive, events, added, limits.maxLoadEntries);
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
      const e = err instanceof SkiffError && err.message.startsWith(`loading ${archive}`) ? err : SkiffError.wrap(err, `loading ${archive}`);
      // A manifest or index of the archive that does not parse is a bad archive, not a bad argument.
      throw e.code === 'INTERNAL' || e.code === 'INVALID_ARGUMENT' ? new SkiffError('INVALID_ARCHIVE', e.message, { cause: err }) : e;
    }
    if (plans.length === 0) throw invalidArchive(archive, undefined, 'holds no image');
    const bytesOf: BytesOf = async (f) => f.bytes ?? ctx.content.get(f.digest);
    const verified = await verifyImages(listing, plans, bytesOf, {
      onLayer: (done, total) => progress({ phase: 'verifying', done, total }),
      limits,
      entriesRead: listing.entries,
    });
    const result = await commitVerified(ctx, verified, opts.source ?? archive, progress, added);
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

/** A JSON document's first byte (tools write none with leading whitespace). */
function looksLikeJson(head: Uint8Array): boolean {
  return head[0] === 0x7b || head[0] === 0x5b;
}

/** The events of a tar held whole, a slice at a time so that a million headers never pile up. */
function* wholeTar(bytes: Uint8Array): Iterable<TarEvent> {
  const p = new TarParser();
  for (let off = 0; off < bytes.length; off += 1 << 20) yield* p.write(bytes.subarray(off, off + (1 << 20)));
  p.end();
}

/** Pieces that lie end to end in one buffer (slices of a tar held whole) as one view, else a copy. */
function joinPieces(parts: Uint8Array[], size: number): Uint8Array {
  const first = parts[0];
  if (!first) return new Uint8Array(0);
  let end = first.byteOffset;
  for (const p of parts) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) return concatBytes(parts, size);
    end += p.byteLength;
  }
  return new Uint8Array(first.buffer, first.byteOffset, size);
}

/** Store verified images: records and tags in one transaction (also what a registry pull ends with). */
export async function commitVerified(ctx: EngineContext, verified: VerifiedImage[], source: string, progress: (p: LoadProgress) => void, added: Digest[]): Promise<LoadResult> {
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
