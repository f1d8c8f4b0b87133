/**
 * The command table's host in a browser tab (CommandHost): no host files or processes; archives
 * come from the file picker (or a drop) and leave as downloads; a container runs in the engine
 * worker with its output streamed to the terminal and the keyboard as its stdin (attach.ts).
 */
import { ExitStatusError, type CommandContext, type CommandHost } from '../../cli/commands/context.ts';
import { startFailed } from '../../cli/commands/run.ts';
import { displayText } from '../../cli/present/escape.ts';
import { humanSize } from '../../cli/present/format.ts';
import { filesToContext } from '../../build/browser-context.ts';
import { SkiffError } from '../../errors.ts';
import type { WorkerEngine } from '../rpc/protocol.ts';
import { attachProcess } from './attach.ts';
import type { ShellContext } from './context.ts';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Blob> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for await (const c of chunks) parts.push(new Uint8Array(c));
  return new Blob(parts, { type: 'application/x-tar' });
}

const NO_FILES = 'host files cannot be read in a browser';

/** A folder dropped on the page (page.ts reads it), waiting to be the next `build`'s context. */
export interface DroppedFolder {
  name: string;
  files: Map<string, Uint8Array>;
}

/** A ShellContext whose page can hold a dropped folder; the next build takes it instead of asking. */
export interface FolderDropTarget {
  droppedFolder?: DroppedFolder;
}

/** `build PATH` on a dropped folder: `.` or the folder's name is all of it, else a folder inside it. */
function folderContext(folder: DroppedFolder, path: string): Map<string, Uint8Array> {
  const rel = path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (rel === '' || rel === '.' || rel === folder.name) return folder.files;
  const sub = new Map<string, Uint8Array>();
  for (const [k, v] of folder.files) if (k.startsWith(`${rel}/`)) sub.set(k.slice(rel.length + 1), v);
  if (sub.size === 0) throw new SkiffError('NOT_FOUND', `build ${displayText(path)}: no folder ${displayText(rel)} in the dropped folder ${displayText(folder.name)} (use \`build .\`)`);
  return sub;
}

