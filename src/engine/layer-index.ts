/**
 * Layer data: what makes an image layer readable on demand. Made once per layer blob (at load or
 * pull, else at first use), from one streaming pass over the blob:
 *  - the uncompressed copy: the layer's tar, committed to the content store verified against the
 *    layer's diff_id (a layer stored uncompressed is its own copy: nothing more is stored);
 *  - the index: a small blob with each entry's header and where its bytes start in the copy, plus
 *    a digest per 64 KiB chunk of the copy (fs/layer-data.ts checks every chunk it reads back).
 * A record in the state's `meta` (`layerdata-<hex>`) ties them to the layer blob, so blob
 * collection keeps them while the layer lives and `system prune` can free them (images.ts).
 *
 * Why a copy and not a gzip seek index: measured on the Debian fixture (190 MB tar, 69 MB gzip),
 * a zran-style index needs a 32 KiB window per access point and a read inflates up to a span
 * (~1 MiB at a 1 MiB span: ~4 ms per cold read), where the copy reads a chunk in ~20 us; the copy
 * costs the uncompressed size on disk, which `system df` shows and prune frees.
 */
import { decompressStream } from '../archive/index.ts';
import { TarParser } from '../archive/tar-reader.ts';
import type { TarHeader } from '../archive/types.ts';
import { readRange, type ContentStore } from '../content/store.ts';
import { SkiffError } from '../errors.ts';
import type { ChunkCache } from '../fs/chunk-cache.ts';
import { FileContent } from '../fs/file-content.ts';
import { ChunkHasher, LayerData, LAYER_CHUNK } from '../fs/layer-data.ts';
import type { LayerEntry } from '../fs/layer.ts';
import { createHasher, digestHex, type Digest, type DiffID } from '../oci/digest.ts';
import { layerCompression } from '../oci/mediatypes.ts';
import type { StateStore, StateTx } from './state/store.ts';
import { DEFAULT_MAX_LAYER_BYTES } from './tar-io.ts';
import type { LayerRecord } from './types.ts';

/** The largest window any zstd frame can declare that fzstd decodes (its own limit). */
const MAX_ZSTD_WINDOW = 2145386496;

export const LAYER_DATA_PREFIX = 'layerdata-';

export interface LayerDataRecord {
  /** The layer blob as stored (maybe compressed). */
  layer: Digest;
  diffId: DiffID;
  /** The uncompressed tar in the content store (the layer blob itself when stored uncompressed). */
  copy: Digest;
  copySize: number;
  index: Digest;
  indexSize: number;
}

/** Where records live: the state store, or (a LayerCache without one, in tests) a map. */
export interface LayerDataStores {
  content: ContentStore;
  state?: StateStore;
}

/**
 * Decides, in the transaction that would record a freshly built layer's data, whether it is still
 * wanted; false means its blobs were dealt with and no record is written. The background build
 * after a pull or load asks whether an image still lists the layer: an `rmi` while it streamed
 * must not leave a record (and a copy) for a layer nothing has any more.
 */
export type LayerDataGuard = (tx: StateTx, rec: LayerDataRecord) => Promise<boolean>;

/** What a guarded build ends with when its guard refused the record (see LayerDataGuard). */
export class LayerDataDiscarded extends SkiffError {
  constructor(layer: Digest) {
    super('NOT_FOUND', `layer ${layer}: no image lists it any more, its data was not kept`);
  }
}

const memoryRecords = new WeakMap<ContentStore, Map<string, LayerDataRecord>>();

export function layerDataKey(layer: Digest): string {
  return LAYER_DATA_PREFIX + digestHex(layer);
}

async function getRecord(s: LayerDataStores, layer: Digest): Promise<LayerDataRecord | undefined> {
  if (s.state) return s.state.get<LayerDataRecord>('meta', layerDataKey(layer));
  return memoryRecords.get(s.content)?.get(layer);
}

/** Records the layer data; false if `guard` refused it. */
async function putRecord(s: LayerDataStores, rec: LayerDataRecord, guard?: LayerDataGuard): Promise<boolean> {
  if (s.state) {
    return s.state.transaction(async (tx) => {
      if (guard && !(await guard(tx, rec))) return false;
      await tx.put('meta', layerDataKey(rec.layer), rec);
      return true;
    });
  }
  let m = memoryRecords.get(s.content);
  if (!m) memoryRecords.set(s.content, (m = new Map()));
  m.set(rec.layer, rec);
  return true;
}

