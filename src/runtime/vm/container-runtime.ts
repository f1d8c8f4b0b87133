/**
 * The VM backend of the engine's `ContainerRuntime` (runtime/types.ts): one guest Machine per
 * runtime, booted (or restored from its snapshot) on first use and shared by every container, and
 * one P9Server beside it with an export per container root, per container's /etc files and per
 * volume. The agent mounts the server's export directory once at /run/skiff/9p; a container's
 * config.json then names its exports there directly (root.path, bind sources), so a start costs a
 * single agent round trip (`run`: write config.json, crun create, crun start).
 *
 * Where the emulator runs is the entry point's choice (the `spawnWorker` it passes): both run it
 * in the engine's own thread (worker-inline.ts), so a 9P request reaches the overlays the engine
 * owns with a function call; a worker (worker-node.ts, worker-web.ts) relays each 9P message.
 */
import { SkiffError } from '../../errors.ts';
import type { FileSystem } from '../../fs/types.ts';
import { secretName } from '../../p9/exports-root.ts';
import { P9Server, type P9ServerOptions } from '../../p9/server.ts';
import { buildContainerBundle } from '../spec/container.ts';
import { buildExecProcess } from '../spec/exec.ts';
import type { RuntimeSpec } from '../spec/types.ts';
import { cleanPath } from '../spec/volumes.ts';
import { withSecrets } from '../secrets.ts';
import type { ContainerRuntime, ExecRequest, ExitStatus, LimitUpdate, MountedVolume, ProcessIO, ResourceStats, RuntimeInterface, RuntimeProcess, StartContainerRequest } from '../types.ts';
import type { AgentProcess } from './agent-process.ts';
import { countingFs, freezeCgroup, newIoCounter, readCgroupStats, updateCgroup, type IoCounter } from './cgroups.ts';
import { placeCgroup } from './device-cgroup.ts';
import { etcExport, initExport } from './exports.ts';
import { Machine, type MachineOptions } from './machine.ts';
import { VmNetwork, type PeerDirectory, type PortBinding, type VmNetworkOptions } from './network.ts';
import { SeccompFilters } from './seccomp-filters.ts';
import { signalName, signalNumber } from './signals.ts';
import { GuestNetworks, netnsOf, wire } from './guest-network.ts';
import { ContainerPool, type PoolState } from './pool.ts';
import { AgentTimeout } from './agent-client.ts';
import type { P9ServerState } from '../../p9/server.ts';
import { retryAfterIO } from '../../fs/pending-io.ts';

/** How long after a container's exit its `crun delete` waits (release). */
const DELETE_DELAY_MS = 1000;
/** Where the agent mounts the 9P server's directory of exports (vm-images/agent/PROTOCOL.md). */
export const GUEST_9P_ROOT = '/run/skiff/9p';
const INIT_EXPORT = 'skiff-init';
/** Any write starts a new epoch of the guest's 9P cache (vm-images/kernel/skiff-9p-cache.patch). */
const GUEST_CACHE_EPOCH = '/sys/fs/9p/skiff_epoch';

export interface VmRuntimeOptions {
  /** Passed to Machine.start (artifacts, worker, snapshots, memory, trace ...). */
  machine: Omit<MachineOptions, 'handle9p'>;
  /**
   * A Machine started before this runtime existed (the browser's engine worker restores the VM
   * while the engine loads, web/worker/early-vm.ts), for the first boot; this runtime installs
   * its 9P handler. Undefined, or one that failed to start: Machine.start with `machine`.
   */
  adopt?: () => Promise<Machine> | undefined;
  p9?: P9ServerOptions;
  /** The 9P mount's msize (the agent's default is 128 KiB). */
  msize?: number;
  /** The 9P mount's cache mode (Linux v9fs: none, loose, mmap ...); default none. */
  cache?: string;
  /**
   * Let the guest cache container roots' entries and attributes (ExportOptions.cacheable; default
   * true). false: every lookup and stat asks the server, as before (benches compare the two).
   */
  guestCache?: boolean;
  /**
   * The guest shares the inode and page cache of untouched image files among the containers of
   * an image (P9ServerOptions.shareImageFiles, src/p9/share.ts; default true). false: each
   * container reads its image's files into its own page cache, as before (benches compare).
   */
  shareImageFiles?: boolean;
  /** crun's cgroup for container `id` is `${cgroupParent}/${id}`. Default "/skiff". */
  cgroupParent?: string;
  /** The guest NIC's host side: outbound, DNS upstream, published ports (network.ts). */
  network?: VmNetworkOptions;
  /** Containers kept prepared in the guest (pool.ts) and in its snapshot; default 1, 0 for none. */
  pool?: number;
}

