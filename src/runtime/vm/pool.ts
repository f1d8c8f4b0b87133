/**
 * Containers prepared before they are needed (vm-images/agent/pool.c, PROTOCOL.md "Container
 * pool"). crun's create + start is most of a container start in the emulator, and right after a
 * snapshot restore the guest runs it at interpreter speed. A pooled container is a container crun
 * has already run with Docker's default confinement (every namespace, its cgroup, default
 * capabilities, no_new_privs, seccomp, masked and read-only paths), whose process is
 * skiff-pool-init waiting for a claim. Its root and /etc files are 9P exports of their own, bound
 * to placeholders until then; the boot snapshot holds the pool (container-runtime.ts).
 *
 * A start claims it only when the container's config.json, built exactly as for crun, equals the
 * pool's but for what a claim sets: argv, env, cwd and user (the init's job), the hostname, the
 * cgroup's name and limits (memory, swap, pids, cpu quota, written as crun writes them) and the
 * network namespace's name (whose interfaces the agent plugs as net_setup does). Any other
 * difference (volumes, tmpfs, capabilities, --read-only, --init, seccomp unconfined, a TTY, another
 * network mode ...) takes crun's path, unchanged. So a pooled container is confined exactly as crun
 * would have confined it. Its exports are then pointed at the container's overlay and /etc files
 * (P9Server.retargetExport: the guest keeps the fids it holds, resolved again by path).
 */
import { SkiffError } from '../../errors.ts';
import { emptyLayerTree, applyLayer } from '../../fs/layer.ts';
import { Overlay } from '../../fs/overlay.ts';
import { PendingIO } from '../../fs/pending-io.ts';
import type { FileSystem } from '../../fs/types.ts';
import { secretName } from '../../p9/exports-root.ts';
import type { P9Server } from '../../p9/server.ts';
import { buildContainerBundle } from '../spec/container.ts';
import type { ContainerSpec } from '../spec/container-spec.ts';
import { mountpointEntries } from '../spec/mountpoints.ts';
import type { OciResources, RuntimeSpec } from '../spec/types.ts';
import { resolvePath } from '../spec/users.ts';
import type { AgentProcess } from './agent-process.ts';
import type { AgentClient } from './agent-client.ts';
import { etcExport } from './exports.ts';
import { placeCgroup } from './device-cgroup.ts';
import { NETNS_DIR } from './guest-network.ts';

/** Pool channels, apart from the agent client's own numbering (which restarts in every process). */
export const POOL_CHANNEL_BASE = 0x4000_0000;
/** The pooled container's process: skiff-pool-init, passed by the agent as fd 3. */
const POOL_INIT_ARG = '/proc/self/fd/3';
/** The claim travels through a pipe the agent writes at once: keep it within the pipe's buffer. */
const MAX_CLAIM_BYTES = 60_000;

/** What a claim needs of the container (container-runtime.ts gives it). */
export interface ClaimPlan {
  /** config.json for crun's state (what `crun exec` reads). */
  config: RuntimeSpec;
  hostname: string;
  cgroup: Array<[string, string]>;
  claim: Uint8Array;
  ifaces: unknown[];
}

export interface PoolSlot {
  readonly poolId: string;
  readonly rootName: string;
  readonly etcName: string;
  readonly channel: number;
  pid: number;
  /** The pool's config.json (its cgroupsPath is the container's cgroup once claimed). */
  readonly config: RuntimeSpec;
  proc: AgentProcess | null;
  claimed: boolean;
}

/** The pool as stored beside a snapshot (container-runtime.ts host state). */
export interface PoolState {
  slots: Array<{ poolId: string; rootName: string; etcName: string; channel: number; pid: number; config: RuntimeSpec }>;
}

