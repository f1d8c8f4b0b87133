/**
 * Which runtime runs an image: linux/386 goes to the VM; wasm images (the wasi/wasm platform, the
 * CNCF Wasm artifact, crun's compat annotation) to WASI. Anything else cannot run here, and the
 * error names the platforms the image (and its siblings from the same archive) has.
 * A CNCF Wasm artifact without Entrypoint/Cmd gets its module file (engine/layers.ts
 * artifactModulePath) as Entrypoint, filled into `config` so the container's command runs it.
 */
import { SkiffError } from '../errors.ts';
import type { ImageConfig } from '../oci/config.ts';
import type { ImageManifest } from '../oci/manifest.ts';
import type { RuntimeName } from '../runtime/types.ts';
import { detectWasiImage } from '../runtime/wasi/image.ts';
import type { EngineContext } from './context.ts';
import { artifactModulePath } from './layers.ts';
import type { ImageRecord } from './types.ts';

const RUNNABLE = 'linux/386 (in the VM) and wasi/wasm (WebAssembly with a .wasm entrypoint)';

export async function chooseRuntime(ctx: EngineContext, image: ImageRecord, config: ImageConfig, ref: string): Promise<RuntimeName> {
  let manifest: ImageManifest | undefined;
  try {
    manifest = JSON.parse(new TextDecoder().decode(await ctx.content.get(image.digest))) as ImageManifest;
  } catch {
    manifest = undefined;
  }
  const wasi = manifest ? detectWasiImage(config, manifest) : null;
  if (wasi) {
    const c = (config.config ??= {});
    if (wasi.kind === 'artifact' && !c.Entrypoint?.length && !c.Cmd?.length) c.Entrypoint = [artifactModulePath(wasi.layer)];
    return 'wasi';
  }
  const [os, arch] = image.platform.split('/');
  if (os === 'linux' && (arch === '386' || arch === 'i386')) return 'vm';
  const platforms = new Set([image.platform]);
  if (image.source) for (const i of await ctx.state.list<ImageRecord>('images')) if (i.source === image.source) platforms.add(i.platform);
  throw new SkiffError('UNSUPPORTED', `image ${ref} has no platform skiff can run: it has ${[...platforms].sort().join(', ')}; skiff runs ${RUNNABLE}`);
}
