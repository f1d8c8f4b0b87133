/**
 * Docker's "init layer" for VM containers: the mount points crun needs (/proc, /sys, /dev,
 * /etc/hosts, volume targets ...) that the image lacks, as a layer between the image and the
 * container's writable layer. Without it crun creates them in the writable layer and `diff`,
 * `export` and `commit` would show them as the container's own changes. Built from the same
 * runtime spec the VM runtime generates (runtime/spec mountpointEntries), never stored: it is
 * derived from the record each time the overlay opens.
 */
import { applyLayer, emptyLayerTree, type LayerTree } from '../fs/layer.ts';
import { Overlay } from '../fs/overlay.ts';
import { buildContainerBundle, defaultGuestPaths } from '../runtime/spec/container.ts';
import { mountpointEntries } from '../runtime/spec/mountpoints.ts';
import type { RunOptions } from '../runtime/spec/options.ts';
import type { ImageRunConfig } from '../runtime/spec/process.ts';
import type { VolumeSpec } from '../runtime/spec/volumes.ts';
import type { ContainerRecord } from './types.ts';

/** The run options a record's runtime gets (its process on top of the saved flags). */
export function recordRunOptions(rec: ContainerRecord): RunOptions {
  const p = rec.process;
  return {
    ...(rec.run ?? {}), cmd: p.cmd, entrypoint: p.entrypoint, env: p.env, workdir: p.workdir,
    ...(p.user ? { user: p.user } : {}), hostname: rec.hostname, tty: p.tty, interactive: p.openStdin, name: rec.name,
  };
}

export function withInitLayer(base: LayerTree | null, image: ImageRunConfig, rec: ContainerRecord): LayerTree | null {
  if (rec.runtime !== 'vm') return base;
  const lower = base ?? emptyLayerTree();
  const volumes: VolumeSpec[] = (rec.mounts ?? []).map((m) => m.type === 'volume'
    ? { type: 'volume', name: m.name, destination: m.destination, readOnly: m.readOnly, copyData: false }
    : { type: 'bind', source: m.source, destination: m.destination, readOnly: m.readOnly, propagation: 'rprivate' });
  const view = new Overlay({ lower, readOnly: true });
  let entries;
  try {
    const { spec } = buildContainerBundle({
      id: rec.id, image, run: { ...recordRunOptions(rec), volumes }, rootfs: view, createWorkdir: false,
      paths: defaultGuestPaths(rec.id, { init: '/run/skiff/init' }),
    });
    entries = mountpointEntries({ spec, rootfs: view, mtime: Math.floor(Date.parse(rec.created) / 1000) || 0 });
  } catch {
    // A spec that cannot be built fails at start, with its own error; the overlay still opens.
    return base;
  }
  return entries.length ? applyLayer(base, entries) : base;
}
