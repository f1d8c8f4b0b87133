/**
 * What the steps of one build share: the options and the host a build is given (BuildOptions,
 * BuildHost), the run's state (BuildRun, which also builds a stage another step needs), and the
 * overlay a COPY/ADD/WORKDIR step writes into with its diff. The step builders (steps.ts,
 * fs-steps.ts) take these from here, so none of them imports builder.ts back.
 */
import { SkiffError } from '../errors.ts';
import type { StartSecrets } from '../runtime/types.ts';
import { cleanPath } from '../runtime/spec/volumes.ts';
import { Overlay } from '../fs/overlay.ts';
import type { LayerTree } from '../fs/layer.ts';
import type { FileSystem } from '../fs/types.ts';
import type { ImageConfig } from '../oci/config.ts';
import type { Digest } from '../oci/digest.ts';
import type { EngineContext } from '../engine/context.ts';
import { upperDiff } from '../engine/fs-io.ts';
import { writeTarChunks } from '../engine/tar-io.ts';
import type { ImageRecord, LayerRecord } from '../engine/types.ts';
import { concatBytes } from '../util/bytes.ts';
import type { BuildContext, BuildContextInput } from './context.ts';
import type { Dockerfile } from './parser.ts';
import type { PlainProgress, Vertex } from './progress.ts';
import type { Stage } from './stages.ts';
import type { BuildConfig, StageState } from './state.ts';
import type { Source } from './copy.ts';

export interface BuildOptions {
  context: BuildContextInput;
  /** The Dockerfile's text; default: `dockerfilePath` read from the context. */
  dockerfile?: string;
  /** Name of the Dockerfile in the context (default "Dockerfile"), also used in messages. */
  dockerfilePath?: string;
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  labels?: Record<string, string>;
  /** Pull every FROM image first (`--pull`); without it, only missing ones are pulled. */
  pull?: boolean;
  /** Target platform ("linux/386", "wasi/wasm"); default the base image's, else linux/386. */
  platform?: string;
  /** Plain progress text, as BuildKit prints it. */
  onProgress?: (text: string) => unknown;
  /** `--secret id=...`: values RUN --mount=type=secret exposes (never in a layer, history or cache key). */
  secrets?: Record<string, Uint8Array | string>;
}

export interface BuildResult {
  id: Digest;
  digest: Digest;
  tags: string[];
  /** Per step: the instruction and whether the cache had it. */
  steps: Array<{ stage: number; instruction: string; cached: boolean }>;
  warnings: string[];
}

/** What a build needs from the engine (engine/build-ops.ts builds it around the engine). */
export interface BuildHost {
  ctx: EngineContext;
  /** The merged tree of a stack of layers (the engine's layer cache). */
  tree(layers: LayerRecord[]): Promise<LayerTree | null>;
  resolveImage(ref: string, platform?: string): Promise<ImageRecord>;
  /** The image's config as stored (all fields, OnBuild, Healthcheck ...). */
  rawConfig(image: ImageRecord): Promise<ImageConfig & { config?: BuildConfig }>;
  /** Downloads for ADD <url> (default the global fetch). */
  fetch?: typeof fetch;
  /** Opens a host directory read-only, for a context given as a path (Node). */
  openDir?: (path: string) => FileSystem;
  /** Runs `args` in a container of an image with these layers and config; returns the exit and the container's diff. */
  runStep(o: RunStepRequest): Promise<{ exitCode: number; diff: Uint8Array | null }>;
}

export interface RunStepRequest {
  layers: LayerRecord[];
  config: ImageConfig;
  args: string[];
  env: string[];
  workdir?: string;
  user?: string;
  /** RUN --mount: cache volumes, tmpfs, and bind mounts filled from these sources. */
  mounts?: StepMount[];
  /** RUN --mount=type=secret: for the step's process only (StartOptions.secrets), never stored. */
  secrets?: StartSecrets;
  onOutput(text: string): void;
}

export type StepMount =
  | { kind: 'cache'; volume: string; target: string; readOnly: boolean }
  | { kind: 'tmpfs'; target: string }
  | { kind: 'bind'; target: string; sources: Source[] }
  /** A bind of one file: placed at `target` for the step only, never part of its layer. */
  | { kind: 'file'; target: string; data: Uint8Array; mode: number };

export interface BuildRun {
  host: BuildHost;
  df: Dockerfile;
  file: string;
  context: BuildContext;
  opts: BuildOptions;
  progress: PlainProgress;
  stages: Stage[];
  built: Map<number, Promise<StageState>>;
  metaValues: Map<string, string>;
  buildArgs: Record<string, string>;
  usedArgs: Set<string>;
  predefined: Record<string, string>;
  steps: BuildResult['steps'];
  multi: boolean;
  /** SOURCE_DATE_EPOCH as a time, when given. */
  epoch?: Date;
  /** The stage's state after its last instruction, built once per build on first need (COPY --from, RUN --mount from=). */
  buildStage(stage: Stage): Promise<StageState>;
}

/** An overlay over the state's layers, for COPY/ADD/WORKDIR to write into. */
export async function stepOverlay(run: BuildRun, state: StageState): Promise<Overlay> {
  return new Overlay({ lower: await run.host.tree(state.layers) });
}

/** The overlay's writes as a layer tar; null when nothing changed. */
export function overlayDiff(fs: Overlay): Uint8Array | null {
  const entries = upperDiff(fs);
  if (entries.length === 0) return null;
  return concatBytes([...writeTarChunks(entries)]);
}

/** What one instruction makes: its cache key parts, the config after it, its history line, and its layer. */
export interface StepResult {
  keyParts: string[];
  config: BuildConfig;
  createdBy: string;
  comment?: string;
  state?: Partial<StageState>;
  /** No history entry (ONBUILD: BuildKit records none). */
  noHistory?: boolean;
  /** Makes the step's layer (null: nothing changed). */
  apply?: (v: Vertex | undefined) => Promise<Uint8Array | null>;
}

export const COMMENT = 'buildkit.dockerfile.v0';

/** A Dockerfile error of the instruction being built (the builder adds the file and line). */
export function fail(message: string): never {
  throw new SkiffError('INVALID_ARGUMENT', message);
}

/** The shell form as argv: the stage's SHELL (default /bin/sh -c) plus the command line. */
export function shellArgs(config: BuildConfig, cmdline: string): string[] {
  return [...(config.Shell ?? ['/bin/sh', '-c']), cmdline];
}

/** WORKDIR's path rule: relative to the current one, `.` and `..` resolved lexically (Go's Clean). */
export function workdirPath(cur: string | undefined, p: string): string {
  return cleanPath(p.startsWith('/') ? p : `${cur ?? '/'}/${p}`);
}
