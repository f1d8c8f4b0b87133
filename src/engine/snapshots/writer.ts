/**
 * The SnapshotWriter bookkeeping the memory and IndexedDB backends share, so the contract's
 * rules live once: `bytes` starts from the opened records and moves by what each commit
 * changed (no store round trip), nothing commits after close, and close gives up the writer
 * exactly once. The backend supplies only how a batch is stored.
 */
import { SkiffError } from '../../errors.ts';
import type { RecordOp, SnapshotKey, SnapshotWriter } from './store.ts';

/** Stores one batch, all or nothing, and returns how many bytes the snapshot grew (or shrank). */
export type ApplyBatch = (batch: RecordOp[]) => Promise<number>;

export function snapshotWriter(key: SnapshotKey, records: Map<string, Uint8Array>, apply: ApplyBatch, release: () => void): SnapshotWriter {
  let open = true;
  let bytes = 0;
  for (const [k, v] of records) bytes += k.length + v.byteLength;
  return {
    key,
    records,
    get bytes() {
      return bytes;
    },
    commit: async (ops: Iterable<RecordOp>) => {
      if (!open) throw new SkiffError('CONFLICT', `${key}: writing after close`);
      // Read `bytes` only once the batch is stored: a commit that overlaps this one counts too.
      const delta = await apply([...ops]);
      bytes += delta;
    },
    close: async () => {
      if (!open) return;
      open = false;
      release();
    },
  };
}
