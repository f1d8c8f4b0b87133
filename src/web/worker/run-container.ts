/**
 * Interim `run` until the engine's own run path lands: create the container, start it on the
 * runtime its image needs (WASI or the VM) over its overlay, stream stdio, wait, persist the
 * writable layer and record the exit. engine-service.ts prefers `Engine.run` once it exists.
 */
import { SkiffError } from '../../errors.ts';
import type { Engine } from '../../engine/engine.ts';
import type { ImageManifest } from '../../oci/manifest.ts';
import type { RunOptions } from '../../runtime/spec/options.ts';
import { cleanPath, type NamedVolumeSpec, type VolumeSpec } from '../../runtime/spec/volumes.ts';
import type { ContainerRuntime, MountedVolume, RuntimeProcess } from '../../runtime/types.ts';
import { detectWasiImage } from '../../runtime/wasi/image.ts';
import type { OutputSink, RunRequest, RunResult } from '../rpc/protocol.ts';
import type { BrowserRuntimes } from './runtimes.ts';

export type Running = Pick<RuntimeProcess, 'kill' | 'resize'>;

/**
 * `-v name:/dest` and the image's VOLUMEs as filesystems: named volumes are created on first use
 * (Docker's way), anonymous ones get a random name. Host directories exist only on Node.
 */
async function resolveVolumes(engine: Engine, run: RunOptions, imageVolumes: string[]): Promise<{ mounted: MountedVolume[]; run: RunOptions }> {
  const mounted: MountedVolume[] = [];
  const specs: VolumeSpec[] = [...(run.volumes ?? [])];
  for (const v of specs) {
    if (v.type === 'bind') throw new SkiffError('UNSUPPORTED', `-v ${v.source}:${v.destination}: host directories cannot be mounted in a browser; use a named volume (-v name:${v.destination})`);
  }
  const named = specs as NamedVolumeSpec[];
  const taken = new Set(named.map((v) => cleanPath(v.destination)));
  for (const dest of imageVolumes) {
    if (!taken.has(cleanPath(dest))) named.push({ type: 'volume', destination: dest, readOnly: false, copyData: true });
  }
  const out: NamedVolumeSpec[] = [];
  for (const v of named) {
    const rec = await engine.createVolume(v.name ? { name: v.name } : {});
    out.push({ ...v, name: rec.name });
    mounted.push({ source: rec.name, destination: v.destination, readOnly: v.readOnly, fs: await engine.volumeFs({ name: rec.name }) });
  }
  return { mounted, run: { ...run, ...(out.length ? { volumes: out } : {}) } };
}

/** Feeds the sink's stdin into the process until EOF (or the process ends). */
async function pumpStdin(sink: OutputSink, proc: RuntimeProcess, ended: Promise<unknown>): Promise<void> {
  let done = false;
  void ended.finally(() => { done = true; });
  while (!done) {
    const chunk = await sink.stdin!();
    if (done) return;
    if (chunk === null) { proc.closeStdin(); return; }
    if (chunk.length) proc.writeStdin(chunk);
  }
}

export async function runContainer(engine: Engine, runtimes: BrowserRuntimes, req: RunRequest, sink: OutputSink, running: Map<string, Running>): Promise<RunResult> {
  const image = await engine.resolveImage({ ref: req.image });
  const config = await engine.imageConfig({ ref: req.image });
  const manifest = JSON.parse(new TextDecoder().decode(await engine.ctx.content.get(image.digest))) as ImageManifest;
  const wasm = detectWasiImage(config, manifest) !== null;
  if (!wasm && !image.platform.startsWith('linux/386')) {
    throw new SkiffError('UNSUPPORTED', `${req.image} is ${image.platform}: skiff runs linux/386 images (in the VM) and wasi/wasm images`);
  }
  if (!wasm && !runtimes.vmStarted()) sink.status?.('starting the Linux VM…');
  // The VM boots (or restores) while the container's record and overlay are made.
  const warming = wasm ? undefined : runtimes.warmVm();
  warming?.catch(() => {});
  const runtime: ContainerRuntime = await (wasm ? runtimes.wasi() : runtimes.vm());
  const rec = await engine.createContainer({ ...req, runtime: runtime.name });
  const tty = rec.process.tty;
  const openStdin = req.streamStdin === true || req.stdin !== undefined;
  let volumes: string[] = [];
  try {
    const rootfs = await engine.containerFs({ id: rec.id });
    const base: RunOptions = {
      ...req.run,
      ...(req.env ? { env: req.env } : {}), ...(req.workdir ? { workdir: req.workdir } : {}), ...(req.user ? { user: req.user } : {}),
      ...(req.entrypoint ? { entrypoint: req.entrypoint } : {}), ...(req.cmd ? { cmd: req.cmd } : {}),
      hostname: rec.hostname, tty, interactive: openStdin, name: rec.name,
    };
    const { mounted, run } = await resolveVolumes(engine, base, Object.keys(config.config?.Volumes ?? {}));
    volumes = mounted.map((m) => m.source);
    const proc = await runtime.start({
      id: rec.id, rootfs, image: config.config ?? {}, run,
      volumes: mounted, tty, openStdin, ...(req.consoleSize ? { consoleSize: req.consoleSize } : {}),
      io: { onStdout: (d) => sink.stdout(d), onStderr: (d) => sink.stderr(d) },
    });
    running.set(rec.id, proc);
    await engine.updateContainer({ id: rec.id, patch: { state: 'running', startedAt: engine.ctx.now().toISOString() } });
    sink.started?.({ id: rec.id, name: rec.name, runtime: runtime.name, pty: tty && runtime.name === 'vm' });
    const exited = proc.wait();
    if (req.streamStdin && sink.stdin) void pumpStdin(sink, proc, exited).catch(() => {});
    else if (req.stdin !== undefined) {
      proc.writeStdin(typeof req.stdin === 'string' ? new TextEncoder().encode(req.stdin) : req.stdin);
      proc.closeStdin();
    }
    const exit = await exited.finally(() => running.delete(rec.id));
    await runtime.release(rec.id);
    if (exit.error) sink.stderr(new TextEncoder().encode(`skiff: ${exit.error}\n`));
    await engine.persistContainer({ id: rec.id });
    for (const name of volumes) await engine.persistVolume({ name });
    await engine.updateContainer({ id: rec.id, patch: { state: 'exited', exitCode: exit.exitCode, finishedAt: engine.ctx.now().toISOString() } });
    return { id: rec.id, name: rec.name, exitCode: exit.exitCode };
  } catch (e) {
    await engine.updateContainer({ id: rec.id, patch: { state: 'exited', exitCode: 125, finishedAt: engine.ctx.now().toISOString() } }).catch(() => {});
    throw e;
  } finally {
    if (req.rm) await engine.removeContainer({ id: rec.id, force: true }).catch(() => {});
  }
}
