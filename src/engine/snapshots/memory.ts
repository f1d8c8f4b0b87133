/**
 * Snapshots in memory: for tests and for engines that keep nothing across restarts. Values are
 * copied in and out, so no caller can alias a stored record. A batch is gathered whole before
 * any of it applies (all or nothing, as the contract asks).
 */
import { SkiffError } from '../../errors.ts';
import type { RecordOp, SnapshotKey, SnapshotStore, SnapshotWriter } from './store.ts';
import { snapshotWriter } from './writer.ts';

export class MemorySnapshotStore implements SnapshotStore {
  readonly kind = 'memory' as const;
  readonly #snapshots = new Map<SnapshotKey, Map<string, Uint8Array>>();
  readonly #writers = new Set<SnapshotKey>();

  async open(key: SnapshotKey): Promise<SnapshotWriter> {
    if (this.#writers.has(key)) throw new SkiffError('CONFLICT', `${key.replace('/', ' ')} is already open for writing in this process`);
    this.#writers.add(key);
    const records = await this.read(key);
    const apply = async (ops: RecordOp[]): Promise<number> => {
      const batch = ops.map((op) => ({ key: op.key, value: op.value && op.value.slice() }));
      let m = this.#snapshots.get(key);
      if (!m) this.#snapshots.set(key, (m = new Map()));
      let delta = 0;
      for (const op of batch) {
        const old = m.get(op.key);
        if (old) delta -= op.key.length + old.byteLength;
        if (op.value) {
          m.set(op.key, op.value);
          delta += op.key.length + op.value.byteLength;
        } else m.delete(op.key);
      }
      return delta;
    };
    return snapshotWriter(key, records, apply, () => this.#writers.delete(key));
  }

  async read(key: SnapshotKey): Promise<Map<string, Uint8Array>> {
    return new Map([...(this.#snapshots.get(key) ?? [])].map(([k, v]) => [k, v.slice()]));
  }

  async remove(key: SnapshotKey): Promise<void> {
    if (this.#writers.has(key)) throw new SkiffError('CONFLICT', `${key} is open for writing`);
    this.#snapshots.delete(key);
  }

  async list(): Promise<SnapshotKey[]> {
    return [...this.#snapshots.keys()].sort();
  }

  async usage(key: SnapshotKey): Promise<number> {
    let n = 0;
    for (const [k, v] of this.#snapshots.get(key) ?? []) n += k.length + v.byteLength;
    return n;
  }
}
