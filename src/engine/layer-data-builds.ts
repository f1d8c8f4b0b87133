/**
 * The layer data builds an engine starts after a load, pull or import (layers.ts prepare: an
 * uncompressed copy of each layer, verified, with its index; random access for containers,
 * layer-index.ts). An rmi or prune stops the builds of images it deleted; shutdown waits for those
 * in the background.
 */
import type { Digest } from '../oci/digest.ts';
import type { EngineContext } from './context.ts';
import { keepLayerData } from './images.ts';
import type { LayerCache } from './layers.ts';
import { takeLease } from './leases.ts';
import type { ImageRecord } from './types.ts';

export class LayerDataBuilds {
  /** Layer data being made after a pull; shutdown waits for it. */
  private readonly preparing = new Set<Promise<void>>();
  /** Layer data builds under way (prepare), with their image's manifest digest. */
  private readonly building = new Map<AbortController, Digest>();

  constructor(private readonly ctx: EngineContext, private readonly layers: LayerCache) {}

  /**
   * Makes the image's layer data (layers.ts prepare), kept only while an image lists each layer
   * (an rmi or prune meanwhile: images.ts keepLayerData), under a lease so that prune's sweep of
   * unreferenced blobs leaves the copies made before their record is written.
   */
  async prepare(image: ImageRecord): Promise<void> {
    // The data is a cache: a state store refusing the lease must not fail the load or the pull.
    const release = await takeLease(this.ctx).catch(() => undefined);
    const stop = new AbortController();
    this.building.set(stop, image.digest);
    try {
      await this.layers.prepare(image, { guard: keepLayerData(this.ctx), signal: stop.signal });
    } finally {
      this.building.delete(stop);
      await release?.().catch(() => {});
    }
  }

  /** `prepare` without waiting for it (after a pull); `settled` waits for it. */
  inBackground(image: ImageRecord): void {
    const p = this.prepare(image).finally(() => this.preparing.delete(p));
    this.preparing.add(p);
  }

  /** Stops the layer data builds of images no longer stored (after an rmi or prune deleted some). */
  async stopBuildsOfRemoved(): Promise<void> {
    for (const [stop, digest] of this.building) if (!(await this.ctx.state.get('images', digest))) stop.abort();
  }

  /** Every build started in the background, ended (shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.preparing);
  }
}
