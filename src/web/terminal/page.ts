/**
 * The demo page: an xterm.js terminal running the `skiff` shell against the shared engine
 * worker. Archives dropped on the page (or chosen with `load`) load with a progress bar; a dropped
 * folder becomes the next `build`'s context; `save` and `export` download.
 * `window.skiffPage` exposes the pieces for tests and the console.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { sharedEngineClient, type EngineClient } from '../client/engine-client.ts';
import { displayText } from '../../cli/present/escape.ts';
import { bridgePortsToServiceWorker } from '../client/ports-bridge.ts';
import { bridgeDockerToServiceWorker } from '../client/docker.ts';
import { ensurePortsServiceWorker, registerServiceWorker } from '../client/service-worker.ts';
import { defaultAssetBase } from '../client/engine-worker-url.ts';
import type { ShellContext } from '../shell/context.ts';
import { Shell } from '../shell/shell.ts';
import type { DroppedFolder, FolderDropTarget } from '../shell/host.ts';
import { downloadBlob, hasFolder, installDropZone, pickFiles, readEntries } from './files.ts';
import { LineEditor } from './line-editor.ts';
import { terminalProgress } from './progress.ts';
import { keyboardStdin, type KeyboardStdin } from './stdin.ts';

const PROMPT = '\x1b[1;36mskiff\x1b[0m$ ';

export interface TerminalPage {
  term: Terminal;
  client: EngineClient;
  shell: Shell;
  /** Runs a line as if typed (echoed), resolving with its status. */
  execute(line: string): Promise<number>;
  /** The terminal's text, trailing blanks trimmed (for tests). */
  text(): string;
  /** Resolves when no command is running. */
  idle(): Promise<void>;
}

