/**
 * One guest for a test file: an in-memory Engine holding the bundled images and a VmRuntime on
 * the real guest (our kernel, agent and crun), booted once before the file's tests and shut down
 * after them. `start` hands the runtime one container the way the engine's lifecycle does: a
 * ContainerSpec resolved from the image config and run flags, its Overlay as the root.
 */
import { afterAll, beforeAll } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { Overlay } from '../../src/fs/overlay.ts';
import { nodeVmRuntime } from '../../src/node.ts';
import { resolveContainerSpec } from '../../src/runtime/spec/container-spec.ts';
import { parseRunFlags, type RunFlags } from '../../src/runtime/spec/options.ts';
import type { ImageRunConfig } from '../../src/runtime/spec/process.ts';
import type { ProcessIO, StartContainerRequest } from '../../src/runtime/types.ts';
import type { VmProcess, VmRuntime } from '../../src/runtime/vm/container-runtime.ts';

export interface Guest {
  readonly engine: Engine;
  readonly rt: VmRuntime;
  readonly image: ImageRunConfig;
  /** Creates a container of `imageRef` (default skiff/busybox) running `cmd` and starts it on the guest. */
  start(cmd: string[], io: ProcessIO, flags?: RunFlags, extra?: Partial<StartContainerRequest>): Promise<{ id: string; rootfs: Overlay; proc: VmProcess }>;
}

export function useGuest(imageRef = 'skiff/busybox'): Guest {
  let engine: Engine | undefined;
  let rt: VmRuntime | undefined;
  let image: ImageRunConfig = {};
  beforeAll(async () => {
    engine = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()) });
    image = (await engine.imageConfig({ ref: imageRef })).config ?? {};
    rt = await nodeVmRuntime();
    await rt.machine();
  }, 240_000);
  afterAll(async () => { await rt?.shutdown(); });
  const must = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useGuest: the guest is used before beforeAll booted it');
    return v;
  };
  return {
    get engine() { return must(engine); },
    get rt() { return must(rt); },
    get image() { return image; },
    async start(cmd, io, flags = {}, extra = {}) {
      const e = must(engine);
      const rec = await e.createContainer({ image: imageRef, cmd });
      const rootfs = await e.containerFs({ id: rec.id });
      const spec = resolveContainerSpec({ id: rec.id, image, run: parseRunFlags({ ...flags, cmd }) });
      const proc = await must(rt).start({ id: rec.id, rootfs, spec, volumes: [], io, ...extra });
      return { id: rec.id, rootfs, proc };
    },
  };
}
