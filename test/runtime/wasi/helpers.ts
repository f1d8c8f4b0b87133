/** Shared by the WASI runtime tests: fixture modules (built by their script), runners, Node's oracle. */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { Overlay } from '../../../src/fs/overlay.ts';
import { nodeWasiSpawn } from '../../../src/node.ts';
import { runWasi, type RunWasiOptions, type WasiExit } from '../../../src/runtime/wasi/index.ts';
import { requireTool } from '../../helpers/peers.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/wasi/', import.meta.url));
let built = false;

/** A module from test/fixtures/wasi/<name>.c, built with clang-16 on first use. */
export function fixture(name: string): Uint8Array {
  if (!built && requireTool('clang-16', 'clang-16')) {
    execFileSync('sh', [join(fixtures, 'build.sh')], { stdio: 'inherit' });
    built = true;
  }
  return new Uint8Array(readFileSync(join(fixtures, 'out', `${name}.wasm`)));
}

export function emptyOverlay(): Overlay {
  return new Overlay({ lower: null });
}

export interface Captured extends WasiExit {
  stdout: string;
  stderr: string;
}

const dec = () => new TextDecoder();

/** runWasi, with stdout/stderr collected as text. */
export async function capture(opts: Omit<RunWasiOptions, 'onStdout' | 'onStderr'>): Promise<Captured> {
  const out = dec();
  const err = dec();
  let stdout = '';
  let stderr = '';
  const proc = runWasi({
    spawn: nodeWasiSpawn(),
    ...opts,
    onStdout: (d) => (stdout += out.decode(d, { stream: true })),
    onStderr: (d) => (stderr += err.decode(d, { stream: true })),
  });
  const exit = await proc.exited;
  return { ...exit, stdout: stdout + out.decode(), stderr: stderr + err.decode() };
}

/** The same module under Node's own WASI (uvwasi), `/` preopened on a fresh host directory. */
export async function captureNodeWasi(opts: { module: Uint8Array; args: string[]; env: Record<string, string>; stdin: string; setup?: (root: string) => void }): Promise<Captured & { root: string }> {
  const root = mkdtempSync(join(tmpdir(), 'skiff-wasi-oracle-'));
  const io = mkdtempSync(join(tmpdir(), 'skiff-wasi-io-'));
  opts.setup?.(root);
  writeFileSync(join(io, 'in'), opts.stdin);
  const fin = openSync(join(io, 'in'), 'r');
  const fout = openSync(join(io, 'out'), 'w');
  const ferr = openSync(join(io, 'err'), 'w');
  try {
    const wasi = new WASI({ version: 'preview1', args: opts.args, env: opts.env, preopens: { '/': root }, returnOnExit: true, stdin: fin, stdout: fout, stderr: ferr });
    const mod = await WebAssembly.compile(opts.module as Uint8Array<ArrayBuffer>);
    const inst = await WebAssembly.instantiate(mod, wasi.getImportObject() as WebAssembly.Imports);
    const exitCode = wasi.start(inst);
    return { exitCode, stdout: readFileSync(join(io, 'out'), 'utf8'), stderr: readFileSync(join(io, 'err'), 'utf8'), root };
  } finally {
    for (const fd of [fin, fout, ferr]) closeSync(fd);
    rmSync(io, { recursive: true, force: true });
  }
}