/** One entry in the index: header fields the tree needs, and where the body starts in the copy. */
type IndexEntry = [name: string, type: TarHeader['type'], mode: number, uid: number, gid: number, mtime: number, size: number, offset: number, linkname: string, devmajor: number, devminor: number, extra?: { atime?: number; ctime?: number; xattrs?: Record<string, number[]> }];

interface IndexDoc {
  v: 1;
  size: number;
  chunk: number;
  hashes: string;
  entries: IndexEntry[];
}

/**
 * Streams the layer blob once: decompresses, verifies the diff_id, stores the copy (unless the
 * blob is already uncompressed) and the index. Memory: one decoder window and the headers.
 */
export interface LayerDataBuild {
  /** Whether the data is still wanted when made (see LayerDataGuard). */
  guard?: LayerDataGuard;
  /** Aborted: the build stops (its image was removed meanwhile) with LayerDataDiscarded. */
  signal?: AbortSignal;
}

export async function buildLayerData(s: LayerDataStores, layer: Pick<LayerRecord, 'digest' | 'mediaType' | 'diffId' | 'uncompressedSize'>, o: LayerDataBuild = {}): Promise<LayerDataRecord> {
  const compression = layerCompression(layer.mediaType);
  const ingest = compression === 'none' ? null : s.content.ingest({ expectedDigest: layer.diffId as string as Digest });
  const parser = new TarParser();
  const hasher = createHasher();
  const chunks = new ChunkHasher();
  const entries: IndexEntry[] = [];
  let pos = 0;
  let open: IndexEntry | null = null;
  try {
    const stream = decompressStream(s.content.stream(layer.digest), {
      // The load checked this blob within the limits its caller chose (maybe above the
      // defaults): indexing it must not refuse what was accepted then.
      compression, what: `layer ${layer.digest}`, maxOutputBytes: Math.max(DEFAULT_MAX_LAYER_BYTES, layer.uncompressedSize), maxWindowBytes: MAX_ZSTD_WINDOW,
    });
    for await (const chunk of stream) {
      if (o.signal?.aborted) throw new LayerDataDiscarded(layer.digest);
      hasher.update(chunk);
      chunks.update(chunk);
      for (const ev of parser.write(chunk)) {
        if (ev.kind === 'header') {
          const h = ev.header;
          const extra: IndexEntry[11] = {};
          if (h.atime !== undefined) extra.atime = h.atime;
          if (h.ctime !== undefined) extra.ctime = h.ctime;
          if (h.xattrs) extra.xattrs = Object.fromEntries(Object.entries(h.xattrs).map(([k, v]) => [k, [...v]]));
          open = [h.name, h.type, h.mode, h.uid, h.gid, h.mtime, h.type === 'file' ? h.size : 0, -1, h.linkname, h.devmajor, h.devminor];
          if (Object.keys(extra).length) open.push(extra);
          entries.push(open);
        } else if (ev.kind === 'data' && open && open[7] < 0) {
          if (ev.data.buffer !== chunk.buffer) throw new SkiffError('INTERNAL', 'tar parser copied a body piece');
          open[7] = pos + ev.data.byteOffset - chunk.byteOffset;
        }
      }
      if (ingest) await ingest.write(chunk);
      pos += chunk.byteLength;
    }
    parser.end();
    if (o.signal?.aborted) throw new LayerDataDiscarded(layer.digest);
    const diffId = hasher.digest();
    if (diffId !== (layer.diffId as string)) {
      throw new SkiffError('DIGEST_MISMATCH', `its uncompressed content is ${diffId}, the image config says diff_id ${layer.diffId}`);
    }
    const copy = ingest ? await ingest.commit({ expectedDigest: diffId as string as Digest, expectedSize: pos }) : { digest: layer.digest, size: pos };
    const doc: IndexDoc = { v: 1, size: pos, chunk: LAYER_CHUNK, hashes: chunks.finish(), entries };
    const ib = s.content.ingest();
    const bytes = new TextEncoder().encode(JSON.stringify(doc));
    await ib.write(bytes);
    const index = await ib.commit();
    const rec: LayerDataRecord = { layer: layer.digest, diffId: layer.diffId, copy: copy.digest, copySize: copy.size, index: index.digest, indexSize: index.size };
    if (!(await putRecord(s, rec, o.guard))) throw new LayerDataDiscarded(layer.digest);
    return rec;
  } catch (err) {
    await ingest?.abort().catch(() => {});
    if (err instanceof LayerDataDiscarded) throw err;
    throw SkiffError.wrap(err, `indexing layer ${layer.digest}`);
  }
}

/** Builds in flight per content store and layer: one writer per copy (see ensureLayerData). */
const building = new WeakMap<ContentStore, Map<string, { p: Promise<LayerDataRecord>; guarded: boolean }>>();

