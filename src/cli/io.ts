/** What a command touches outside itself: output streams, stdin, and the engine (opened lazily). */
import type { Engine } from '../engine/engine.ts';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean });
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  engine(): Promise<Engine>;
}

export function out(io: CliIO, text: string): void {
  io.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

/** Collects repeated options (`-e A=1 -e B=2`). */
export function collectOpt(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}
