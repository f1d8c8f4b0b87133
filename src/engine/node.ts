/** Engine.open on Node: stores under $SKIFF_HOME (or the platform data dir). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NodeFsContentStore } from '../content/node-fs.ts';
import { bundledFromDir, defaultBundledDir } from './bundled.ts';
import { Engine, type OpenOptions } from './engine.ts';
import { NodeFsStateStore } from './state/node-fs.ts';
import type { RuntimeFactories } from './lifecycle.ts';

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env['SKIFF_HOME']) return env['SKIFF_HOME'];
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'skiff');
  if (platform === 'win32') return join(env['LOCALAPPDATA'] ?? join(homedir(), 'AppData', 'Local'), 'skiff');
  return join(env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share'), 'skiff');
}

/** The Node runtimes, loaded on first use (the VM pulls in v86). */
export const nodeRuntimes: RuntimeFactories = {
  // The emulator runs in this thread (9P served by a call, not a message hop) with V8's wasm
  // tier-up budget raised: about half the cold boot, at the cost of later tier-up for other wasm.
  vm: async () => new (await import('../runtime/vm/container-runtime.ts')).VmRuntime({ machine: { tuneWasmTiering: true } }),
  wasi: async () => new (await import('../runtime/wasi/runtime.ts')).WasiRuntime(),
};

export async function openNodeEngine(options: OpenOptions = {}): Promise<Engine> {
  const home = options.home ?? defaultHome();
  return new Engine({
    content: new NodeFsContentStore({ root: join(home, 'content') }),
    state: new NodeFsStateStore({ root: join(home, 'state') }),
    ...(options.bundled !== false ? { bundled: bundledFromDir(defaultBundledDir()) } : {}),
    runtimes: options.runtimes ?? nodeRuntimes,
  });
}
