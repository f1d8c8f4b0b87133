/**
 * The snapshot store keeps what containers write: each container's writable layer and each named
 * volume is one snapshot, a set of small records (key -> bytes) changed by atomic batches. It
 * knows nothing of filesystems; records.ts maps an overlay's upper tree onto records (one per
 * inode, one per directory entry, one per 64 KiB chunk of file data), so a change costs records
 * in proportion to what changed, never a rewrite of the layer.
 *
 * The contract every backend (memory.ts, node-fs.ts, idb.ts) meets, checked by one conformance
 * suite (test/engine/snapshots.test.ts):
 *
 * - `open(key)` makes the caller the one writer of snapshot `key` and returns its records as last
 *   committed (none for a new snapshot). A second writer, in this process or another, is refused
 *   with CONFLICT naming the holder until the first one closes or its process dies: two writers
 *   would each keep a private copy and the last one would win.
 * - `commit(ops)` applies puts and deletes in order, atomically: after a crash the snapshot holds
 *   all of a batch or none of it. When the promise resolves the batch is durable (as far as the
 *   platform can say: fsync on Node, a committed transaction in IndexedDB). `ops` is iterated
 *   once and may be produced lazily: a large batch need not be held in memory at once.
 * - `read(key)` returns the committed records without becoming the writer (commit, diff and export
 *   of a container another process runs).
 * - `remove(key)` deletes a snapshot; CONFLICT while another live writer holds it.
 * - `list()` names every snapshot; `usage(key)` its stored bytes (what `system df` shows; a writer
 *   knows its own as `bytes`).
 */
export type SnapshotKey = string;

export interface RecordOp {
  key: string;
  /** null deletes the record. */
  value: Uint8Array | null;
}

export interface SnapshotWriter {
  readonly key: SnapshotKey;
  /** The records as they were when opened (read once; the writer keeps no copy). */
  readonly records: ReadonlyMap<string, Uint8Array>;
  /** Bytes the snapshot's records hold (keys and values), as of the last commit: no store round trip. */
  readonly bytes: number;
  commit(ops: Iterable<RecordOp>): Promise<void>;
  /** Gives up being the writer. */
  close(): Promise<void>;
}

export interface SnapshotStore {
  readonly kind: 'memory' | 'node-fs' | 'idb';
  /** Names the storage: two store objects with one id (one directory, one database) are one store to this process. */
  readonly id?: string;
  open(key: SnapshotKey): Promise<SnapshotWriter>;
  read(key: SnapshotKey): Promise<Map<string, Uint8Array>>;
  remove(key: SnapshotKey): Promise<void>;
  list(): Promise<SnapshotKey[]>;
  usage(key: SnapshotKey): Promise<number>;
}

export const containerSnapshot = (id: string): SnapshotKey => `container/${id}`;
export const volumeSnapshot = (name: string): SnapshotKey => `volume/${name}`;