/** Docker's `docker run IMAGE` with nothing else: the profile a pooled container has. */
function templateSpec(): ContainerSpec {
  return {
    args: [POOL_INIT_ARG], entrypoint: [], cmd: [POOL_INIT_ARG], env: [], cwd: '/', user: '0:0', groupAdd: [],
    hostname: 'pool', tty: false, openStdin: false, mounts: [], tmpfs: [], limits: {},
    security: { readOnlyRootfs: false, capAdd: [], capDrop: [], seccomp: 'default' },
    init: false, stopSignal: 15 as ContainerSpec['stopSignal'], stopTimeout: 10,
  };
}

function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface PoolPaths {
  /** Where the exports are in the guest (container-runtime.ts GUEST_9P_ROOT). */
  root9p: string;
  /** The --init binary's guest path (the same as containers get). */
  init: string;
  cgroupParent: string;
}

export class ContainerPool {
  private readonly slots: PoolSlot[] = [];
  /** Slots whose container is being made: their exports exist already. */
  private readonly adding = new Set<PoolSlot>();
  private nextChannel = POOL_CHANNEL_BASE;

  constructor(private readonly server: P9Server, private readonly paths: PoolPaths) {}

  /** Unclaimed slots whose process is waiting. */
  get ready(): number {
    return this.slots.filter((s) => !s.claimed && s.proc && !s.proc.exit).length;
  }

  /** The pool's config.json, placed as crun's path places a container (device-cgroup.ts). */
  private configFor(poolId: string, rootName: string, etcName: string, devicesCgroup: string | undefined): RuntimeSpec {
    const spec = buildContainerBundle({
      id: poolId, spec: templateSpec(),
      paths: { root: `${this.paths.root9p}/${rootName}`, etcDir: `${this.paths.root9p}/${etcName}`, volume: () => '', init: this.paths.init },
      cgroupsPath: `${this.paths.cgroupParent}/${poolId}`, netns: `${NETNS_DIR}/${poolId}`,
    }).spec;
    return placeCgroup(spec, poolId, this.paths.cgroupParent, devicesCgroup).config;
  }

  /**
   * The root a slot has until it is claimed: the mount points crun needs, as every container's
   * init layer has them (engine/init-layer.ts), so that crun writes nothing there and a snapshot
   * restore rebuilds exactly what the guest's fids name.
   */
  private placeholders(config: RuntimeSpec): { root: FileSystem; etc: FileSystem } {
    const empty = new Overlay({ lower: emptyLayerTree(), readOnly: true });
    const root = new Overlay({ lower: applyLayer(null, mountpointEntries({ spec: config, rootfs: empty, mtime: 0 })) });
    return { root, etc: etcExport({ hosts: '', hostname: '', resolvConf: '' }) };
  }

  private addExports(slot: Pick<PoolSlot, 'rootName' | 'etcName' | 'config'>): void {
    const { root, etc } = this.placeholders(slot.config);
    // Not cacheable: the guest keeps nothing of the placeholder it could serve once the export is
    // retargeted to a container's root (cacheable entries are trusted until a new cache epoch).
    this.server.addExport(slot.rootName, root);
    this.server.addExport(slot.etcName, etc);
  }

  private watch(slot: PoolSlot): void {
    void slot.proc?.wait().then(() => this.forget(slot), () => this.forget(slot));
  }

  /** A slot that died unclaimed (its VM is gone, or it was killed): its exports go. */
  private forget(slot: PoolSlot): void {
    if (slot.claimed) return;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    for (const name of [slot.rootName, slot.etcName]) if (this.server.lookupExport(name)) this.server.removeExport(name);
  }

  /** One more pooled container (`crun run` in the guest: ~a container start of guest time). */
  async add(agent: AgentClient): Promise<void> {
    const poolId = randomHex(16);
    const rootName = secretName(`p-${poolId.slice(0, 8)}`);
    const etcName = secretName(`pe-${poolId.slice(0, 8)}`);
    const config = this.configFor(poolId, rootName, etcName, agent.info?.devices_cgroup);
    const slot: PoolSlot = { poolId, rootName, etcName, channel: this.nextChannel++, pid: 0, config, proc: null, claimed: false };
    this.addExports(slot);
    this.adding.add(slot);
    try {
      await agent.request('net_setup', { id: poolId, ifaces: [] });
      slot.proc = await agent.poolAdd({ channel: slot.channel, id: poolId, bundle: `/run/skiff/c/${poolId}`, config });
      slot.pid = slot.proc.pid;
    } catch (err) {
      this.forget(slot);
      await agent.request('net_teardown', { id: poolId }).catch(() => {});
      throw SkiffError.wrap(err, 'adding a container to the pool');
    } finally {
      this.adding.delete(slot);
    }
    this.slots.push(slot);
    this.watch(slot);
  }

