/**
 * The mounts `docker cp` goes through (engine/container-view.ts), from the same sources the
 * runtime mounts at start (container-start.ts): the volume store's live volume, a host directory
 * for a bind (Node; HostDir keeps its symlinks inside it), and the generated /etc files: the
 * runtime's own while it runs the container here, else built from the record as the runtime
 * builds them at start (runtime/spec/container.ts etcFilesFor; what cp writes there is then lost
 * at the next start, as with Docker, which rewrites them at each start).
 * tmpfs mounts are left out: their content lives in the guest only.
 */
import { SkiffError } from '../errors.ts';
import { etcFilesFor } from '../runtime/spec/container.ts';
import { etcExport } from '../runtime/vm/exports.ts';
import { ContainerView, type ViewMount } from './container-view.ts';
import type { EngineParts } from './engine-parts.ts';
import { runtimeNetwork } from './network-runtime.ts';
import type { ContainerRecord } from './types.ts';

/** The container's files with its mounts, as its process sees them. */
export async function openContainerView(e: EngineParts, rec: ContainerRecord): Promise<ContainerView> {
  const mounts: ViewMount[] = [];
  if (rec.runtime !== 'wasi') {
    // Running here: the files the container has (it may have changed them); else as its next start
    // writes them (a network the record no longer resolves, a removed one, still has a hostname).
    const live = e.lifecycle.etcFiles(rec.id);
    const network = rec.spec.network && !live
      ? await runtimeNetwork(e.ctx, rec, (id) => e.lifecycle.isRunning(id)).catch(() => undefined)
      : undefined;
    const etc = live ?? etcExport(etcFilesFor(rec.spec.hostname, network));
    for (const file of ['hostname', 'hosts', 'resolv.conf']) {
      mounts.push({ destination: `/etc/${file}`, fs: etc, readOnly: false, file, kind: 'etc' });
    }
  }
  for (const m of rec.spec.mounts) {
    if (m.type === 'volume') {
      mounts.push({ destination: m.destination, fs: await e.containers.volumeFs(m.name), readOnly: m.readOnly, kind: 'volume' });
    } else if (e.hostDir) {
      mounts.push({ destination: m.destination, fs: e.hostDir({ path: m.source, readOnly: m.readOnly }), readOnly: m.readOnly, kind: 'bind' });
    } else {
      throw new SkiffError('UNSUPPORTED', `bind mount of ${m.source} at ${m.destination}: there is no host directory to read here`);
    }
  }
  return new ContainerView(await e.containers.fs(rec.id), mounts);
}
