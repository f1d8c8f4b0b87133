/**
 * What a command of the table touches: the engine (the Engine's own API: the Engine itself in
 * Node, its comlink proxy in a browser), text out, and a host for what differs between a Node
 * process and a browser tab (files, stdin, attaching a process to a terminal). Nothing here
 * imports Node or the DOM: src/cli/node/ and src/web/shell/ implement the host.
 */
import type { BuildContextInput } from '../../build/context.ts';
import type { Engine } from '../../engine/engine.ts';
import type { ExecOptions } from '../../engine/lifecycle.ts';
import type { RunOptions } from '../../runtime/spec/options.ts';
import type { CommandSpec, FlagValues } from './flags.ts';

export type Async<F> = F extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never;

/** The Engine methods the commands call, with the Engine's own types (always async on the wire). */
export type CommandEngine = {
  [K in 'loadArchive' | 'listImages' | 'inspectImage' | 'imageConfig' | 'history' | 'tag' | 'removeImage' | 'pruneImages'
    | 'diskUsage' | 'tagHistory' | 'rollbackImage' | 'saveArchive' | 'createContainer' | 'inspectContainer' | 'listContainers'
    | 'renameContainer' | 'commitContainer' | 'exportContainer' | 'containerChanges' | 'removeContainer' | 'pruneContainers'
    | 'importImage' | 'waitContainer' | 'killContainer' | 'stopContainer' | 'containerLogs' | 'followContainerLogs' | 'createVolume' | 'inspectVolume'
    | 'listVolumes' | 'removeVolume' | 'pruneVolumes' | 'pullImage' | 'pushImage' | 'login' | 'logout' | 'registryTags'
    | 'build' | 'pruneBuildCache' | 'buildCacheUsage' | 'createNetwork' | 'listNetworks' | 'inspectNetwork' | 'removeNetwork'
    | 'pruneNetworks' | 'connectNetwork' | 'disconnectNetwork' | 'pauseContainer' | 'unpauseContainer' | 'containerStats'
    | 'updateContainerResources' | 'execContainer' | 'statContainerPath' | 'copyFromContainer' | 'copyIntoContainer' | 'watchEvents' | 'attachContainer' | 'recordContainerEvent']: Async<Engine[K]>
};

/** Where `load` reads an archive from. */
export interface ArchiveSource {
  stream: AsyncIterable<Uint8Array>;
  name: string;
  size?: number;
}

export interface ProgressSink {
  update(label: string, done: number, total?: number, unit?: 'bytes' | 'items'): void;
  /** A block of lines redrawn in place (a pull's bar per layer, as Docker draws); where absent, one bar. */
  lines?(rows: string[]): void;
  finish(): void;
}

export interface RunRequest {
  image: string;
  run: RunOptions;
  detach: boolean;
}

export interface CommandHost {
  /** 'node' has the host's files and processes; 'browser' has neither. */
  readonly kind: 'node' | 'browser';
  /** The environment `-e KEY` (without a value) passes through; empty in a browser. */
  readonly env: Record<string, string | undefined>;
  /** A host file's bytes (`--env-file`, `import FILE`); SkiffError naming the path when absent. */
  readFile(path: string): Promise<Uint8Array>;
  /** `build CONTEXT`: a directory (as a path map), a tar file, or `-` (a tar on STDIN); absent where there are no host files. */
  readBuildContext?(path: string): Promise<BuildContextInput>;
  /** STDIN's bytes (`import -`): the process's stdin, or a file the user picks. */
  readStdin(): Promise<Uint8Array>;
  /** Archives for `load`: `-i FILE` or STDIN in Node; picked (or dropped) files in a browser. */
  loadSources(input: string | undefined): Promise<ArchiveSource[]>;
  /** `save`/`export` output: `-o FILE` or STDOUT in Node; a download in a browser. */
  writeArchive(chunks: AsyncIterable<Uint8Array>, o: { output?: string; defaultName: string }): Promise<void>;
  progress(): ProgressSink;
  /** Create-and-run's attaching half: with `detach`, the container's ID once it runs; else its exit status. */
  run(req: RunRequest): Promise<{ id?: string; status: number }>;
  /** `start` (in the background, or attached with `attach`: then the exit status). */
  start(id: string, o: { attach: boolean; interactive: boolean }): Promise<number>;
  /** `exec`: the engine's own request (Engine.execContainer) without io; the host attaches it. */
  exec(req: { id: string } & Omit<ExecOptions, 'io' | 'consoleSize'>): Promise<number>;
  /**
   * `attach`: a running container (here or in the process that runs it) attached until it exits
   * (its status) or the detach keys are typed (0). Absent: output only, Ctrl-C detaches.
   */
  attach?(id: string, o: { stdin: boolean; sigProxy: boolean; detachKeys: Uint8Array }): Promise<number>;
  /** `restart`: stop, then start in the background. */
  restart(id: string, o: { timeout?: number }): Promise<void>;
  /** Where a published port opens (a page: its /_skiff/ports/<port>/ route); absent: nothing to print. */
  portUrl?(hostPort: number): string;
  /** An extra line for `system df` (the browser's storage quota). */
  storageNote?(): Promise<string | undefined>;
  /** `cp SRC CONTAINER:DEST`: the host path as a tar whose entries are named from its last component; absent in a browser. */
  packHostPath?(path: string): Promise<{ tar: Uint8Array; dir: boolean }>;
  /** `cp CONTAINER:SRC DEST`: the tar (entries named from `src.name`) placed at the host path `dest` by Docker's rules; absent in a browser. */
  extractToHost?(dest: string, tar: Uint8Array, src: { name: string; dir: boolean; path: string }): Promise<void>;
  /** Calls `cb` on Ctrl-C while a command that runs until interrupted (`stats`) runs; returns the unsubscribe. Node: absent (SIGINT ends the process, as Docker's CLI). */
  onInterrupt?(cb: () => void): () => void;
}

export interface CommandContext {
  engine: CommandEngine;
  host: CommandHost;
  /** Text as the terminal should print it ("\n" line ends). */
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Command extends CommandSpec {
  /** Returns the exit status (Docker's: 0, 1 engine error, 125 usage); throwing is an error. */
  run(ctx: CommandContext, flags: FlagValues, args: string[]): Promise<number | void>;
}

/** Thrown to end the command with this exit status; a message is printed as `skiff: ...`. */
export class ExitStatusError extends Error {
  constructor(readonly status: number, message = '') {
    super(message);
  }
}

export function str(v: FlagValues[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function list(v: FlagValues[string]): string[] {
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A line out (a newline added when missing; nothing for ''). */
export function out(ctx: CommandContext, text: string): void {
  if (text !== '') ctx.stdout(text.endsWith('\n') ? text : `${text}\n`);
}
