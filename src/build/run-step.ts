/**
 * A RUN step as a container of the lifecycle: a transient image record for the state so far
 * (its blobs are the build's own layers), a container created from it with the build's env,
 * workdir and user (the one ContainerSpec, resolved at create), started and waited for; its
 * writable layer's diff is the step's layer. The container and the transient record are removed
 * afterwards, whatever happened.
 */
import type { EngineContext } from '../engine/context.ts';
import type { CreateContainerOptions } from '../engine/containers.ts';
import type { Overlay } from '../fs/overlay.ts';
import type { ProcessIO, RuntimeProcess } from '../runtime/types.ts';
import { upperDiff } from '../engine/fs-io.ts';
import { writeTarChunks } from '../engine/tar-io.ts';
import type { ContainerRecord, ImageRecord, LayerRecord, VolumeRecord } from '../engine/types.ts';
import { tarEntry, writeTar } from '../archive/index.ts';
import { collectBlobs } from '../engine/images.ts';
import { concatBytes } from '../util/bytes.ts';
import type { RunStepRequest } from './build-run.ts';
import { storeLayer, writeImage } from './image.ts';
import { applyCopy } from './copy.ts';
import { parseTmpfs, parseVolumeSpec, type TmpfsSpec, type VolumeSpec } from '../runtime/spec/volumes.ts';
import { materializeTree } from '../fs/tree.ts';
import { retryAfterIO } from '../fs/pending-io.ts';
import type { StartSecrets } from '../runtime/secrets.ts';
import type { FileSystem } from '../fs/types.ts';

/** `path` and those of its parents that `fs` does not have yet, relative ("run/secrets/x"). */
async function missingPaths(fs: FileSystem, path: string): Promise<string[]> {
  const names = path.split('/').filter(Boolean);
  const out: string[] = [];
  let node = fs.root();
  for (let i = 0; i < names.length; i++) {
    try {
      node = await retryAfterIO(() => fs.lookup(node, names[i]!));
      if (i === names.length - 1) out.push(names.join('/'));
    } catch {
      for (let j = i; j < names.length; j++) out.push(names.slice(0, j + 1).join('/'));
      break;
    }
  }
  return out;
}

/** The engine's verbs a RUN step uses (the facade's own methods; typed here so build/ does not import engine.ts back). */
export interface StepEngine {
  createVolume(o: { name?: string; labels?: Record<string, string> }): Promise<VolumeRecord>;
  volumeFs(o: { name: string }): Promise<Overlay>;
  persistVolume(o: { name: string }): Promise<VolumeRecord>;
  removeVolume(o: { name: string; force?: boolean }): Promise<void>;
  createContainer(o: CreateContainerOptions): Promise<ContainerRecord>;
  startContainer(o: { id: string; io?: ProcessIO; secrets?: StartSecrets }): Promise<RuntimeProcess>;
  containerFs(o: { id: string }): Promise<Overlay>;
  removeContainer(o: { id: string; force?: boolean }): Promise<unknown>;
}

export async function runStepInContainer(engine: StepEngine, ctx: EngineContext, o: RunStepRequest): Promise<{ exitCode: number; diff: Uint8Array | null }> {
  // Binds of single files: a transient layer under the container holds them (volumes are
  // directories); the step's layer leaves them out, as a bind mount's content would be.
  const files = (o.mounts ?? []).flatMap((m) => (m.kind === 'file' ? [m] : []));
  let filesLayer: LayerRecord | undefined;
  if (files.length) {
    filesLayer = await storeLayer(ctx, writeTar(files.map((f) => tarEntry({ name: f.target.replace(/^\/+/, ''), mode: f.mode }, f.data))));
  }
  const layers = filesLayer ? [...o.layers, filesLayer] : o.layers;
  const config = filesLayer ? { ...o.config, rootfs: { type: 'layers' as const, diff_ids: [...o.config.rootfs.diff_ids, filesLayer.diffId] } } : o.config;
  const image: ImageRecord = await writeImage(ctx, { layers, config, source: 'build:step' });
  const hidden = new Set(files.map((f) => f.target.replace(/^\/+/, '')));
  let id: string | undefined;
  const transient: string[] = [];
  try {
    const volumes: VolumeSpec[] = [];
    const tmpfs: TmpfsSpec[] = [];
    for (const m of o.mounts ?? []) {
      if (m.kind === 'file') continue;
      if (m.kind === 'tmpfs') tmpfs.push(parseTmpfs(m.target));
      else if (m.kind === 'cache') {
        await engine.createVolume({ name: m.volume, labels: { 'skiff.build.cache': 'true' } });
        volumes.push(parseVolumeSpec(`${m.volume}:${m.target}:${m.readOnly ? 'ro,' : ''}nocopy`));
      } else {
        // A bind mount of build files: a scratch volume filled with them, dropped afterwards.
        const v = await engine.createVolume({ labels: { 'skiff.build.bind': 'true' } });
        transient.push(v.name);
        await applyCopy(await engine.volumeFs({ name: v.name }), { sources: m.sources, dest: '/', owner: { uid: 0, gid: 0 } });
        await engine.persistVolume({ name: v.name });
        volumes.push(parseVolumeSpec(`${v.name}:${m.target}:ro,nocopy`));
      }
    }
    const rec = await engine.createContainer({
      image: image.digest, cmd: o.args, entrypoint: [], env: o.env,
      ...(o.workdir ? { workdir: o.workdir } : {}), ...(o.user ? { user: o.user } : {}),
      ...(volumes.length || tmpfs.length ? { run: { ...(volumes.length ? { volumes } : {}), ...(tmpfs.length ? { tmpfs } : {}) } } : {}),
    });
    id = rec.id;
    // Secret files are mounted over stubs the runtime creates in the writable layer (the target
    // and its missing parents): those stay out of the step's layer, as BuildKit removes them.
    for (const f of o.secrets?.files ?? []) for (const p of await missingPaths(await engine.containerFs({ id: rec.id }), f.path)) hidden.add(p);
    const dec = new TextDecoder();
    const proc = await engine.startContainer({
      id: rec.id, ...(o.secrets ? { secrets: o.secrets } : {}),
      io: { onStdout: (d) => o.onOutput(dec.decode(d, { stream: true })), onStderr: (d) => o.onOutput(dec.decode(d, { stream: true })) },
    });
    const exit = await proc.wait();
    if (exit.exitCode !== 0) return { exitCode: exit.exitCode, diff: null };
    const fs = await engine.containerFs({ id: rec.id });
    await materializeTree(fs.upperTree.root); // diffs read synchronously (image bytes from IndexedDB)
    // The bound files (and their removal) stay out of the layer.
    const entries = upperDiff(fs).filter((e) => {
      const name = e.header.name.replace(/^\.?\/+/, '').replace(/\/$/, '');
      const base = name.split('/').at(-1) ?? '';
      const plain = base.startsWith('.wh.') ? [...name.split('/').slice(0, -1), base.slice(4)].join('/') : name;
      return !hidden.has(plain);
    });
    return { exitCode: 0, diff: entries.length ? concatBytes([...writeTarChunks(entries)]) : null };
  } finally {
    if (id) await engine.removeContainer({ id, force: true }).catch(() => {});
    for (const v of transient) await engine.removeVolume({ name: v, force: true }).catch(() => {});
    // Only the transient record and its manifest/config go; the layers are the build's.
    await ctx.state.transaction(async (tx) => {
      await tx.delete('images', image.digest);
      await collectBlobs(ctx, tx, [image.digest, image.config.digest, ...(filesLayer ? [filesLayer.digest] : [])]);
    }).catch(() => {});
  }
}
