/**
 * `vite build` step (run as `node --import tsx src/web/build/shipped-snapshot.ts <outDir>`): puts
 * the guest's snapshot into the site, at vm-images/snapshots/<key>.state, so that a first visit
 * restores the VM from the network (~0.5 s) instead of booting it cold (~5 s + saving a state).
 *
 * The state is the one Node's Machine makes for these exact artifacts (vm-images/dist), v86
 * version and memory size: the key is the snapshot store's own (snapshotKey), so the browser finds
 * it under the key it computes from the manifest it fetched, and a changed kernel or v86 misses
 * (404) and boots cold instead of restoring something stale. Node's snapshot cache ($SKIFF_HOME)
 * answers when it has that key; otherwise the guest is booted here once (which fills that cache).
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VmRuntime } from '../../runtime/vm/container-runtime.ts';
import { shippedSnapshotFile } from '../../runtime/vm/snapshot-http.ts';
import { nodeSnapshots } from '../../runtime/vm/snapshot-node.ts';
import { splitHostState } from '../../runtime/vm/host-state.ts';
import { defaultSnapshotKey, openSnapshot, type VmSnapshotStore } from '../../runtime/vm/snapshot-store.ts';
import { nodeMachineOptions } from '../../node.ts';

/** Under the site's root; the browser reads it relative to vm-images/dist/ (SHIPPED_SNAPSHOT_DIR). */
export const SHIPPED_DIR = 'vm-images/snapshots';

export interface ShippedSnapshot {
  key: string;
  file: string;
  bytes: number;
  /** 'cache': copied from Node's snapshot store; 'boot': the guest was booted for it. */
  how: 'cache' | 'boot';
  ms: number;
}

export async function writeShippedSnapshot(o: { outDir: string; store?: VmSnapshotStore }): Promise<ShippedSnapshot> {
  const t0 = performance.now();
  const store = o.store ?? nodeSnapshots();
  const { artifacts } = nodeMachineOptions();
  const { text, value } = await artifacts.manifest();
  // As Machine.startUp computes it (gzip is the encoding it stores), and a page before a first visit's restore.
  let key = defaultSnapshotKey(text, value);
  let state = await store.get(key);
  let how: ShippedSnapshot['how'] = 'cache';
  // Only a state the VM runtime made: it holds the container pool (a bare Machine's has none).
  if (state && !(await holdsPool(key, state))) state = null;
  if (!state) {
    how = 'boot';
    let saved: ArrayBuffer | null = null;
    const capturing: VmSnapshotStore = {
      get: (k) => store.get(k),
      put: async (k, s) => { saved = s.slice(0); await store.put(k, s); },
      delete: (k) => store.delete(k),
    };
    // Through the VM runtime, so that the state holds what its snapshots hold: the 9P mount and the
    // container pool (runtime/vm/pool.ts), whose first claim spares a first visit crun's start.
    const vm = new VmRuntime({ machine: { ...nodeMachineOptions(), artifacts, snapshots: capturing } });
    const m = await vm.machine();
    key = m.boot.snapshotKey;
    await vm.shutdown();
    state = saved ?? (await store.get(key));
    if (!state) throw new Error(`shipped snapshot: the guest booted but no state was saved under ${key}`);
  }
  const dir = join(o.outDir, SHIPPED_DIR);
  await mkdir(dir, { recursive: true });
  // One state per site: older keys would only be downloaded by the service worker for nothing.
  for (const f of await readdir(dir)) if (f !== shippedSnapshotFile(key)) await rm(join(dir, f), { force: true });
  const file = join(dir, shippedSnapshotFile(key));
  await writeFile(file, new Uint8Array(state));
  return { key, file, bytes: state.byteLength, how, ms: Math.round(performance.now() - t0) };
}

async function holdsPool(key: string, sealed: ArrayBuffer): Promise<boolean> {
  try {
    const { host } = splitHostState(await openSnapshot(key, sealed));
    return ((host as { pool?: { slots?: unknown[] } } | null)?.pool?.slots?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = process.argv[2];
  if (!outDir) {
    process.stderr.write('usage: shipped-snapshot.ts <site outDir>\n');
    process.exit(2);
  }
  const r = await writeShippedSnapshot({ outDir });
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
