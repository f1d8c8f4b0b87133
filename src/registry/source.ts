/**
 * The registry as one more image source, after the local store and the bundled images (the
 * middle redesign's chain, go-containerregistry style: `registryImages(...).image(ref, ctx)`).
 * It answers a name a registry can have by pulling it into the local store; an image ID or a
 * name the registry does not know is not its to answer (undefined), so the chain's "No such
 * image" stands. Refusals that say something (access denied, no runnable platform) are thrown.
 */
import { isSkiffError } from '../errors.ts';
import type { EngineContext } from '../engine/context.ts';
import type { ImageSource } from '../engine/image-store.ts';
import type { ImageRecord } from '../engine/types.ts';
import type { Platform } from '../oci/platform.ts';
import { parseReference } from '../oci/reference.ts';
import type { RegistryClient } from './client.ts';
import { pullImage, type PullEvent } from './pull.ts';

export interface RegistrySourceOptions {
  client: RegistryClient;
  platform?: string | Platform;
  onProgress?: (e: PullEvent) => unknown;
}

/** The chain's ImageSource (engine/image-store.ts), named "registry". */
export interface RegistryImageSource extends ImageSource {
  readonly name: 'registry';
  image(ref: string, ctx: EngineContext): Promise<ImageRecord | undefined>;
}

const HEX = /^(?:sha256:)?[0-9a-f]{1,64}$/;

export function registryImages(o: RegistrySourceOptions): RegistryImageSource {
  return {
    name: 'registry',
    async image(ref, ctx) {
      // A (short) image ID names something local only, as in Docker.
      if (HEX.test(ref)) return undefined;
      try {
        parseReference(ref);
      } catch {
        return undefined;
      }
      try {
        const r = await pullImage({ ctx, client: o.client, ref, ...(o.platform ? { platform: o.platform } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
        return r.image;
      } catch (err) {
        if (isSkiffError(err, 'NOT_FOUND')) return undefined;
        throw err;
      }
    },
  };
}
