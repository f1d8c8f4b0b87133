/**
 * What callers hand the lifecycle and get back: the options of start, run and exec, and the
 * results of run. lifecycle.ts re-exports them (the CLI, the API and the page import them there).
 */
import type { ExitStatus, ProcessIO, RuntimeProcess } from '../runtime/types.ts';
import type { StartSecrets } from '../runtime/secrets.ts';
import type { CreateContainerOptions } from './containers.ts';
import type { ExecSpec } from './control/protocol.ts';
import type { ContainerId, ContainerRecord } from './types.ts';

export interface StartOptions {
  /** Output (with a TTY, all of it on onStdout). */
  io?: ProcessIO;
  consoleSize?: { cols: number; rows: number };
  /**
   * Process-only variables and in-memory files for this start (build secrets, runtime/secrets.ts):
   * handed to the runtime only, never stored in the record, its spec, a layer or the log.
   */
  secrets?: StartSecrets;
}

/**
 * `docker run` in one call: create, start, feed stdin, wait, with the hooks a terminal needs.
 *   - `io`, `consoleSize`: output and the TTY's size (`run.tty` / `tty` asks for a TTY);
 *   - `stdin`: bytes or text (written, then EOF) or a stream (a keyboard: pumped until it ends or
 *     the process exits); giving it opens stdin;
 *   - `onCreated(rec)`: after create, before start (print the id, say "starting the VM…");
 *   - `onStarted({container, process})`: once it runs: the handle for resize, signals and stdin;
 *   - `detach`: return once started (`docker run -d`); the exit is recorded all the same;
 *   - `run.rm` (`--rm`): the container and its anonymous volumes are removed when it ends, or
 *     when it could not start.
 */
export interface RunContainerOptions extends CreateContainerOptions, StartOptions {
  stdin?: Uint8Array | string | AsyncIterable<Uint8Array>;
  detach?: boolean;
  onCreated?(container: ContainerRecord): void | Promise<void>;
  onStarted?(started: { container: ContainerRecord; process: RuntimeProcess }): void;
}

export interface StartedContainer {
  id: ContainerId;
  name: string;
  runtime: string;
  process: RuntimeProcess;
}

export interface RunResult {
  id: ContainerId;
  name: string;
  exit: ExitStatus;
}

/** The exec that also crosses the control channel (ExecSpec), plus the local io. */
export interface ExecOptions extends StartOptions, ExecSpec {}
