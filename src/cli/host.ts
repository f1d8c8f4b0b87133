/**
 * The command table's host in a Node process (CommandHost): host files, STDIN, archives to a file
 * or STDOUT, a progress bar on a terminal, and containers attached to this terminal or handed to
 * a background holder (attach.ts).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SkiffError } from '../errors.ts';
import { attachRunning, attachToTerminal, fail, runInTerminal, startAttached, startDetached } from './attach.ts';
import { ExitStatusError, type CommandContext, type CommandHost } from './commands/context.ts';
import { startFailed } from './commands/run.ts';
import type { CliIO } from './io.ts';
import { writeFileAtomic } from './io.ts';
import { progressBar } from './present/progress.ts';
import { readBuildContext } from './build-context-node.ts';
import { extractToHost, packHostPath } from './host-copy.ts';

function notFound(path: string, err: unknown): SkiffError {
  const code = (err as NodeJS.ErrnoException).code;
  return new SkiffError('NOT_FOUND', `open ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return new Uint8Array(Buffer.concat(parts));
}

export function nodeHost(io: CliIO): CommandHost {
  return {
    kind: 'node',
    env: process.env,
    packHostPath,
    extractToHost,
    async readFile(path) {
      try {
        return new Uint8Array(await readFile(path));
      } catch (err) {
        throw notFound(path, err);
      }
    },
    readStdin: () => readAll(io.stdin as AsyncIterable<unknown>),
    readBuildContext: (path) => readBuildContext(path, () => readAll(io.stdin as AsyncIterable<unknown>)),
    async loadSources(input) {
      if (!input) {
        if (io.stdin.isTTY) throw new SkiffError('INVALID_ARGUMENT', 'requested load from stdin, but stdin is empty');
        return [{ stream: io.stdin as AsyncIterable<Uint8Array>, name: 'stdin' }];
      }
      let size: number;
      try {
        size = (await stat(input)).size;
      } catch (err) {
        throw notFound(input, err);
      }
      return [{ stream: createReadStream(input, { highWaterMark: 1 << 20 }), name: basename(input), size }];
    },
    async writeArchive(chunks, o) {
      if (o.output) return writeFileAtomic(o.output, chunks);
      if (io.stdout.isTTY) throw new SkiffError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      await pipeline(Readable.from(chunks), io.stdout);
    },
    progress: () => progressBar(io.stderr),
    async run(req) {
      const engine = await io.engine().catch((err) => { throw fail(125, err); });
      const create = { image: req.image, run: req.run, tty: req.run.tty ?? false, openStdin: req.run.interactive ?? false };
      if (create.tty && create.openStdin && !io.stdin.isTTY) throw fail(125, 'the input device is not a TTY');
      if (!req.detach) return { status: await runInTerminal(io, engine, create) };
      // -d: the container lives in a background skiff process (this one exits).
      const id = (await engine.createContainer(create).catch((err) => { throw fail(125, err); })).id;
      await startDetached(engine, id).catch((err) => { throw err instanceof ExitStatusError ? err : fail(125, err); });
      return { id, status: 0 };
    },
    async start(id, o) {
      const engine = await io.engine();
      const rec = await engine.inspectContainer({ id });
      if (o.attach) return startAttached(io, engine, rec.id, { tty: rec.spec.tty, interactive: o.interactive && rec.spec.openStdin });
      if (rec.state !== 'running') await startDetached(engine, rec.id);
      return 0;
    },
    async restart(id, o) {
      const engine = await io.engine();
      await engine.stopContainer({ id, ...o });
      const rec = await engine.inspectContainer({ id });
      await startDetached(engine, rec.id);
      await engine.recordContainerEvent({ id: rec.id, action: 'restart' });
    },
    async attach(id, o) {
      return attachRunning(io, await io.engine(), id, o);
    },
    async exec(req) {
      const engine = await io.engine();
      const { id, ...options } = req;
      // The engine goes through the owning process when another one runs the container.
      return attachToTerminal(io, { tty: req.tty ?? false, interactive: req.openStdin ?? false }, async (sink, size, started) => {
        const p = await engine.execContainer({ id, ...options, io: sink, ...(size ? { consoleSize: size } : {}) }).catch((err: unknown) => { throw startFailed(err, { exec: true }); });
        started(p);
        return p.wait();
      });
    },
  };
}

/** The table's context in Node: the engine opened on first use, text to the process's streams. */
export function nodeContext(io: CliIO): CommandContext {
  const engine = new Proxy({} as CommandContext['engine'], {
    get: (_t, name: string) => async (...args: unknown[]) => {
      const e = (await io.engine()) as unknown as Record<string, (...a: unknown[]) => unknown>;
      return e[name]!.apply(e, args);
    },
  });
  return { engine, host: nodeHost(io), stdout: (t) => void io.stdout.write(t), stderr: (t) => void io.stderr.write(t) };
}