/**
 * The layer's record, made now if it is missing or its blobs are gone (pruned). Callers that ask
 * for the same layer while it is being made (load's prepare beside a container's first read) share
 * the one build: two ingestions of the same copy would write the same parts at once. A caller
 * without a guard or signal (a container's or a build's tree) that joined a build its guard
 * discarded or its signal stopped makes its own.
 */
export async function ensureLayerData(s: LayerDataStores, layer: Pick<LayerRecord, 'digest' | 'mediaType' | 'diffId' | 'uncompressedSize'>, o: LayerDataBuild = {}): Promise<LayerDataRecord> {
  const guarded = o.guard !== undefined || o.signal !== undefined;
  let inFlight = building.get(s.content);
  if (!inFlight) building.set(s.content, (inFlight = new Map()));
  for (;;) {
    const pending = inFlight.get(layer.digest);
    if (!pending) break;
    if (guarded || !pending.guarded) return pending.p;
    try {
      return await pending.p;
    } catch (err) {
      if (!(err instanceof LayerDataDiscarded)) throw err;
      // The discarded build's entry may still be in the map for a moment: wait it out.
      if (inFlight.get(layer.digest) === pending) inFlight.delete(layer.digest);
    }
  }
  const p = (async () => {
    const rec = await getRecord(s, layer.digest);
    if (rec && (await s.content.has(rec.index)) && (await s.content.has(rec.copy))) return rec;
    return buildLayerData(s, layer, o);
  })();
  const entry = { p, guarded };
  inFlight.set(layer.digest, entry);
  try {
    return await p;
  } finally {
    if (inFlight.get(layer.digest) === entry) inFlight.delete(layer.digest);
  }
}

/** The layer's entries (file bodies read on demand through `cache`) for applyLayer, and the copy they read. */
export async function openLayerData(s: LayerDataStores, layer: LayerRecord, cache: ChunkCache): Promise<{ entries: LayerEntry[]; copy: Digest }> {
  const rec = await ensureLayerData(s, layer);
  const raw = await s.content.get(rec.index);
  if (createHasher().update(raw).digest() !== rec.index) throw new SkiffError('DIGEST_MISMATCH', `layer ${layer.digest}: its index ${rec.index} is corrupted in the content store (remove the image and load it again)`);
  const doc = JSON.parse(new TextDecoder().decode(raw)) as IndexDoc;
  if (doc.v !== 1 || doc.chunk !== LAYER_CHUNK || doc.size !== rec.copySize) throw new SkiffError('INVALID_ARGUMENT', `layer ${layer.digest}: index ${rec.index} is of another format`);
  const copy = rec.copy;
  const store = s.content;
  const data = new LayerData(copy, doc.size, doc.hashes, {
    read: (offset, length) => readRange(store, copy, offset, length),
    ...(store.readRangeSync ? { readSync: (offset: number, length: number) => store.readRangeSync!(copy, offset, length) } : {}),
  }, cache);
  const empty = new Uint8Array(0);
  const entries = doc.entries.map((e): LayerEntry => {
    const [name, type, mode, uid, gid, mtime, size, offset, linkname, devmajor, devminor, extra] = e;
    const header: TarHeader = { name, type, mode, uid, gid, size, mtime, linkname, devmajor, devminor };
    if (extra?.atime !== undefined) header.atime = extra.atime;
    if (extra?.ctime !== undefined) header.ctime = extra.ctime;
    if (extra?.xattrs) header.xattrs = Object.fromEntries(Object.entries(extra.xattrs).map(([k, v]) => [k, Uint8Array.from(v)]));
    const entry: LayerEntry = { header, data: empty };
    if (type === 'file') entry.content = size === 0 ? FileContent.empty() : FileContent.fromLayer(data, offset, size);
    return entry;
  });
  return { entries, copy };
}

/** Every layer data record (state `meta`). */
export async function layerDataRecords(tx: Pick<StateStore, 'keys' | 'get'>): Promise<LayerDataRecord[]> {
  const out: LayerDataRecord[] = [];
  for (const k of await tx.keys('meta')) {
    if (!k.startsWith(LAYER_DATA_PREFIX)) continue;
    const r = await tx.get<LayerDataRecord>('meta', k);
    if (r) out.push(r);
  }
  return out;
}

/** Bytes a record adds to the store: its index, and its copy unless the layer is its own copy. */
export function layerDataBytes(r: LayerDataRecord): number {
  return r.indexSize + (r.copy === r.layer ? 0 : r.copySize);
}