/** What the snapshot holds of the host side (Machine's prepareSnapshot, restoredHost). */
interface HostState {
  p9: P9ServerState;
  pool: PoolState;
}

/** After a claim, the pool is filled again this much later: not while the claimed container starts. */
const POOL_REFILL_DELAY_MS = 1500;
/** A refill due while a container starts tries again this much later. */
const REFILL_RETRY_MS = 300;

/** A RuntimeProcess that also knows its pid in the guest's root pid namespace. */
export interface VmProcess extends RuntimeProcess {
  readonly pid: number;
  /** The published ports as bound (real host ports), for the record, `port` and `ps`. */
  ports?: PortBinding[];
}

interface Running {
  id: string;
  spec: RuntimeSpec;
  rootfs: FileSystem;
  exports: string[];
  /** Its /etc files' export (hosts, hostname, resolv.conf) as the container reads and writes them. */
  etc?: FileSystem;
  volumes: FileSystem[];
  main: AgentProcess;
  /** Bytes the guest read and wrote through the root export (stats). */
  io: IoCounter;
  /** Its cgroup directory in the guest (device-cgroup.ts places it; a pooled container keeps the pool's). */
  cgroupDir: string;
}

export class VmRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  readonly server: P9Server;
  readonly network: VmNetwork;
  private machineP: Promise<Machine> | null = null;
  /** VmRuntimeOptions.guestCache, for containers started from now on (benches compare both). */
  guestCache: boolean;
  /** Containers' namespaces, bridges and veths in the guest (guest-network.ts). */
  private readonly guestNet = new GuestNetworks();
  private readonly running = new Map<string, Running>();
  /** One export per volume filesystem, shared by the containers that mount it. */
  private readonly volumeExports = new Map<FileSystem, { name: string; refs: number }>();
  private nextVolume = 1;
  private deleting: Promise<void> = Promise.resolve();
  /** Containers whose `crun delete` is still queued: starting one again runs it at once and waits. */
  private readonly pendingDeletes = new Map<string, { done: Promise<void>; now: () => void }>();
  /** Seccomp profiles crun has compiled once, handed to later containers as BPF (seccomp-filters.ts). */
  private readonly seccomp = new SeccompFilters();
  /** Containers prepared in the guest (pool.ts). */
  private readonly pool: ContainerPool;
  private poolSize: number;
  private refill: ReturnType<typeof setTimeout> | null = null;
  private filling: Promise<void> | null = null;
  /** Container starts in progress (a refill waits for none). */
  private starting = 0;
  /** The guest has the export directory mounted (and the pool), from its snapshot or a prepare. */
  private guestPrepared = false;

  constructor(private readonly options: VmRuntimeOptions) {
    this.server = new P9Server({ shareImageFiles: options.shareImageFiles ?? true, ...options.p9 });
    this.guestCache = options.guestCache ?? true;
    this.network = new VmNetwork(options.network ?? {});
    this.poolSize = options.pool ?? 1;
    this.pool = new ContainerPool(this.server, { root9p: GUEST_9P_ROOT, init: `${GUEST_9P_ROOT}/${INIT_EXPORT}/docker-init`, cgroupParent: this.cgroupParent });
  }

  private get cgroupParent(): string {
    return this.options.cgroupParent ?? '/skiff';
  }

  /** The guest, booted or restored on first call; a crashed one is replaced on the next call. */
  machine(): Promise<Machine> {
    this.machineP ??= this.boot();
    return this.machineP;
  }

  /** Containers started by claiming a pooled one (pool.ts), since this runtime was made. */
  pooledStarts = 0;

  /**
   * How many containers the pool keeps ready from now on; 0 stops claiming (a smaller size leaves
   * ready slots in place, unused until it grows again).
   */
  setPoolSize(n: number): void {
    this.poolSize = Math.max(0, Math.floor(n));
  }

  /** Fills the pool now (booting the guest if need be); resolves to the number of ready slots. */
  async fillPool(): Promise<number> {
    await this.fill(await this.machine());
    return this.pool.ready;
  }

  /** Adds pooled containers up to the pool's size; one fill at a time (a refill and fillPool share it). */
  private fill(m: Machine): Promise<void> {
    if (this.filling) return this.filling;
    const p = (async () => {
      while (this.pool.ready < this.poolSize && m.state === 'running') await this.pool.add(m.agent);
    })();
    this.filling = p;
    const done = () => { if (this.filling === p) this.filling = null; };
    p.then(done, done);
    return p;
  }

  /** The 9P exports of the pool's unclaimed slots (no container's). */
  poolExportNames(): string[] {
    return this.pool.exportNames();
  }

  /** True once a machine is up (or coming up). */
  get started(): boolean {
    return this.machineP !== null;
  }

  private boot(): Promise<Machine> {
    const p = (async () => {
      this.guestPrepared = false;
      const handle9p = (req: Uint8Array) => this.server.handleAsync(req);
      const options: MachineOptions = {
        ...this.options.machine, handle9p,
        prepareSnapshot: async (machine) => {
          await this.prepareGuest(machine);
          await this.fill(machine);
          return (): HostState => ({ p9: this.server.saveState(), pool: this.pool.state() });
        },
      };
      const early = this.options.adopt?.();
      const m = early
        ? await early.then((x) => { x.set9pHandler(handle9p); return x; }, () => Machine.start(options))
        : await Machine.start(options);
      // A restored guest: the host side its snapshot holds (it makes no 9P request before a
      // container runs). A cold boot that saved a snapshot has prepared the guest already.
      if (m.boot.restored) this.restoreHost(m, m.restoredHost as HostState | null);
      m.onCrash(() => this.forgetMachine(m));
      this.network.attach(m);
      if (!this.guestPrepared) await this.prepareGuest(m);
      // A guest whose snapshot had no pool fills it later: not while the first container starts.
      this.schedulePoolRefill(m);
      return m;
    })();
    p.catch(() => {
      if (this.machineP === p) this.machineP = null;
      this.pool.clear();
      if (this.server.lookupExport(INIT_EXPORT)) this.server.removeExport(INIT_EXPORT);
    });
    return p;
  }

  /** The export directory mounted once; containers name their exports under it. */
  private async prepareGuest(m: Machine): Promise<void> {
    if (!this.server.lookupExport(INIT_EXPORT)) this.server.addExport(INIT_EXPORT, initExport(), { readOnly: true });
    await m.agent.mount({
      export: INIT_EXPORT, target: '/run/skiff/init',
      ...(this.options.msize ? { msize: this.options.msize } : {}), ...(this.options.cache ? { cache: this.options.cache } : {}),
    });
    this.guestPrepared = true;
  }

  /** Before a restored guest runs: the exports and fids its snapshot holds, and its pool. */
  private restoreHost(m: Machine, saved: HostState | null): void {
    this.pool.clear();
    if (this.server.lookupExport(INIT_EXPORT)) this.server.removeExport(INIT_EXPORT);
    this.guestPrepared = false;
    if (!saved) return;
    this.server.addExport(INIT_EXPORT, initExport(), { readOnly: true });
    this.pool.restore(m.agent, saved.pool);
    this.server.restoreState(saved.p9);
    this.guestPrepared = true;
  }

  /** Fills the pool again in the background, `delayMs` from now (the claimed container starts first). */
  private schedulePoolRefill(m: Machine, delayMs = POOL_REFILL_DELAY_MS): void {
    if (this.refill || this.pool.ready >= this.poolSize) return;
    this.refill = setTimeout(() => {
      this.refill = null;
      if (m.state !== 'running' || this.pool.ready >= this.poolSize) return;
      // Never beside a start: the guest has one CPU, and the start is what someone waits for.
      if (this.starting > 0) { this.schedulePoolRefill(m, REFILL_RETRY_MS); return; }
      void this.machineP?.then((current) => (current === m ? this.fill(m) : undefined)).catch(() => {});
    }, delayMs);
    (this.refill as { unref?: () => void }).unref?.();
  }

  private forgetMachine(m: Machine): void {
    void m;
    this.machineP = null;
    this.pool.clear();
    this.network.detach();
    for (const id of [...this.running.keys()]) this.dropExports(id);
    if (this.server.lookupExport(INIT_EXPORT)) this.server.removeExport(INIT_EXPORT);
  }

  async start(req: StartContainerRequest): Promise<VmProcess> {
    this.starting++;
    try {
      // Build secrets: into the guest's config.json and in-memory exports only (runtime/secrets.ts).
      return await this.startOne(withSecrets(req));
    } finally {
      this.starting--;
    }
  }

  private async startOne(req: StartContainerRequest): Promise<VmProcess> {
    if (this.running.has(req.id)) throw new SkiffError('CONFLICT', `container ${req.id.slice(0, 12)} is already running`);
    const m = await this.machine();
    // A restart right after an exit: crun still knows the id until the queued delete ran.
    const pending = this.pendingDeletes.get(req.id);
    if (pending) {
      for (const p of this.pendingDeletes.values()) p.now(); // deletes run in order: the earlier ones too
      await pending.done;
    }
    const id = req.id;
    // Secret names: the shared 9P server gives an export to whoever names it (p9/exports-root.ts).
    const rootName = secretName(`c-${id}`);
    const etcName = secretName(`e-${id}`);
    const byDest = new Map<string, MountedVolume>(req.volumes.map((v) => [cleanPath(v.destination), v]));
    const volumeFor = (dest: string): MountedVolume => {
      const v = byDest.get(cleanPath(dest));
      if (!v) throw new SkiffError('INTERNAL', `container ${id.slice(0, 12)}: the volume at ${dest} was not resolved to a filesystem`);
      return v;
    };
    const rec: Running = { id, spec: undefined as unknown as RuntimeSpec, rootfs: req.rootfs, exports: [], volumes: [], main: undefined as unknown as AgentProcess, io: newIoCounter(), cgroupDir: '' };
    this.running.set(id, rec);
    try {
      const pooled = await this.startPooled(m, req, rec);
      if (pooled) return pooled;
      // Reads /etc/passwd and /etc/group of the image: from an async store it waits for their bytes.
      const bundle = await retryAfterIO(() => buildContainerBundle({
        id, spec: req.spec, rootfs: req.rootfs,
        paths: {
          root: `${GUEST_9P_ROOT}/${rootName}`,
          etcDir: `${GUEST_9P_ROOT}/${etcName}`,
          volume: (v) => {
            const mounted = volumeFor(v.destination);
            return `${GUEST_9P_ROOT}/${this.volumeExport(rec, mounted.fs)}${mounted.file ? `/${mounted.file}` : ''}`;
          },
          init: `${GUEST_9P_ROOT}/${INIT_EXPORT}/docker-init`,
        },
        cgroupsPath: `${this.cgroupParent}/${id}`,
        ...(req.consoleSize ? { consoleSize: { height: req.consoleSize.rows, width: req.consoleSize.cols } } : {}),
        ...(req.network ? { network: req.network } : {}),
        ...(netnsOf(id, req.network) ? { netns: netnsOf(id, req.network)! } : {}),
      }));
      rec.spec = bundle.spec;
      // Cacheable in the guest: only the guest (through 9P) and the engine (filesChanged) change it.
      this.server.addExport(rootName, countingFs(req.rootfs, rec.io), { cacheable: this.guestCache });
      rec.exports.push(rootName);
      rec.etc = etcExport(bundle.etcFiles);
      this.server.addExport(etcName, rec.etc);
      rec.exports.push(etcName);
      // Ports are bound before the process starts, as Docker does: a port in use fails the start.
      const ports = await this.network.addContainer(id, req.network, req.ports);
      await this.guestNet.setup(m.agent, id, req.network);
      // Containers of its networks in other VMs (the bridge exists now); a name lookup or a packet from one refreshes too.
      void this.network.refreshRemotes().catch(() => {});
      // Docker's default device rules are enforced by the agent's policy on the parent cgroup.
      const placed = placeCgroup(bundle.spec, id, this.cgroupParent, m.agent.info?.devices_cgroup);
      rec.cgroupDir = `/sys/fs/cgroup${placed.cgroupsPath}`;
      const { config, profile } = this.seccomp.prepare(placed.config);
      const main = await m.agent.run({
        id, bundle: `/run/skiff/c/${id}`, config, tty: req.spec.tty,
        ...(req.consoleSize ? { rows: req.consoleSize.rows, cols: req.consoleSize.cols } : {}),
      });
      if (profile) this.seccomp.learn(m.agent, id, profile);
      rec.main = main;
      const proc = processOf(main, req.io, req.spec.tty, req.spec.openStdin);
      if (ports.length) proc.ports = ports;
      return proc;
    } catch (err) {
      await this.network.removeContainer(id);
      this.dropExports(id);
      this.running.delete(id);
      await m.agent.delete({ id, force: true }).catch(() => {});
      await this.guestNet.teardown(m.agent, id);
      throw err;
    }
  }

  /**
   * The engine changed a running container's root filesystem itself (`skiff cp`, the API's archive
   * PUT): the guest keeps what the 9P server marked cacheable, so it starts a new cache epoch
   * (vm-images/kernel/skiff-9p-cache.patch) and revalidates each cached entry at its next use.
   */
  etcFiles(id: string): FileSystem | undefined {
    return this.running.get(id)?.etc;
  }

  async filesChanged(id: string): Promise<void> {
    if (!this.running.has(id) || !this.machineP) return;
    const m = await this.machine();
    await m.agent.writeFile({ path: GUEST_CACHE_EPOCH, data: '1' });
  }

  /**
   * Starts the container by claiming a pooled one (pool.ts) when it fits the pool's profile; null
   * (nothing done) when it does not, or when the claim failed before the process ran (the slot is
   * dropped; crun's path follows).
   */
  private async startPooled(m: Machine, req: StartContainerRequest, rec: Running): Promise<VmProcess | null> {
    const slot = this.poolSize > 0 ? this.pool.peek() : null;
    const network = req.network;
    if (!slot || req.spec.tty || req.spec.mounts.length || network?.mode === 'host' || network?.mode === 'container') return null;
    const netns = network ? netnsOf(req.id, network) : undefined;
    const id = req.id;
    const found = await retryAfterIO(() => {
      const bundle = buildContainerBundle({
        id, spec: req.spec, rootfs: req.rootfs,
        paths: {
          root: `${GUEST_9P_ROOT}/${slot.rootName}`, etcDir: `${GUEST_9P_ROOT}/${slot.etcName}`,
          volume: () => { throw new SkiffError('INTERNAL', 'a pooled container has no volumes'); },
          init: `${GUEST_9P_ROOT}/${INIT_EXPORT}/docker-init`,
        },
        cgroupsPath: `${this.cgroupParent}/${id}`, ...(network ? { network } : {}), ...(netns ? { netns } : {}),
      });
      const placed = placeCgroup(bundle.spec, id, this.cgroupParent, m.agent.info?.devices_cgroup);
      const plan = this.pool.plan(slot, id, placed.config, req.rootfs, (network?.interfaces ?? []).map((i, n) => wire(i, n)));
      return plan && { plan, bundle };
    });
    if (!found) return null;
    // Ports are bound before the process starts, as Docker does: a port in use fails the start.
    const ports = await this.network.addContainer(id, network, req.ports);
    if (!this.pool.take(slot)) return null; // claimed meanwhile: crun's path
    rec.spec = found.bundle.spec;
    // Cacheable in the guest as crun's path makes it (the export's root itself never is: io.ts).
    this.server.retargetExport(slot.rootName, countingFs(req.rootfs, rec.io), { cacheable: this.guestCache });
    rec.exports.push(slot.rootName);
    rec.etc = etcExport(found.bundle.etcFiles);
    this.server.retargetExport(slot.etcName, rec.etc);
    rec.exports.push(slot.etcName);
    rec.cgroupDir = `/sys/fs/cgroup${slot.config.linux.cgroupsPath}`;
    let main: AgentProcess;
    try {
      main = await this.pool.claim(m.agent, slot, id, found.plan);
    } catch (err) {
      if (err instanceof AgentTimeout) throw err; // its process may be running: no second start
      // The slot is spent: whatever the claim did goes with it.
      await m.agent.delete({ id, force: true }).catch(() => {});
      await m.agent.delete({ id: slot.poolId, force: true }).catch(() => {});
      for (const ns of [id, slot.poolId]) await m.agent.request('net_teardown', { id: ns }).catch(() => {});
      await this.network.removeContainer(id);
      this.dropExports(id, rec);
      rec.cgroupDir = '';
      this.schedulePoolRefill(m);
      return null;
    }
    this.guestNet.adopted(id, network?.interfaces ?? []);
    this.pooledStarts++;
    rec.main = main;
    this.schedulePoolRefill(m);
    const proc = processOf(main, req.io, false, req.spec.openStdin);
    if (ports.length) proc.ports = ports;
    return proc;
  }

  /** `network connect` on a running container: a new eth<N> on the network's bridge. */
  async connect(id: string, iface: RuntimeInterface): Promise<void> {
    if (!this.running.has(id)) throw new SkiffError('CONFLICT', `container ${id.slice(0, 12)} is not running`);
    await this.guestNet.connect((await this.machine()).agent, id, iface);
    // Containers of that network in other VMs reach it, and it them, as if it had started on it.
    this.network.plugged(id, iface, true);
  }

  async disconnect(id: string, iface: RuntimeInterface): Promise<void> {
    if (!this.running.has(id)) return;
    await this.guestNet.disconnect((await this.machine()).agent, id, iface);
    this.network.plugged(id, iface, false);
  }

  async exec(req: ExecRequest): Promise<VmProcess> {
    const rec = this.running.get(req.id);
    if (!rec || !rec.main || rec.main.exit) throw new SkiffError('CONFLICT', `container ${req.id.slice(0, 12)} is not running`);
    const m = await this.machine();
    const process = await retryAfterIO(() => buildExecProcess({
      container: rec.spec, cmd: req.args, rootfs: rec.rootfs, tty: req.tty,
      ...(req.env ? { env: req.env } : {}), ...(req.user ? { user: req.user } : {}), ...(req.workdir ? { workdir: req.workdir } : {}),
      ...(req.consoleSize ? { consoleSize: { height: req.consoleSize.rows, width: req.consoleSize.cols } } : {}),
    }));
    try {
      const p = await m.agent.exec({
        id: req.id, process, tty: req.tty,
        ...(req.consoleSize ? { rows: req.consoleSize.rows, cols: req.consoleSize.cols } : {}),
      });
      return processOf(p, req.io, req.tty, req.openStdin);
    } catch (err) {
      throw SkiffError.wrap(err, `exec in container ${req.id.slice(0, 12)}`);
    }
  }

  /** The container's cgroup in the guest (as crun names it from config.json's cgroupsPath). */
  private cgroup(id: string): { rec: Running; dir: string } {
    const rec = this.running.get(id);
    if (!rec || !rec.main || rec.main.exit) throw new SkiffError('CONFLICT', `container ${id.slice(0, 12)} is not running`);
    return { rec, dir: rec.cgroupDir };
  }

  async freeze(id: string, frozen: boolean): Promise<void> {
    const { dir } = this.cgroup(id);
    await freezeCgroup((await this.machine()).agent, dir, frozen);
  }

  async stats(id: string): Promise<ResourceStats> {
    const { rec, dir } = this.cgroup(id);
    return readCgroupStats((await this.machine()).agent, dir, rec.main.pid, rec.io);
  }

  async updateLimits(id: string, limits: LimitUpdate): Promise<void> {
    const { dir } = this.cgroup(id);
    await updateCgroup((await this.machine()).agent, dir, limits);
  }

  async release(id: string): Promise<void> {
    const rec = this.running.get(id);
    if (!rec) return;
    this.running.delete(id);
    this.dropExports(id, rec);
    await this.network.removeContainer(id);
    const m = this.machineP ? await this.machineP.catch(() => null) : null;
    if (m && m.state === 'running') {
      // Before a restart of the same id can set up again (the processes are gone: nothing holds it).
      await this.guestNet.teardown(m.agent, id);
      // `crun delete` (state dir, cgroup) costs guest CPU and nothing waits for it: the container's
      // processes are gone. Deletes run one after another, in the background, and only after a
      // pause: the emulator shares the engine's thread, so a delete run at once slows the layer and
      // log saving that follow this exit, and a CLI process that exits right after its container
      // would spend it on a VM about to stop. The pause's timer does not keep a process alive.
      let now!: () => void;
      const due = new Promise<void>((resolve) => {
        now = resolve;
        const t = setTimeout(resolve, DELETE_DELAY_MS);
        (t as { unref?: () => void }).unref?.();
      });
      const done = Promise.all([this.deleting, due]).then(() => (m.state === 'running' ? m.agent.delete({ id, force: true }).catch(() => {}) : undefined));
      this.deleting = done;
      const entry = { done, now };
      this.pendingDeletes.set(id, entry);
      void done.then(() => { if (this.pendingDeletes.get(id) === entry) this.pendingDeletes.delete(id); });
    }
  }

  async shutdown(): Promise<void> {
    const p = this.machineP;
    this.machineP = null;
    if (this.refill) clearTimeout(this.refill);
    this.refill = null;
    this.pool.clear();
    this.network.detach();
    for (const id of [...this.running.keys()]) { this.dropExports(id); await this.network.removeContainer(id); }
    this.running.clear();
    if (p) await (await p.catch(() => null))?.shutdown();
  }

  setNameResolver(resolve: (name: string, sourceIp: string) => Promise<string[] | undefined>): void {
    this.network.setResolver(resolve);
  }

  setPeerDirectory(dir: PeerDirectory): void {
    this.network.setPeerDirectory(dir);
  }

  relayIn(packet: Uint8Array): Promise<boolean> {
    return this.network.relayIn(packet);
  }

  /** Container ids this runtime is running (or has not released). */
  get containers(): string[] {
    return [...this.running.keys()];
  }

  private volumeExport(rec: Running, fs: FileSystem): string {
    let e = this.volumeExports.get(fs);
    if (!e) {
      e = { name: secretName(`v-${this.nextVolume++}`), refs: 0 };
      this.server.addExport(e.name, fs);
      this.volumeExports.set(fs, e);
    }
    if (!rec.volumes.includes(fs)) {
      e.refs++;
      rec.volumes.push(fs);
    }
    return e.name;
  }

  private dropExports(id: string, rec = this.running.get(id)): void {
    if (!rec) return;
    for (const name of rec.exports.splice(0)) if (this.server.lookupExport(name)) this.server.removeExport(name);
    for (const fs of rec.volumes.splice(0)) {
      const e = this.volumeExports.get(fs);
      if (e && --e.refs <= 0) {
        this.volumeExports.delete(fs);
        if (this.server.lookupExport(e.name)) this.server.removeExport(e.name);
      }
    }
  }
}

