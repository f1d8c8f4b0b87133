/**
 * vitest setupFiles: Node's native gzip and SHA-256, as src/node.ts installs them for every Node
 * process, also for tests that import the modules below the entry point directly.
 */
import { useNodeNatives } from '../../src/node-natives.ts';

useNodeNatives();