  /** For the snapshot: the slots as they are (unclaimed ones only). */
  state(): PoolState {
    return { slots: this.slots.filter((s) => !s.claimed && s.proc && !s.proc.exit).map((s) => ({ poolId: s.poolId, rootName: s.rootName, etcName: s.etcName, channel: s.channel, pid: s.pid, config: s.config })) };
  }

  /**
   * After a snapshot restore: the slots it holds, their exports (added before the 9P server's
   * fids are restored) and their processes' channels.
   */
  restore(agent: AgentClient, state: PoolState): void {
    this.clear();
    for (const s of state.slots) {
      const slot: PoolSlot = { ...s, proc: agent.adoptChannel(s.channel, s.pid), claimed: false };
      this.addExports(slot);
      this.slots.push(slot);
      this.nextChannel = Math.max(this.nextChannel, s.channel + 1);
      this.watch(slot);
    }
  }

  /** Forgets every slot (a restore that failed; a VM that went away). */
  clear(): void {
    for (const s of this.slots.splice(0)) {
      s.claimed = true;
      for (const name of [s.rootName, s.etcName]) if (this.server.lookupExport(name)) this.server.removeExport(name);
    }
  }

  exportNames(): string[] {
    return [...this.slots, ...this.adding].flatMap((s) => [s.rootName, s.etcName]);
  }

  /** An unclaimed slot to try, or null. */
  peek(): PoolSlot | null {
    return this.slots.find((s) => !s.claimed && s.proc && !s.proc.exit) ?? null;
  }

  /**
   * What claiming `slot` for a container whose config.json (built with the slot's export paths and
   * placed by device-cgroup.ts) is `config` takes, or null when it does not fit the pool's profile.
   */
  plan(slot: PoolSlot, id: string, config: RuntimeSpec, rootfs: FileSystem, ifaces: unknown[]): ClaimPlan | null {
    // As crun's path would place it: the same tree as the pool's (device rules, device-cgroup.ts).
    const placedPath = config.linux.cgroupsPath ?? '';
    const poolPath = slot.config.linux.cgroupsPath ?? '';
    if (placedPath.slice(0, placedPath.length - id.length) !== poolPath.slice(0, poolPath.length - slot.poolId.length)) return null;
    const cgroup = cgroupWrites(config.linux.resources);
    if (!cgroup) return null;
    if (config.process.terminal) return null;
    if (JSON.stringify(normalize(config, `${NETNS_DIR}/${id}`)) !== JSON.stringify(normalize(slot.config, `${NETNS_DIR}/${slot.poolId}`))) return null;
    const p = config.process;
    // A missing or non-executable command takes crun's path, which reports it as Docker does (127/126).
    if (!findsExecutable(rootfs, p.args[0]!, p.cwd, p.env, p.user.uid)) return null;
    const groups = p.user.additionalGids ?? [];
    const fields = [String(p.user.uid), String(p.user.gid), String(groups.length), ...groups.map(String), p.cwd, String(p.args.length), ...p.args, ...p.env];
    if (fields.some((f) => f.includes('\0'))) return null;
    const claim = new TextEncoder().encode(fields.map((f) => `${f}\0`).join(''));
    if (claim.length > MAX_CLAIM_BYTES) return null;
    return { config, hostname: config.hostname ?? '', cgroup, claim, ifaces };
  }

