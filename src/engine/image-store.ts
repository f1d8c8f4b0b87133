/**
 * The image store: from what a user typed to an image record in the local store, through a chain
 * of image sources tried in order (go-containerregistry style: each source is named for where the
 * bytes live). The local store answers first; a source behind it (bundled images today, a registry
 * later) brings the image into the local store and answers with its record. When no source has
 * it, the "No such image" error names what the sources could have offered.
 */
import { SkiffError } from '../errors.ts';
import type { ImageConfig } from '../oci/config.ts';
import { normalizeReference } from '../oci/reference.ts';
import type { RuntimeName } from '../runtime/types.ts';
import type { EngineContext } from './context.ts';
import { loadConfig } from './images.ts';
import { loadArchive } from './load/loader.ts';
import { findImage, noSuchImage } from './resolve.ts';
import { chooseRuntime } from './runtimes.ts';
import type { ImageRecord } from './types.ts';

/** One place images come from. */
export interface ImageSource {
  /** For errors and hints ("local", "bundled", "registry"). */
  readonly name: string;
  /**
   * The image `ref` names, put into the local store by this source, or undefined when this source
   * does not have it. Throws only when it has it but cannot deliver (a corrupt archive, ...).
   */
  image(ref: string, ctx: EngineContext): Promise<ImageRecord | undefined>;
  /** What `image` could answer (hints in "No such image" errors). */
  hint?(): Promise<string | undefined>;
}

/** Where bundled images (skiff/busybox, ...) come from when they are not in the store yet. */
export interface BundledImages {
  /** An archive for a fully qualified reference, or undefined if none is bundled under that name. */
  find(ref: string): Promise<{ name: string; data: Uint8Array } | undefined>;
  /** Names of the bundled images (for hints in "No such image" errors). */
  names?(): Promise<string[]>;
}

/** The local store: by tag, digest, or full or short image ID (resolve.ts has Docker's rules). */
export const localImages: ImageSource = {
  name: 'local',
  image: async (ref, ctx) => (await findImage(ctx.state, ref))?.image,
};

/** Bundled image archives, loaded into the local store on first use. */
export function bundledImages(bundled: BundledImages): ImageSource {
  return {
    name: 'bundled',
    async image(ref, ctx) {
      let full: string;
      try {
        full = normalizeReference(ref);
      } catch {
        return undefined; // an ID or digest prefix: not a name a bundle has
      }
      const b = await bundled.find(full);
      if (!b) return undefined;
      await loadArchive(ctx, { data: b.data, name: b.name, source: `bundled:${b.name}` });
      return (await findImage(ctx.state, ref))?.image;
    },
    async hint() {
      const names = await bundled.names?.().catch(() => []);
      return names?.length ? `not pulled: pull it first; bundled images: ${names.join(', ')}` : undefined;
    },
  };
}

export class ImageStore {
  constructor(private readonly ctx: EngineContext, private readonly sources: readonly ImageSource[]) {}

  /** The local record only: no source is asked (undefined when the store does not have it). */
  async local(ref: string): Promise<ImageRecord | undefined> {
    return (await findImage(this.ctx.state, ref))?.image;
  }

  /** The image record for a reference, ID or digest, from the first source that has it. */
  async resolve(ref: string): Promise<ImageRecord> {
    for (const s of this.sources) {
      const image = await s.image(ref, this.ctx);
      if (image) return image;
    }
    const err = noSuchImage(ref);
    const hints = (await Promise.all(this.sources.map((s) => s.hint?.().catch(() => undefined)))).filter(Boolean);
    if (hints.length) throw new SkiffError('NOT_FOUND', `${err.message} (${hints.join('; ')})`, { cause: err });
    throw err;
  }

  config(image: ImageRecord): Promise<ImageConfig> {
    return loadConfig(this.ctx, image);
  }

  /** Which runtime runs it (runtimes.ts); fills a Wasm artifact's default Entrypoint into `config`. */
  runtimeFor(image: ImageRecord, config: ImageConfig, ref: string): Promise<RuntimeName> {
    return chooseRuntime(this.ctx, image, config, ref);
  }
}
