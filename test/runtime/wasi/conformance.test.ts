/** The runtime conformance suite (../conformance.ts) on the WASI runtime: the fsops and spin modules. */
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';
import { nodeWasiSpawn } from '../../../src/node.ts';
import { WasiRuntime } from '../../../src/runtime/wasi/runtime.ts';
import { tar } from '../../engine/fixtures/images.ts';
import { runtimeConformance } from '../conformance.ts';
import { fixture } from './helpers.ts';

const fsops = (...args: string[]) => ['/bin/fsops.wasm', ...args];

runtimeConformance({
  name: 'wasi',
  timeout: 60_000,
  engine: async () => new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) } }),
  async image(e) {
    await e.importImage({
      data: tar([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/fsops.wasm', content: fixture('fsops'), mode: 0o755 },
        { name: 'bin/spin.wasm', content: fixture('spin'), mode: 0o755 },
        { name: 'etc/', type: 'directory' },
        { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
      ]),
      ref: 'conformance/wasi:1', platform: { os: 'wasi', architecture: 'wasm' },
      changes: { Env: ['FROM_IMAGE=yes', 'B=image'], WorkingDir: '/work', Entrypoint: ['/bin/fsops.wasm'] },
    });
    return 'conformance/wasi:1';
  },
  program: {
    printEnv: (name) => fsops('env', name),
    pwd: () => fsops('env', 'PWD'),
    write: (path, text) => fsops('write', path, text),
    cat: (path) => fsops('cat', path),
    stdin: () => fsops('stdin'),
    exit: (code) => fsops('exit', String(code)),
    spin: () => ['/bin/spin.wasm'],
  },
});
