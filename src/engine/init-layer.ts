/**
 * Docker's "init layer" for VM containers: the mount points crun needs (/proc, /sys, /dev,
 * /etc/hosts, volume targets ...) that the image lacks, as a layer between the image and the
 * container's writable layer. Without it crun creates them in the writable layer and `diff`,
 * `export` and `commit` would show them as the container's own changes. Built from the same
 * config.json the VM runtime generates from the record's spec (runtime/spec mountpointEntries),
 * never stored: it is derived from the record each time the overlay opens.
 */
import { applyLayer, emptyLayerTree, type LayerTree } from '../fs/layer.ts';
import { Overlay } from '../fs/overlay.ts';
import { retryAfterIO } from '../fs/pending-io.ts';
import { buildContainerBundle, defaultGuestPaths } from '../runtime/spec/container.ts';
import { mountpointEntries } from '../runtime/spec/mountpoints.ts';
import type { ContainerRecord } from './types.ts';

export async function withInitLayer(base: LayerTree | null, rec: ContainerRecord): Promise<LayerTree | null> {
  if (rec.runtime !== 'vm') return base;
  const lower = base ?? emptyLayerTree();
  const view = new Overlay({ lower, readOnly: true });
  let entries;
  try {
    // Reads the image's /etc/passwd: from an async store (IndexedDB) it waits for the bytes.
    entries = await retryAfterIO(() => {
      const { spec } = buildContainerBundle({
        id: rec.id, spec: rec.spec, rootfs: view, createWorkdir: false,
        paths: defaultGuestPaths(rec.id, { init: '/run/skiff/init' }),
      });
      return mountpointEntries({ spec, rootfs: view, mtime: Math.floor(Date.parse(rec.created) / 1000) || 0 });
    });
  } catch {
    // A spec that cannot be built fails at start, with its own error; the overlay still opens.
    return base;
  }
  return entries.length ? applyLayer(base, entries) : base;
}
