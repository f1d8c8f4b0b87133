/**
 * Interim `run` for wasi/wasm images, until the engine's own run path lands (issue 4/5 join):
 * create the container, read its module from the overlay, run it with runtime/wasi, persist the
 * writable layer and record the exit. Deleted once `Engine.run` exists (engine-service.ts prefers it).
 */
import { SkiffError } from '../../errors.ts';
import type { Engine } from '../../engine/engine.ts';
import type { ImageManifest } from '../../oci/manifest.ts';
import { canUseWorker, detectWasiImage, readModuleFile, runWasi } from '../../runtime/wasi/index.ts';
import type { OutputSink, RunRequest, RunResult } from '../rpc/protocol.ts';

/** True when the image runs on the WASI backend. */
export async function isWasmImage(engine: Engine, ref: string): Promise<boolean> {
  const image = await engine.resolveImage({ ref });
  return image.platform.startsWith('wasi/') || image.platform.startsWith('wasip1/');
}

/** A running process, for `kill`. */
export interface Running {
  kill(signal?: string | number): void;
}

/** stdin pulled from the sink one chunk at a time (the terminal's keystrokes, line by line). */
async function* pulledStdin(sink: OutputSink): AsyncIterable<Uint8Array> {
  for (;;) {
    const chunk = await sink.stdin!();
    if (chunk === null) return;
    if (chunk.length) yield chunk;
  }
}

export async function runWasiContainer(engine: Engine, req: RunRequest, sink: OutputSink, running?: Map<string, Running>): Promise<RunResult> {
  const image = await engine.resolveImage({ ref: req.image });
  const config = await engine.imageConfig({ ref: req.image });
  const manifest = JSON.parse(new TextDecoder().decode(await engine.ctx.content.get(image.digest))) as ImageManifest;
  const kind = detectWasiImage(config, manifest);
  if (!kind) throw new SkiffError('UNSUPPORTED', `${req.image} (${image.platform}) has no runnable wasm entrypoint`);
  const rec = await engine.createContainer({ ...req, runtime: 'wasi' });
  try {
    const fs = await engine.containerFs({ id: rec.id });
    const argv = [...rec.process.entrypoint, ...rec.process.cmd];
    const module = kind.kind === 'artifact'
      ? await engine.ctx.content.get(kind.layer.digest)
      : readModuleFile({ fs, path: argv[0] ?? kind.entrypoint, cwd: rec.process.workdir });
    if (argv.length === 0) argv.push('module.wasm');
    // In a browser with SharedArrayBuffer the module gets its own worker (started our way, see
    // wasi-spawn.ts); elsewhere runtime/wasi picks (Node worker_threads, or inline).
    const spawner = typeof Worker === 'function' && canUseWorker() ? (await import('./wasi-spawn.ts')).wasiSpawner() : undefined;
    await engine.updateContainer({ id: rec.id, patch: { state: 'running', startedAt: engine.ctx.now().toISOString() } });
    const proc = runWasi({
      module, args: argv, env: rec.process.env, cwd: rec.process.workdir,
      mounts: [{ path: '/', fs }],
      ...(req.streamStdin && sink.stdin ? { stdin: pulledStdin(sink) } : req.stdin !== undefined ? { stdin: req.stdin } : {}),
      onStdout: (d) => sink.stdout(d),
      onStderr: (d) => sink.stderr(d),
      cacheKey: kind.kind === 'artifact' ? kind.layer.digest : `${image.digest}:${argv[0]}`,
      tty: rec.process.tty,
      ...(spawner ? { spawn: spawner } : {}),
    });
    running?.set(rec.id, proc);
    sink.started?.({ id: rec.id, name: rec.name });
    const exit = await proc.exited.finally(() => {
      running?.delete(rec.id);
      spawner?.replenish();
    });
    if (exit.trap) sink.stderr(new TextEncoder().encode(`skiff: ${exit.trap}\n`));
    await engine.persistContainer({ id: rec.id });
    await engine.updateContainer({ id: rec.id, patch: { state: 'exited', exitCode: exit.exitCode, finishedAt: engine.ctx.now().toISOString() } });
    return { id: rec.id, name: rec.name, exitCode: exit.exitCode, ...(exit.signal !== undefined ? { signal: exit.signal } : {}) };
  } catch (e) {
    await engine.updateContainer({ id: rec.id, patch: { state: 'exited', exitCode: 125, finishedAt: engine.ctx.now().toISOString() } }).catch(() => {});
    throw e;
  } finally {
    if (req.rm) await engine.removeContainer({ id: rec.id, force: true }).catch(() => {});
  }
}
