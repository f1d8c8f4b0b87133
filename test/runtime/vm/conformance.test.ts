/** The runtime conformance suite (../conformance.ts) on the VM runtime: busybox in the guest. */
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../../src/engine/bundled.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';
import { nodeRuntimes } from '../../../src/node.ts';
import { runtimeConformance } from '../conformance.ts';

const sh = (script: string, ...args: string[]) => ['/bin/sh', '-c', script, 'sh', ...args];

runtimeConformance({
  name: 'vm',
  timeout: 180_000,
  engine: async () => new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: { vm: nodeRuntimes.vm! } }),
  async image(e) {
    // busybox with the suite's Env and WorkingDir (committed: no VM needed for that).
    const c = await e.createContainer({ image: 'skiff/busybox', cmd: ['true'] });
    await e.commitContainer({ id: c.id, ref: 'conformance/vm:1', changes: ['ENV FROM_IMAGE=yes B=image', 'WORKDIR /work', 'CMD ["true"]'] });
    await e.removeContainer({ id: c.id });
    return 'conformance/vm:1';
  },
  program: {
    printEnv: (name) => sh(`echo "\${${name}-(unset)}"`),
    pwd: () => sh('pwd'),
    write: (path, text) => sh('printf %s "$2" > "$1" && echo ok', path, text),
    cat: (path) => sh('cat "$1" && echo', path),
    stdin: () => ['/bin/cat'],
    exit: (code) => sh(`exit ${code}`),
    spin: () => ['/bin/sleep', '1000'],
  },
});
