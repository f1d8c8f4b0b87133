/** The engine's records: what the state store holds for images, tags and containers. */
import type { ChainID, DiffID, Digest } from '../oci/digest.ts';
import type { ContainerSpec, SpecMount } from '../runtime/spec/container-spec.ts';

declare const brand: unique symbol;
/** 64 lowercase hex characters, as Docker's container IDs. */
export type ContainerId = string & { readonly [brand]: 'ContainerId' };

export interface LayerRecord {
  /** The blob as stored (maybe compressed). */
  digest: Digest;
  size: number;
  mediaType: string;
  diffId: DiffID;
  /** Uncompressed tar size. */
  uncompressedSize: number;
}

/** One image = one manifest. Keyed by manifest digest; `id` is the config digest, Docker's image ID. */
export interface ImageRecord {
  digest: Digest;
  id: Digest;
  mediaType: string;
  manifestSize: number;
  config: { digest: Digest; size: number; mediaType: string };
  layers: LayerRecord[];
  /** ChainID of the whole stack; null for an image with no layers. */
  chainId: ChainID | null;
  /** "os/arch[/variant]". */
  platform: string;
  created?: string;
  /** Sum of uncompressed layer sizes (what `docker images` shows). */
  size: number;
  loadedAt: string;
  /** Where it came from: the archive's name, "bundled:<name>", ... */
  source?: string;
}

export interface TagHistoryEntry {
  digest: Digest;
  at: string;
}

/** One document per fully qualified reference ("docker.io/library/busybox:latest"). */
export interface TagRecord {
  ref: string;
  digest: Digest;
  /** Earlier targets, oldest first; the current target is not in here. */
  history: TagHistoryEntry[];
  updatedAt: string;
}

export type ContainerState = 'created' | 'running' | 'paused' | 'exited' | 'dead';

export interface ContainerRecord {
  id: ContainerId;
  name: string;
  /** The reference as the user wrote it (Docker's "IMAGE" column). */
  imageRef: string;
  /** Manifest digest of the image. */
  image: Digest;
  /** Config digest (image ID). */
  imageId: Digest;
  platform: string;
  /** What it runs, resolved once at create (argv, env, cwd, user, mounts, limits ...). */
  spec: ContainerSpec;
  labels: Record<string, string>;
  /** Runtime that will run it ("vm", "wasi"); chosen from the platform, runtimes may override. */
  runtime: string;
  state: ContainerState;
  exitCode?: number;
  created: string;
  startedAt?: string;
  finishedAt?: string;
  /**
   * The writable layer's stored size (it lives in the snapshot store, engine/snapshots); null while
   * never saved. `digest`: a layer saved by an older skiff as one tar blob, moved on first use.
   */
  upper: { digest?: Digest; size: number } | null;
  /** Named volumes the container mounts (they are not removed while it exists). */
  volumes?: string[];
  /** `--rm`: removed (with its anonymous volumes) when its process ends. */
  autoRemove?: boolean;
  /** How the last run ended, beyond the exit code. */
  exit?: { oomKilled: boolean; signal?: string; error?: string };
  /** The size of the output kept (engine/logs.ts appends it to the snapshot store); `digest`: one blob by an older skiff. */
  logs?: { digest?: Digest; size: number } | null;
  /** Free-form per-runtime data (ports, mounts, pid ...), owned by the runtime. */
  runtimeData?: Record<string, unknown>;
  /** The healthcheck's state (engine/health.ts), written by the process that runs the container. */
  health?: ContainerHealth;
}

/** One probe's result, as Docker's State.Health.Log entries (times RFC 3339). */
export interface HealthResult {
  Start: string;
  End: string;
  /** 0 healthy; anything else a failure; -1 when it could not run or timed out. */
  ExitCode: number;
  /** stdout and stderr, at most 4096 bytes then "...". */
  Output: string;
}

/** Docker's State.Health: kept while the container has a healthcheck (engine/health.ts). */
export interface ContainerHealth {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  /** The last 5 results, oldest first. */
  Log: HealthResult[];
}

export interface VolumeRecord {
  name: string;
  created: string;
  labels: Record<string, string>;
  /** Created without a name (`-v /dest`): removed by a plain `volume prune`. */
  anonymous: boolean;
  /** The volume's stored size (snapshot store); null while never saved. `digest`: as ContainerRecord.upper. */
  data: { digest?: Digest; size: number } | null;
}

/** A container's mount (its spec's `mounts`). */
export type MountRecord = SpecMount;
