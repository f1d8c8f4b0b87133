/**
 * The parts an Engine is made of, wired once from its options: the stores, the image sources,
 * the lifecycle over the runtimes, the registry client and Docker's event recorder. The facade
 * (engine.ts) holds them and hands them to its verbs (image-ops.ts, build-ops.ts,
 * container-ops.ts, network-ops.ts); none of them reaches back into the facade.
 */
import type { RegistryClient } from '../registry/client.ts';
import { ContainerStore } from './container-store.ts';
import type { ControlPlane } from './control/types.ts';
import type { EngineContext } from './context.ts';
import { DEFAULT_STORAGE_QUOTA, type EngineOptions } from './engine-options.ts';
import { MemoryEventJournal } from './events/memory.ts';
import { EventRecorder } from './events/recorder.ts';
import { bundledImages, ImageStore, localImages } from './image-store.ts';
import { LayerDataBuilds } from './layer-data-builds.ts';
import { LayerCache } from './layers.ts';
import { Lifecycle } from './lifecycle.ts';
import type { HostDirFactory } from './lifecycle-core.ts';
import { resolveName } from './network-dns.ts';
import { refreshEndpoints, runtimeNetwork } from './network-runtime.ts';
import { PeerDirectory } from './peer-directory.ts';
import { RuntimePool } from './runtime-pool.ts';
import { defaultSnapshots } from './snapshots/engine-layers.ts';

export interface EngineParts {
  readonly ctx: EngineContext;
  readonly images: ImageStore;
  readonly containers: ContainerStore;
  readonly lifecycle: Lifecycle;
  readonly layers: LayerCache;
  readonly registry: RegistryClient | undefined;
  /** For build contexts given as a host directory's path. */
  readonly hostDir: HostDirFactory | undefined;
  readonly events: EventRecorder;
  /** Layer data made after a load, pull or import. */
  readonly layerData: LayerDataBuilds;
  /** Reaches the skiff process that runs a container this one does not (network connect). */
  readonly control: ControlPlane | undefined;
}

export function engineParts(options: EngineOptions): EngineParts {
  const events = new EventRecorder(options.events ?? new MemoryEventJournal());
  const ctx: EngineContext = {
    content: options.content, state: options.state, snapshots: options.snapshots ?? defaultSnapshots(options.state),
    now: options.now ?? (() => new Date()), storageQuota: options.storageQuota ?? DEFAULT_STORAGE_QUOTA, recorder: events,
  };
  const images = new ImageStore(ctx, [localImages, ...(options.bundled ? [bundledImages(options.bundled)] : []), ...(options.sources ?? [])]);
  const layers = new LayerCache(options.content, { ...options.layerCache, state: options.state });
  const containers = new ContainerStore(ctx, layers);
  const lifecycle = new Lifecycle({
    containers, images, events,
    // Container names on user networks: what the VM's DNS server (src/net) asks the engine.
    runtimes: new RuntimePool(options.runtimes ?? {}, (rt) => {
      rt.setNameResolver?.((name, sourceIp) => resolveName(ctx.state, name, sourceIp));
      // Containers of other processes' VMs on the same networks (Node: engine/peer-directory.ts).
      if (options.control) rt.setPeerDirectory?.(new PeerDirectory(containers, options.control));
    }),
    ...(options.hostDir ? { hostDir: options.hostDir } : {}), ...(options.control ? { control: options.control } : {}),
    // Records from before networks (no spec.network) keep their loopback-only namespace.
    networkFor: async (rec, runningHere) => rec.spec.network ? runtimeNetwork(ctx, await refreshEndpoints(ctx, rec), runningHere) : undefined,
  });
  return {
    ctx, images, containers, lifecycle, layers, events,
    registry: options.registry, hostDir: options.hostDir, layerData: new LayerDataBuilds(ctx, layers), control: options.control,
  };
}
