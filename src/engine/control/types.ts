/**
 * The control channel as the lifecycle sees it, free of any platform: a container runs in the
 * process (or page) whose engine started it, and other processes reach it only through that
 * owner. On Node the channel is a unix socket private to the user (control/node.ts); a page has
 * none, so another page's containers cannot be reached (their record says who owns them).
 */
import type { ExitStatus, LimitUpdate, ProcessIO, ResourceStats, RuntimeProcess } from '../../runtime/types.ts';
import type { ExecSpec, WindowSize } from './protocol.ts';

/** Who runs a container, as its record names it (`runtimeData.owner`). */
export interface Owner {
  /** Random per owning engine: the nonce a control socket must answer hello with. */
  session: string;
  /** Node: the owning process. */
  pid?: number;
  /** The owner's start time (Linux: /proc/<pid>/stat field 22), so a reused pid is not taken for it. */
  start?: string;
  /** The owner's control socket. */
  control?: string;
}

export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  data: Uint8Array;
}

/** What the owning process serves: the lifecycle's own operations on the containers it runs. */
export interface ControlTarget {
  /** Does this engine run container `id` right now? Requests for any other id are refused. */
  owns(id: string): boolean;
  signal(id: string, signal: string): Promise<void>;
  resize(id: string, size: WindowSize): Promise<void>;
  wait(id: string): Promise<ExitStatus>;
  exec(id: string, spec: ExecSpec, io: ProcessIO): Promise<RuntimeProcess>;
  /** `docker attach`: the container's output from now on to `io` too, until `detach()`. */
  attach(id: string, io: ProcessIO): Promise<RuntimeProcess & { detach(): void }>;
  /** The log so far; with `onEntry`, later entries too until the returned unsubscribe. */
  logs(id: string, onEntry?: (e: LogRecord) => void): { entries: LogRecord[]; unsubscribe: () => void };
  /** `pause` / `unpause` (the record is updated by the owner). */
  freeze(id: string, frozen: boolean): Promise<void>;
  /** Saves the container's live writable layer to the store (a commit in another process reads it next). */
  persist(id: string): Promise<void>;
  stats(id: string): Promise<ResourceStats>;
  update(id: string, limits: LimitUpdate): Promise<void>;
  /** `network connect`: plug in the interface the container's record has on network `networkId`. */
  connect(id: string, networkId: string): Promise<void>;
  /** `network disconnect`: unplug the interface the container had on `networkId` at `ip`. */
  disconnect(id: string, networkId: string, ip: string): Promise<void>;
  /** A packet relayed from another VM for the VM that runs `id` (checked there); absent: refused. */
  packet?(id: string, packet: Uint8Array): void;
}

/** A one-way stream of IPv4 packets to the VM of one container in another process. */
export interface PacketChannel {
  /** Queues one packet; false when dropped (the owner does not keep up, or the channel closed). */
  send(packet: Uint8Array): boolean;
  readonly closed: Promise<void>;
  close(): void;
}

/** A proven connection to the process that owns one container. */
export interface RemoteOwner {
  signal(signal: string): Promise<void>;
  resize(size: WindowSize): Promise<void>;
  /** The exit status; undefined when `ms` passed first or the owner went away. */
  wait(ms?: number): Promise<ExitStatus | undefined>;
  exec(spec: ExecSpec, io: ProcessIO): Promise<RuntimeProcess>;
  /** `docker attach`: output from now on; stdin, resize and signals to the container; `detach()` leaves it running. */
  attach(io: ProcessIO): Promise<RuntimeProcess & { detach(): void }>;
  /** The log so far; with `onEntry`, each later entry goes there until the container exits (`done`). */
  logs(onEntry?: (e: LogRecord) => void): Promise<{ entries: LogRecord[]; done: Promise<void> }>;
  freeze(frozen: boolean): Promise<void>;
  persist(): Promise<void>;
  stats(): Promise<ResourceStats>;
  update(limits: LimitUpdate): Promise<void>;
  connect(networkId: string): Promise<void>;
  disconnect(networkId: string, ip: string): Promise<void>;
  /** Opens the packet relay into the container's VM (cross-process networking). */
  packets(): Promise<PacketChannel>;
}

/** This process's side of the channel: serves the containers it owns, reaches other owners. */
export interface ControlPlane {
  /** This engine's identity, with its control socket once `serve` has run. */
  readonly self: Owner;
  /** Starts serving `target` (once); resolves with the identity to store on records. */
  serve(target: ControlTarget): Promise<Owner>;
  /** Is `owner` still running? False for a pid now used by another process. */
  alive(owner: Owner): boolean;
  /** Connects to the owner of container `id` and checks its hello; undefined if it cannot be reached or proven. */
  connect(owner: Owner, id: string): Promise<RemoteOwner | undefined>;
  /** SIGKILLs the owner process when it is proven to be the owner (pid and start time); else false. */
  killOwner(owner: Owner): boolean;
  close(): void;
}
