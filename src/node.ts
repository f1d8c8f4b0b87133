/**
 * The Node entry point (package.json `exports`, condition "node"): the one place that knows it runs
 * on Node. It builds the platform pieces (node-fs content, state and layer stores under
 * $SKIFF_HOME, the guest artifacts in vm-images/dist, VM snapshot files, worker_threads spawners,
 * Node's zlib and SHA-256 for layers and VM states alike, host directories for bind mounts, the
 * control plane, the registry client) and hands them to the environment-free engine and runtimes.
 * The browser's twin is src/browser.ts.
 *
 * The VM and WASI runtimes are loaded on first use (the VM pulls in v86): a CLI command that runs
 * no container does not pay for them.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NodeFsContentStore } from './content/node-fs.ts';
import { useNodeNatives } from './node-natives.ts';
import { bundledFromDir, defaultBundledDir } from './engine/bundled.ts';
import { NodeControlPlane } from './engine/control/node.ts';
import { NodeFsEventJournal } from './engine/events/node-fs.ts';
import { Engine, type HostDirFactory } from './engine/engine.ts';
import type { RuntimeFactories } from './engine/lifecycle.ts';
import { NodeFsSnapshotStore } from './engine/snapshots/node-fs.ts';
import { NodeFsStateStore } from './engine/state/node-fs.ts';
import { HostDirFileSystem } from './fs/host-dir.ts';
import { nodeRegistryClient } from './registry/node.ts';
import { nodeArtifacts } from './runtime/vm/artifacts-node.ts';
import type { VmRuntime, VmRuntimeOptions } from './runtime/vm/container-runtime.ts';
import type { MachineOptions } from './runtime/vm/machine.ts';
import type { VmNetworkOptions } from './runtime/vm/network.ts';
import { nodeSnapshots } from './runtime/vm/snapshot-node.ts';
import type { VmSnapshotStore } from './runtime/vm/snapshot-store.ts';
import type { WasiRuntime, WasiRuntimeOptions } from './runtime/wasi/runtime.ts';
import { withSpare, type PooledSpawn } from './runtime/wasi/worker-handle.ts';

export * from './engine/index.ts';

// Native gzip and SHA-256 for everything this process does from here on.
useNodeNatives();

export interface OpenOptions {
  /** Data directory; default $SKIFF_HOME, else the platform data dir (e.g. ~/.local/share/skiff). */
  home?: string;
  /** Load bundled images from vm-images/images/ on first use (default true). */
  bundled?: boolean;
  /** Default: the VM and WASI runtimes as Node runs them (nodeRuntimes). */
  runtimes?: RuntimeFactories;
}

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env['SKIFF_HOME']) return env['SKIFF_HOME'];
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'skiff');
  if (platform === 'win32') return join(env['LOCALAPPDATA'] ?? join(homedir(), 'AppData', 'Local'), 'skiff');
  return join(env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share'), 'skiff');
}

/** An engine over `home` (default $SKIFF_HOME): what the CLI opens. */
export async function openEngine(options: OpenOptions = {}): Promise<Engine> {
  const home = options.home ?? defaultHome();
  return new Engine({
    content: new NodeFsContentStore({ root: join(home, 'content') }),
    state: new NodeFsStateStore({ root: join(home, 'state') }),
    snapshots: new NodeFsSnapshotStore({ root: join(home, 'layers') }),
    ...(options.bundled !== false ? { bundled: bundledFromDir(defaultBundledDir()) } : {}),
    runtimes: options.runtimes ?? nodeRuntimes,
    hostDir: nodeHostDir,
    control: new NodeControlPlane({ home }),
    registry: nodeRegistryClient(home),
    // Docker's events, from every skiff process over this home (`skiff events`, GET /events).
    events: new NodeFsEventJournal({ dir: join(home, 'events') }),
  });
}

/** Bind mounts: a directory of this machine. */
export const nodeHostDir: HostDirFactory = (o) => new HostDirFileSystem(o);

/** The Node runtimes, created on first use. */
export const nodeRuntimes: RuntimeFactories = {
  vm: () => nodeVmRuntime(),
  wasi: () => nodeWasiRuntime(),
};

// ---- the VM ----

