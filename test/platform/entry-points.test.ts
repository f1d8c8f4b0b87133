/**
 * The two entry points (src/node.ts, src/browser.ts) are the only code that knows where it runs:
 * no module below them sniffs its environment or hides an import of our own code from bundlers,
 * and the pieces they build agree on the defaults.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasNodeZlib } from '../../src/archive/zlib-node.ts';
import { defaultHome, nodeMachineOptions, nodeRuntimes } from '../../src/node.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []);
}

describe('entry points', () => {
  it('no module under src/ or workers/ asks which environment it is in', () => {
    const sniffing = /process\??\.versions|typeof process|getBuiltinModule|typeof window|WorkerGlobalScope !==|WorkerGlobalScope ===|isNode\b/;
    const hiddenImport = /import\(\s*\/\*\s*@vite-ignore/;
    const found: string[] = [];
    for (const f of [...sources(join(root, 'src')), ...sources(join(root, 'workers'))]) {
      const text = readFileSync(f, 'utf8');
      text.split('\n').forEach((line, i) => {
        if (sniffing.test(line) || hiddenImport.test(line)) found.push(`${relative(root, f)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it('the engine does not import its entry point back (no engine.ts <-> node.ts cycle)', () => {
    for (const f of sources(join(root, 'src', 'engine'))) {
      expect(readFileSync(f, 'utf8'), relative(root, f)).not.toMatch(/from '(\.\.\/)+(node|browser)\.ts'|import\('\.\/node\.ts'\)/);
    }
  });

  it('Node: native gzip installed, the VM in the engine thread by default, the data dir from the environment', async () => {
    expect(hasNodeZlib()).toBe(true);
    const m = nodeMachineOptions({ snapshots: null, tuneWasmTiering: false });
    expect(m.snapshots).toBeNull();
    // The in-thread emulator loads v86.wasm itself; a worker_threads handle hands over a compiled module.
    const inline = await m.spawnWorker();
    expect(inline.wasmModule).toBeUndefined();
    expect(inline.wasmPath).toMatch(/v86\.wasm$/);
    await inline.terminate();
    const worker = await nodeMachineOptions({ snapshots: null, tuneWasmTiering: false, thread: 'worker' }).spawnWorker();
    expect(typeof worker.wasmModule).toBe('function');
    await worker.terminate();
    expect(Object.keys(nodeRuntimes).sort()).toEqual(['vm', 'wasi']);
    expect(defaultHome({ SKIFF_HOME: '/x' }, 'linux')).toBe('/x');
    expect(defaultHome({ XDG_DATA_HOME: '/d', HOME: '/h' }, 'linux')).toBe('/d/skiff');
  });

  it('package.json resolves the package to src/node.ts on Node and src/browser.ts for browsers', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    expect(pkg.exports['.']).toMatchObject({ node: './src/node.ts', browser: './src/browser.ts' });
  });
});