export function startTerminalPage(root: HTMLElement): TerminalPage {
  const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14, scrollback: 5000, theme: { background: '#101418' } });
  const fit = new FitAddon();
  term.loadAddon(fit);
  const host = root.querySelector<HTMLElement>('#terminal')!;
  term.open(host);
  fit.fit();
  addEventListener('resize', () => fit.fit());

  const status = root.querySelector<HTMLElement>('#status');
  const bar = root.querySelector<HTMLProgressElement>('#load-progress') ?? undefined;
  const barLabel = root.querySelector<HTMLElement>('#load-label') ?? undefined;
  const input = root.querySelector<HTMLInputElement>('#file-input')!;
  const write = (s: string): void => term.write(s.replace(/\r?\n/g, '\r\n'));
  const progress = terminalProgress((s) => term.write(s), () => term.cols, bar, barLabel);

  const client = sharedEngineClient({
    // npm start and npm run preview serve one (vite.config.ts); a static host needs its own (docs/browser.md).
    registryProxy: new URL('registry-proxy/', location.href).href,
    // The containers' outbound TCP: the Wisp relay npm start serves (vite.config.ts); where there is
    // none the WebSocket fails and every connection is refused at once.
    wispRelay: new URL('/_skiff/wisp', location.href.replace(/^http/, 'ws')).href,
    onSeed: (p) => progress.update(`Loading bundled ${p.image} (${p.index + 1}/${p.total}) ${p.phase}`, p.done, p.total && p.phase === 'reading' ? p.total : undefined),
  });
  const ctx: ShellContext & FolderDropTarget = {
    engine: client,
    stdout: write,
    stderr: (s) => write(`\x1b[31m${s}\x1b[0m`),
    download: (blob, name) => downloadBlob(blob, name),
    pickFiles: () => pickFiles(input),
    progress: (l, d, t) => progress.update(l, d, t),
    progressDone: () => progress.done(),
    progressLines: (rows) => progress.lines(rows),
    note: (t) => progress.note(t),
    capabilities: () => client.api.capabilities(),
  };
  const shell = new Shell(ctx, undefined, () => term.clear());
  const editor = new LineEditor(PROMPT, 200, (before) => shell.complete(before));

  let busy: Promise<void> = Promise.resolve();
  let running = false;
  // Keys typed while a command without -i runs (or while the page starts) wait for the prompt, as
  // a TTY buffers type-ahead for the shell; Ctrl-C drops them, as a TTY flushes its input.
  let typeahead = '';
  const queue = (job: () => Promise<void>): Promise<void> => {
    busy = busy.then(async () => {
      running = true;
      try { await job(); } finally {
        running = false;
        const keys = typeahead;
        typeahead = '';
        if (keys) onKeys(keys);
      }
    });
    return busy;
  };
  // xterm parses writes asynchronously: a command is finished once the terminal has drawn it.
  const flush = (): Promise<void> => new Promise((r) => term.write('', r));
  const runLine = (line: string, echo = false): Promise<number> => {
    let st = 0;
    return queue(async () => {
      if (echo) term.write(`${displayText(line)}\r\n`);
      st = await shell.execute(line);
      term.write(PROMPT);
      await flush();
    }).then(() => st);
  };

  let stdin: KeyboardStdin | undefined;
  ctx.attachStdin = () => (stdin = keyboardStdin((s) => term.write(s)));
  ctx.size = () => ({ cols: term.cols, rows: term.rows });
  ctx.onResize = (cb) => {
    const d = term.onResize(({ cols, rows }) => cb({ cols, rows }));
    return () => d.dispose();
  };
  term.onData((data) => {
    if (stdin?.attached) { stdin.feed(data); return; }
    if (running) { typeahead = data.includes('\x03') ? '' : (typeahead + data).slice(-4096); return; }
    onKeys(data);
  });
  function onKeys(data: string): void {
    const r = editor.feed(data);
    if (r.clear) { term.clear(); term.write(`\r\x1b[2K${editor.redrawAll()}`); }
    if (r.echo) term.write(r.echo);
    if (r.interrupted) term.write(PROMPT);
    for (const line of r.lines) {
      if (line.trim() === '') { term.write(PROMPT); continue; }
      void runLine(line);
    }
  }

  installDropZone(document.body, (dropped) => {
    void queue(async () => {
      if (hasFolder(dropped)) {
        // A folder is a build context, held for the next `build` (the picker is not asked).
        const name = dropped.entries.length === 1 ? dropped.entries[0]!.name : `${dropped.entries.length} items`;
        term.write(`\r\x1b[2K`);
        try {
          const folder: DroppedFolder = { name, files: await readEntries(dropped.entries) };
          ctx.droppedFolder = folder;
          write(`context ${displayText(name)}: ${folder.files.size} files; type \x1b[1mbuild -t NAME .\x1b[0m to build it\n`);
        } catch (err) {
          write(`\x1b[31mError: reading the dropped folder ${displayText(name)}: ${displayText((err as Error).message)}\x1b[0m\n`);
        }
      } else {
        term.write(`\r\x1b[2K${PROMPT}load ${dropped.files.map((f) => displayText(f.name)).join(' ')}\r\n`);
        await shell.loadFiles(dropped.files);
      }
      term.write(PROMPT + editor.line);
      await flush();
    });
  });

  write('skiff: containers in your browser. Type \x1b[1mhelp\x1b[0m; drop a docker save or OCI archive to load it, or a folder to build it.\n');
  if (status) status.textContent = 'starting the engine…';
  void queue(async () => {
    try {
      const info = await client.ready;
      progress.done();
      if (info.seeded.length) write(`Loaded bundled images: ${displayText(info.seeded.join(', '))}\n`);
      if (info.seedError) write(`\x1b[31mError: ${displayText(info.seedError.message, { multiline: true })}\x1b[0m\n`);
      if (status) {
        status.textContent = `ready · ${info.crossOriginIsolated ? 'cross-origin isolated' : 'not isolated (no SharedArrayBuffer: wasm runs inline)'}`;
        status.dataset['state'] = 'ready';
      }
    } catch (err) {
      progress.done();
      write(`\x1b[31mError: ${displayText((err as Error).message, { multiline: true })}\x1b[0m\n`);
      if (status) { status.textContent = `engine failed: ${(err as Error).message}`; status.dataset['state'] = 'error'; }
    }
    term.write(PROMPT);
  });
  term.focus();
  // Under the dev server (`npm start`) there is no offline worker: the ports-only one serves the
  // /_skiff/ports/ links that `run -p` prints.
  void registerServiceWorker().then((reg) => { if (!reg) void ensurePortsServiceWorker(defaultAssetBase()); });
  // Published ports open at /_skiff/ports/<port>/: the service worker asks this page's engine.
  bridgePortsToServiceWorker({ portRequest: (port, r) => client.api.portRequest(port, r), portChannel: (ch) => client.api.portChannel(ch) });
  // The Engine API at /_skiff/docker/... for same-origin code: the service worker asks this page.
  bridgeDockerToServiceWorker({ dockerRequest: (r) => client.api.dockerRequest(r) });

  return {
    term, client, shell,
    execute: (line) => runLine(line, true),
    text() {
      const b = term.buffer.active;
      const rows: string[] = [];
      for (let i = 0; i < b.length; i++) rows.push(b.getLine(i)?.translateToString(true) ?? '');
      return rows.join('\n').replace(/\n+$/, '');
    },
    idle: () => busy.then(flush),
  };
}