export interface NodeMachineOptions {
  /**
   * 'inline' (the default, as the CLI runs it): the emulator in this thread, so a 9P request
   * reaches the engine's overlays with a function call; 'worker': a worker_threads Worker.
   */
  thread?: 'inline' | 'worker';
  /** Default: files under $SKIFF_HOME/vm/snapshots (or the cache dir); null: never save or restore. */
  snapshots?: VmSnapshotStore | null;
  /** Guest artifacts' directory; default the repository's vm-images/dist. */
  artifactDir?: string;
  /**
   * Raise V8's wasm tier-up budget when the VM first boots (default true; worker-node.ts
   * tuneWasmTiering): about half the cold boot, at the cost of later tier-up for other wasm.
   */
  tuneWasmTiering?: boolean;
}

/** Everything Machine.start needs on Node but the 9P handler. */
export function nodeMachineOptions(o: NodeMachineOptions = {}): Omit<MachineOptions, 'handle9p'> {
  const thread = o.thread ?? 'inline';
  const tune = o.tuneWasmTiering ?? true;
  const trace = vmTraceFromEnv();
  return {
    artifacts: nodeArtifacts(o.artifactDir),
    snapshots: o.snapshots === undefined ? nodeSnapshots() : o.snapshots,
    spawnWorker: async () => {
      const node = await import('./runtime/vm/worker-node.ts');
      if (tune) node.tuneWasmTiering();
      if (thread === 'worker') return node.spawnNodeVmWorker();
      const { spawnInlineVmWorker } = await import('./runtime/vm/worker-inline.ts');
      return spawnInlineVmWorker({ wasmPath: node.v86WasmPath });
    },
    ...(trace ? { trace } : {}),
  };
}

/**
 * SKIFF_TRACE, a comma-separated list: "vm" (or 1, all) logs every agent frame and console line,
 * "9p" every 9P message, "net" every connection the network peer opens or refuses, to stderr.
 */
function traced(topic: 'vm' | '9p' | 'net'): boolean {
  const topics = (process.env['SKIFF_TRACE'] ?? '').split(',').map((t) => t.trim());
  return topics.includes(topic) || (topic === 'vm' && (topics.includes('1') || topics.includes('all')));
}

function vmTraceFromEnv(): true | undefined {
  return traced('vm') ? true : undefined;
}

/**
 * The VM runtime as the CLI runs it; `machine` overrides parts of nodeMachineOptions().
 * SKIFF_VM_POOL=<n> sets the container pool's size (runtime/vm/pool.ts; 0: every start takes crun's path).
 */
export async function nodeVmRuntime(o: Partial<VmRuntimeOptions> & { node?: NodeMachineOptions } = {}): Promise<VmRuntime> {
  const { VmRuntime } = await import('./runtime/vm/container-runtime.ts');
  const { node, machine, p9, network, ...rest } = o;
  const pool = process.env['SKIFF_VM_POOL'];
  return new VmRuntime({
    ...(pool !== undefined && /^\d+$/.test(pool) ? { pool: Number(pool) } : {}),
    ...rest,
    p9: { ...(traced('9p') ? { trace: true } : {}), ...p9 },
    machine: { ...nodeMachineOptions(node), ...machine },
    network: { ...(await nodeNetwork()), ...network },
  });
}

/** The guest NIC's host side on Node: this process's sockets and resolver, listeners for `-p`. */
export async function nodeNetwork(): Promise<VmNetworkOptions> {
  const net = await import('./net/node.ts');
  const trace = traced('net') ? (line: string) => console.error(`[skiff net] ${line}`) : undefined;
  return { dialer: net.nodeDialer(), upstream: net.nodeUpstream, publish: net.publishPort, ...(trace ? { trace } : {}) };
}

// ---- WASI ----

let wasiSpawn: PooledSpawn | undefined;

/** worker_threads workers for wasm modules, one spare kept warm (shared by the whole process). */
export function nodeWasiSpawn(): PooledSpawn {
  return (wasiSpawn ??= withSpare(async () => (await import('./runtime/wasi/worker-node.ts')).spawnNodeWorker()));
}

/**
 * The WASI runtime with Node's workers (each module in its own worker_threads Worker); with
 * SKIFF_TRACE_WASI set, every WASI and filesystem call is logged to stderr.
 */
export async function nodeWasiRuntime(o: WasiRuntimeOptions = {}): Promise<WasiRuntime> {
  const { WasiRuntime } = await import('./runtime/wasi/runtime.ts');
  const trace = process.env['SKIFF_TRACE_WASI'] ? (line: string) => console.error(`[skiff wasi] ${line}`) : undefined;
  return new WasiRuntime({ spawn: nodeWasiSpawn(), ...(trace ? { trace } : {}), ...o });
}