/**
/**
 * The agent's process as a RuntimeProcess: stdio forwarded, the exit mapped to Docker's terms.
 * What a sink returns goes back to the stream (a promise: not accepted yet), so a stalled sink
 * holds back this process's output alone (flow.ts, per-process windows). Without `openStdin` (no
 * `-i`) the process reads EOF at once, as Docker gives it /dev/null: a `cat` or `sh` must not wait
 * forever on a pipe nobody writes to.
 */
function processOf(p: AgentProcess, io: ProcessIO, tty: boolean, openStdin: boolean): VmProcess {
  if (!openStdin && !tty) p.closeStdin();
  p.stdout.on((c) => (c ? io.onStdout(c) : undefined));
  p.stderr.on((c) => (c ? (tty ? io.onStdout(c) : io.onStderr(c)) : undefined));
  const wait = p.wait().then(
    (s): ExitStatus => ({ exitCode: s.exitCode, oomKilled: s.oomKilled, ...(s.signal ? { signal: signalName(s.signal) } : {}) }),
    (err): ExitStatus => ({ exitCode: 255, oomKilled: false, error: err instanceof Error ? err.message : String(err) }),
  );
  return {
    pid: p.pid,
    writeStdin: (chunk) => p.write(chunk),
    closeStdin: () => { if (!tty) p.closeStdin(); },
    kill: async (signal) => {
      if (p.exit) return;
      // A process blocked on a stalled reader still dies of the signal; once it has, the agent
      // drains what is left of its output regardless of the window, so the exit is not held.
      try {
        await p.signal(signalNumber(signal));
      } catch (err) {
        if (p.exit) return; // it ended meanwhile
        throw err;
      }
    },
    resize: async (size) => { if (tty && !p.exit) await p.resize(size); },
    wait: () => wait,
  };
}
