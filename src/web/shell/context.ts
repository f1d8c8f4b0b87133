/**
 * What the browser terminal gives the shell: text output, the engine worker, and the page's file
 * affordances. Sans-IO: the terminal page (xterm.js) and the tests provide these; the commands
 * (the CLI's table, cli/commands) never touch the DOM.
 */
import type { Remote } from 'comlink';
import type { Capabilities, EngineApi } from '../rpc/protocol.ts';

export interface ShellEngine {
  /** The worker's API; `api.engine` is the Engine's own. */
  readonly api: Remote<EngineApi> | EngineApi;
}

/** The terminal's keyboard while a `run -i` process reads it. */
export interface StdinAttachment {
  /** The next line typed (with its newline), or null after Ctrl-D. */
  read(): Promise<Uint8Array | null>;
  /** Ctrl-C while attached (in cooked mode). */
  onInterrupt(cb: () => void): void;
  /** Raw: every key goes to the process as typed (a guest PTY echoes and edits). */
  setRaw(raw: boolean): void;
  detach(): void;
}

export interface ShellContext {
  engine: ShellEngine;
  /** Text as the terminal should print it ("\n" line ends; the terminal adapter converts). */
  stdout(text: string): void;
  stderr(text: string): void;
  /** Offer bytes to the user as a file download. */
  download(blob: Blob, filename: string): void;
  /** Ask the user for archive files (a file picker); empty when cancelled. */
  pickFiles(): Promise<File[]>;
  /** One progress bar, redrawn in place; `done()` clears it. */
  progress(label: string, done: number, total?: number): void;
  progressDone(): void;
  /** A block of lines redrawn in place (a pull's bar per layer), cleared by progressDone. */
  progressLines?(rows: string[]): void;
  /** A transient status line ("starting the Linux VM…"), cleared by progressDone. */
  note?(text: string): void;
  capabilities(): Promise<Capabilities>;
  /** Hand the keyboard to a process (`run -i`); absent where there is no keyboard. */
  attachStdin?(): StdinAttachment;
  /** The terminal's size (for `-t`). */
  size?(): { cols: number; rows: number };
  /** Calls `cb` when the terminal is resized; returns the unsubscribe. */
  onResize?(cb: (size: { cols: number; rows: number }) => void): () => void;
}