/** `files`: archives dropped on the page, loaded by the next `load` instead of asking. */
export function browserHost(ctx: ShellContext, dropped: { files?: File[] } = {}): CommandHost {
  const api = ctx.engine.api;
  const engine = api.engine as unknown as WorkerEngine;
  return {
    kind: 'browser',
    env: {},
    // The service worker serves published ports under the page's own origin (src/web/sw.ts).
    portUrl: (port) => new URL(`_skiff/ports/${port}/`, globalThis.location?.href ?? 'http://localhost/').href,
    readFile: async (path) => { throw new SkiffError('UNSUPPORTED', `open ${displayText(path)}: ${NO_FILES}`); },
    async readStdin() {
      const [file] = await ctx.pickFiles();
      if (!file) throw new SkiffError('INVALID_ARGUMENT', 'no file chosen');
      return new Uint8Array(await file.arrayBuffer());
    },
    async readBuildContext(path) {
      // The context is a folder dropped on the page (used once), else what the user picks (a
      // folder's files, or a context tar).
      const holder = ctx as ShellContext & FolderDropTarget;
      const folder = holder.droppedFolder;
      if (folder) {
        const files = folderContext(folder, path); // a wrong PATH keeps the folder for the next try
        holder.droppedFolder = undefined;
        return files;
      }
      const files = dropped.files?.splice(0) ?? (await ctx.pickFiles());
      if (files.length === 0) throw new SkiffError('INVALID_ARGUMENT', `build ${displayText(path)}: no files chosen (pick the context's files or a context tar, or drop them on the page)`);
      return filesToContext(files);
    },
    async loadSources() {
      const files = dropped.files?.splice(0) ?? (await ctx.pickFiles());
      if (files.length === 0) throw new SkiffError('INVALID_ARGUMENT', 'load: no file chosen (you can also drop archives on the page)');
      return files.map((f) => ({ stream: f.stream() as unknown as AsyncIterable<Uint8Array>, name: f.name, size: f.size }));
    },
    async writeArchive(chunks, o) {
      const blob = await collect(chunks);
      const name = o.output ?? o.defaultName;
      ctx.download(blob, name);
    },
    progress: () => ({
      update: (label, done, total) => ctx.progress(label, done, total), finish: () => ctx.progressDone(),
      ...(ctx.progressLines ? { lines: (rows: string[]) => ctx.progressLines!(rows) } : {}),
    }),
    async run(req) {
      const { run } = req;
      const create = { image: req.image, run, tty: run.tty ?? false, openStdin: run.interactive ?? false };
      if (req.detach) {
        const c = await engine.runContainer({ ...create, detach: true }).catch((err: unknown) => { throw startFailed(err); });
        return { id: c.id, status: 0 };
      }
      let created = false;
      // The Engine's own run (create, start, wait, --rm) in the worker; the terminal attaches once it runs.
      return { status: await attachProcess(ctx, { tty: create.tty, interactive: create.openStdin }, (io, consoleSize) => new Promise((resolve, reject) => {
        engine.runContainer({
          ...create, io, ...(consoleSize ? { consoleSize } : {}),
          onCreated: async (rec) => {
            created = true;
            if (rec.runtime === 'vm' && !(await api.vmStarted())) ctx.note?.('starting the Linux VM…');
          },
          onStarted: ({ container, process }) => resolve({ process, pty: container.spec.tty && container.runtime === 'vm' }),
        }).catch((err: unknown) => reject(created ? startFailed(err) : new ExitStatusError(125, displayText(err instanceof Error ? err.message : String(err), { multiline: true }))));
      })) };
    },
    async start(id, o) {
      const rec = await engine.inspectContainer({ id });
      if (!o.attach) {
        // In the background: the process lives in the worker; its output goes to the log.
        if (rec.state !== 'running') await engine.startContainer({ id: rec.id });
        return 0;
      }
      const interactive = o.interactive && rec.spec.openStdin;
      return attachProcess(ctx, { tty: rec.spec.tty, interactive }, async (io, consoleSize) => ({
        process: await engine.startContainer({ id: rec.id, io, ...(consoleSize ? { consoleSize } : {}) }).catch((err: unknown) => { throw startFailed(err); }),
        pty: rec.spec.tty && rec.runtime === 'vm',
      }));
    },
    async attach(id, o) {
      // The keyboard as its stdin (with -i), its output from now on; Ctrl-C is SIGINT, as with sig-proxy.
      const rec = await engine.inspectContainer({ id });
      return attachProcess(ctx, { tty: rec.spec.tty, interactive: o.stdin && rec.spec.openStdin }, async (io) => ({
        process: await engine.attachContainer({ id: rec.id, io }),
        pty: rec.spec.tty && rec.runtime === 'vm',
      }));
    },
    async restart(id, o) {
      await engine.stopContainer({ id, ...o });
      await engine.startContainer({ id });
      await engine.recordContainerEvent({ id, action: 'restart' });
    },
    async exec(req) {
      const rec = await engine.inspectContainer({ id: req.id }).catch((err: unknown) => { throw startFailed(err, { exec: true }); });
      return attachProcess(ctx, { tty: req.tty === true, interactive: req.openStdin === true }, async (io, consoleSize) => ({
        process: await engine.execContainer({ ...req, id: rec.id, io, ...(consoleSize ? { consoleSize } : {}) }).catch((err: unknown) => { throw startFailed(err, { exec: true }); }),
        pty: req.tty === true && rec.runtime === 'vm',
      }));
    },
    onInterrupt(cb) {
      const keys = ctx.attachStdin?.();
      if (!keys) return () => {};
      keys.onInterrupt(cb);
      return () => keys.detach();
    },
    async storageNote() {
      const st = await api.storage();
      return st.usage === undefined ? undefined : `Browser storage: ${humanSize(st.usage)} used of ${st.quota !== undefined ? humanSize(st.quota) : 'unknown'}${st.persisted ? ' (persistent)' : ''}`;
    },
  };
}

/** The table's context in a browser: the worker's Engine, the terminal's text. */
export function browserContext(ctx: ShellContext, dropped: { files?: File[] } = {}): CommandContext {
  return { engine: ctx.engine.api.engine as unknown as WorkerEngine, host: browserHost(ctx, dropped), stdout: (t) => ctx.stdout(t), stderr: (t) => ctx.stderr(t) };
}
