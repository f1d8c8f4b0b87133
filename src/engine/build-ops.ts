/**
 * The Engine's build verbs (`docker build`, `builder prune`, the build cache's usage), kept here so
 * engine.ts only forwards to them. The Dockerfile builder (src/build) is loaded on first use;
 * its RUN steps run as containers of the engine (`engine`: the facade's verbs a step uses).
 */
import type { BuildOptions, BuildResult } from '../build/index.ts';
import type { StepEngine } from '../build/run-step.ts';
import { SkiffError } from '../errors.ts';
import type { EngineParts } from './engine-parts.ts';
import { enginePullImage, familiarRef } from './image-ops.ts';
import type { ImageRecord } from './types.ts';

/** `docker build` (src/build): RUN steps run as containers of this engine. */
export async function engineBuild(e: EngineParts, engine: StepEngine, options: BuildOptions): Promise<BuildResult> {
  const { build: runBuild, runStepInContainer } = await builder();
  const r = await runBuild({
    ctx: e.ctx,
    tree: (layers) => e.layers.tree({ id: 'sha256:build', layers } as unknown as ImageRecord),
    // A base that is not here is pulled when the engine has registry access (always with --pull).
    resolveImage: async (ref, platform) => {
      const pull = () => enginePullImage(e, { ref, ...(platform ? { platform } : {}) });
      if (options.pull && e.registry) await pull();
      try {
        return await e.images.resolve(ref);
      } catch (err) {
        if (!e.registry || !(err instanceof SkiffError && err.code === 'NOT_FOUND')) throw err;
        await pull();
        return e.images.resolve(ref);
      }
    },
    rawConfig: async (image) => JSON.parse(new TextDecoder().decode(await e.ctx.content.get(image.config.digest))),
    runStep: (o) => runStepInContainer(engine, e.ctx, o),
    ...(e.hostDir ? { openDir: (path: string) => e.hostDir!({ path, readOnly: true }) } : {}),
  }, options);
  // Docker's classic builder reports the result's tags (its RUN steps' containers report themselves).
  for (const t of r.tags) e.events.image('tag', r.id, familiarRef(t));
  return r;
}

/** `builder prune`: the build cache and the layers only it kept. */
export async function enginePruneBuildCache(e: EngineParts): Promise<{ deleted: string[]; reclaimed: number }> {
  const { pruneCache, CACHE_VOLUME_PREFIX } = await builder();
  const r = await pruneCache(e.ctx);
  // RUN --mount=type=cache volumes go too.
  for (const v of await e.containers.volumes()) {
    if (v.name.startsWith(CACHE_VOLUME_PREFIX)) await e.containers.removeVolume(v.name, true).then(() => { r.deleted.push(v.name); r.reclaimed += v.data?.size ?? 0; }, () => {});
  }
  return r;
}

export async function engineBuildCacheUsage(e: EngineParts): Promise<{ total: number; size: number }> {
  return (await builder()).cacheUsage(e.ctx);
}

/**
 * The Dockerfile builder's code, loaded on first use: in the browser the engine worker's script is
 * parsed before its first answer, and a page's runs need none of it.
 */
function builder(): Promise<typeof import('../build/index.ts')> {
  return import('../build/index.ts');
}