  /** Takes `slot` out of the pool for a claim; false if it is gone meanwhile. Its exports are the caller's now. */
  take(slot: PoolSlot): boolean {
    const i = this.slots.indexOf(slot);
    if (i < 0 || slot.claimed || !slot.proc || slot.proc.exit) return false;
    slot.claimed = true;
    this.slots.splice(i, 1);
    return true;
  }

  /** Claims a taken `slot` (see plan). */
  claim(agent: AgentClient, slot: PoolSlot, id: string, plan: ClaimPlan): Promise<AgentProcess> {
    return agent.poolClaim({
      poolChannel: slot.channel, poolId: slot.poolId, id, config: JSON.stringify(plan.config), hostname: plan.hostname,
      cgroup: plan.cgroup, claim: plan.claim, netnsFrom: slot.poolId, ifaces: plan.ifaces,
    });
  }
}

/** A config.json without what a claim sets (a network namespace of its own is compared as "own"). */
function normalize(config: RuntimeSpec, ownNetns: string): unknown {
  const { args: _a, env: _e, cwd: _c, user: _u, ...process } = config.process;
  const { cgroupsPath: _g, resources, namespaces, ...linux } = config.linux;
  const { hostname: _h, annotations: _n, ...rest } = config;
  return {
    ...rest, process,
    linux: {
      ...linux, devices: resources?.devices ?? null,
      // Its own namespace, whether the runtime pins it or crun makes it (loopback only: the claim gives none).
      namespaces: namespaces.map((n) => (n.type === 'network' && (n.path === ownNetns || n.path === undefined) ? { type: 'network', path: 'own' } : n)),
    },
  };
}

/**
 * The cgroup v2 files and values crun 1.8.1 writes for `r` (libcrun/cgroup-resources.c: swap then
 * memory, pids, cpu.max), devices aside (the pool's rules, compared in normalize); null for a
 * resource a claim does not set.
 */
export function cgroupWrites(r: OciResources | undefined): Array<[string, string]> | null {
  const { devices: _d, memory, pids, cpu, ...other } = r ?? {};
  if (Object.keys(other).length) return null;
  const w: Array<[string, string]> = [];
  const v = (n: number) => (n === -1 ? 'max' : String(n));
  if (memory) {
    const { limit, swap, ...m } = memory;
    if (Object.keys(m).length) return null;
    if (swap !== undefined) {
      if (swap !== -1 && (limit === undefined || swap < limit)) return null;
      w.push(['memory.swap.max', swap === -1 ? 'max' : String(swap - limit!)]);
    }
    if (limit !== undefined) w.push(['memory.max', v(limit)]);
  }
  if (pids) {
    const { limit, ...p } = pids;
    if (Object.keys(p).length) return null;
    if (limit) w.push(['pids.max', v(limit)]);
  }
  if (cpu) {
    const { quota, period, ...c } = cpu;
    if (Object.keys(c).length || !(quota !== undefined && quota > 0 && period !== undefined && period > 0)) return null;
    w.push(['cpu.max', `${quota} ${period}`]);
  }
  return w;
}

/** crun's lookup (find_executable) as far as the host can tell: a regular file the user may execute. */
function findsExecutable(rootfs: FileSystem, exe: string, cwd: string, env: readonly string[], uid: number): boolean {
  const candidates: string[] = [];
  if (exe.startsWith('/')) candidates.push(exe);
  else if (exe.startsWith('.') || exe.includes('/')) candidates.push(`${cwd}/${exe}`);
  else {
    const path = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
    for (const dir of path.split(':')) candidates.push(`${dir === '' ? cwd : dir.startsWith('/') ? dir : `${cwd}/${dir}`}/${exe}`);
  }
  for (const c of candidates) {
    try {
      const st = rootfs.stat(resolvePath(rootfs, c));
      if (st.kind !== 'file') continue;
      const x = uid === 0 ? st.mode & 0o111 : st.uid === uid ? st.mode & 0o100 : st.mode & 0o001;
      if (x) return true;
    } catch (err) {
      if (err instanceof PendingIO) throw err;
    }
  }
  return false;
}
