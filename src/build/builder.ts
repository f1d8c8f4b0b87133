/**
 * `docker build`: the Dockerfile parsed (parser.ts), its stages planned (stages.ts), the target's
 * stage built with the stages it needs, step by step: metadata steps change the config, COPY/ADD
 * and WORKDIR write into an overlay over the layers so far, RUN runs as a container of the
 * lifecycle (BuildHost.runStep); each step's diff is its layer. Steps are looked up in the cache
 * first (cache.ts). Only the finished image is written and tagged: a failed build leaves cache
 * entries (as Docker's does) but no image and no tag.
 */
import { SkiffError } from '../errors.ts';
import type { ImageConfig } from '../oci/config.ts';
import { formatPlatform, normalizePlatform, parsePlatform } from '../oci/platform.ts';
import { normalizeReference } from '../oci/reference.ts';
import type { EngineContext } from '../engine/context.ts';
import { takeLease } from '../engine/leases.ts';
import type { ImageRecord } from '../engine/types.ts';
import { cacheGet, cachePut, stepKey } from './cache.ts';
import { openContext } from './context.ts';
import { parseDockerfile, progressName, type Dockerfile, type Instruction } from './parser.ts';
import { PlainProgress } from './progress.ts';
import { findStage, planStages, targetStage, type Stage } from './stages.ts';
import { varsOf, type BuildConfig, type StageState } from './state.ts';
import { storeLayer, writeImage } from './image.ts';
import { dispatch, type StepResult } from './steps.ts';
import { overlayDiff, stepOverlay, type BuildHost, type BuildOptions, type BuildResult, type BuildRun } from './build-run.ts';

export type { BuildHost, BuildOptions, BuildResult, BuildRun, RunStepRequest, StepMount } from './build-run.ts';
import { validateDockerfile } from './validate.ts';

export const DEFAULT_PLATFORM = 'linux/386';
/** Docker's default PATH for Linux images (BuildKit's system.DefaultPathEnv). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** BuildKit's predefined ARGs (a --build-arg of the same name overrides one). */
function predefinedArgs(platform: string, target: string | undefined, overrides: Record<string, string>): Record<string, string> {
  const p = normalizePlatform(parsePlatform(platform));
  const build = { os: 'linux', architecture: '386' };
  const out: Record<string, string> = {
    BUILDPLATFORM: `${build.os}/${build.architecture}`, BUILDOS: build.os, BUILDOSVERSION: '', BUILDARCH: build.architecture, BUILDVARIANT: '',
    TARGETPLATFORM: formatPlatform(p), TARGETOS: p.os, TARGETOSVERSION: '', TARGETARCH: p.architecture, TARGETVARIANT: p.variant ?? '',
    TARGETSTAGE: target || 'default',
  };
  for (const k of Object.keys(out)) if (Object.hasOwn(overrides, k)) out[k] = overrides[k]!;
  return out;
}

export async function build(host: BuildHost, opts: BuildOptions): Promise<BuildResult> {
  // The sink may be a proxy across a worker boundary (each call a message, answered in order):
  // the build resolves only after the last line's answer, so no output trails the result.
  let last: unknown;
  const say = (text: string): void => { last = opts.onProgress?.(text); };
  try {
    return await buildWith(host, opts, say);
  } finally {
    await Promise.resolve(last).catch(() => {});
  }
}

async function buildWith(host: BuildHost, opts: BuildOptions, say: (text: string) => void): Promise<BuildResult> {
  for (const t of opts.tags ?? []) {
    try {
      normalizeReference(t);
    } catch (err) {
      throw SkiffError.wrap(err, `invalid tag "${t}"`);
    }
  }
  const progress = new PlainProgress(say);
  const file = opts.dockerfilePath ?? 'Dockerfile';
  const v1 = progress.vertex(`[internal] load build definition from ${file}`);
  const context = await openContext(opts.context, { dockerfile: file, ...(host.openDir ? { openDir: host.openDir } : {}) });
  let text = opts.dockerfile;
  if (text === undefined) {
    // Like the docker CLI, a lower-case "dockerfile" does when "Dockerfile" is absent.
    const raw = context.raw(file) ?? (opts.dockerfilePath === undefined ? context.raw('dockerfile') : undefined);
    if (!raw) throw new SkiffError('NOT_FOUND', `failed to read dockerfile: open ${file}: no such file or directory`);
    text = new TextDecoder().decode(raw);
  }
  v1.log(`transferring dockerfile: ${new TextEncoder().encode(text).byteLength}B done`);
  v1.done();
  const df = parseDockerfile(text, { file });
  validateDockerfile(df, file);
  const vc = progress.vertex('[internal] load build context');
  let bytes = 0;
  for (const e of context.entries.values()) bytes += e.data.byteLength;
  vc.log(`transferring context: ${bytes}B done`);
  vc.done();
  const buildArgs = opts.buildArgs ?? {};
  let plan = planStages(df, buildArgs, predefinedArgs(opts.platform ?? DEFAULT_PLATFORM, opts.target, buildArgs), file);
  const target = targetStage(plan, opts.target);
  // TARGETSTAGE names the target (the last stage's name when --target is not given).
  const predefined = predefinedArgs(opts.platform ?? DEFAULT_PLATFORM, opts.target || target.name, buildArgs);
  plan = planStages(df, buildArgs, predefined, file);
  const release = await takeLease(host.ctx);
  try {
    const run: BuildRun = {
      host, df, file, context, opts, progress, stages: plan.stages, built: new Map(), metaValues: plan.metaValues,
      buildArgs, usedArgs: new Set(plan.metaArgs.map((a) => a.name)), predefined, steps: [], multi: plan.stages.length > 1,
      buildStage: (stage) => buildStage(run, stage),
    };
    const sde = buildArgs['SOURCE_DATE_EPOCH'] ?? plan.metaValues.get('SOURCE_DATE_EPOCH');
    if (sde) {
      if (!/^\d+$/.test(sde)) throw new SkiffError('INVALID_ARGUMENT', `invalid SOURCE_DATE_EPOCH: ${sde}`);
      run.epoch = new Date(Number(sde) * 1000);
    }
    const final = await buildStage(run, target);
    const ve = progress.vertex('exporting to image');
    const config = finalConfig(host.ctx, final, opts.labels);
    const image = await writeImage(host.ctx, { layers: final.layers, config, tags: opts.tags ?? [], source: `build:${file}` });
    ve.log('exporting layers done');
    ve.log(`writing image ${image.id} done`);
    for (const t of opts.tags ?? []) ve.log(`naming to ${normalizeReference(t)} done`);
    ve.done();
    const warnings: string[] = [];
    const unused = Object.keys(buildArgs).filter((k) => !run.usedArgs.has(k) && !(k in predefined) && !PROXY_ARGS.has(k) && k !== 'SOURCE_DATE_EPOCH' && !k.startsWith('BUILDKIT_'));
    if (unused.length) warnings.push(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);
    for (const w of warnings) say(`${w}\n`);
    return { id: image.id, digest: image.digest, tags: opts.tags ?? [], steps: run.steps, warnings };
  } finally {
    await release().catch(() => {});
  }
}

/** Docker's predefined proxy args: usable without an ARG line, never in history. */
export const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

function finalConfig(ctx: EngineContext, s: StageState, labels: Record<string, string> | undefined): ImageConfig {
  const config: BuildConfig = { ...s.config };
  if (labels && Object.keys(labels).length) config.Labels = { ...(config.Labels ?? {}), ...labels };
  const { variant, architecture, os } = s.base;
  return {
    architecture, os, ...(variant ? { variant } : {}),
    // As BuildKit: the last step's time, so a fully cached rebuild is the same image (same ID).
    created: s.history.at(-1)?.created ?? ctx.now().toISOString(),
    ...(s.author ? { author: s.author } : {}),
    config,
    rootfs: { type: 'layers', diff_ids: s.layers.map((l) => l.diffId) },
    history: s.history,
  };
}

/** The stage's state after its last instruction (built once per build, on first need). */
export function buildStage(run: BuildRun, stage: Stage): Promise<StageState> {
  let p = run.built.get(stage.index);
  if (!p) {
    p = runStage(run, stage);
    run.built.set(stage.index, p);
  }
  return p;
}

export function stageLabel(run: BuildRun, stage: Stage, i: number, n: number): string {
  const name = run.multi ? `${stage.name ?? `stage-${stage.index}`} ` : '';
  return `[${name}${i}/${n}]`;
}

/** Whether an instruction shows as its own vertex (BuildKit shows the filesystem steps). */
export function isVertex(ins: Instruction): boolean {
  return ins.cmd === 'run' || ins.cmd === 'copy' || ins.cmd === 'add' || ins.cmd === 'workdir';
}

async function runStage(run: BuildRun, stage: Stage): Promise<StageState> {
  const { host, progress } = run;
  let state: StageState;
  const platform = stage.platform ?? run.opts.platform;
  const parent = findStage(run.stages, stage.base, stage.index);
  let onBuild: string[] = [];
  let image: ImageRecord | undefined;
  if (parent) {
    const s = await buildStage(run, parent);
    // As BuildKit: the stage inherits the parent's variables and its ARGs (not its CMD tracking);
    // the parent stage's own ONBUILD triggers run here and are not inherited.
    state = { ...s, layers: [...s.layers], config: structuredClone(s.config), history: [...s.history], missed: false, vars: new Map(s.vars), args: new Map(s.args), argOrder: [...s.argOrder], cmdSet: false };
    onBuild = state.config.OnBuild ?? [];
    delete state.config.OnBuild;
  } else if (stage.base.toLowerCase() === 'scratch') {
    const p = normalizePlatform(parsePlatform(platform ?? DEFAULT_PLATFORM));
    state = {
      base: { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}), rootfs: { type: 'layers', diff_ids: [] } },
      layers: [], config: {}, history: [], key: stepKey('scratch', [formatPlatform(p)]), missed: false, vars: new Map(), args: new Map(), argOrder: [],
    };
  } else {
    try {
      image = await host.resolveImage(stage.base, platform);
    } catch (err) {
      throw SkiffError.wrap(err, `${run.file}:${stage.from.line}: FROM ${stage.base}`);
    }
    const cfg = await host.rawConfig(image);
    const config: BuildConfig = structuredClone(cfg.config ?? {});
    onBuild = config.OnBuild ?? [];
    // The child does not inherit the triggers (they run here, once).
    delete config.OnBuild;
    state = {
      base: cfg, baseImage: image, layers: [...image.layers], config, history: [...(cfg.history ?? [])],
      key: stepKey('image', [image.id]), missed: false, vars: new Map(), args: new Map(), argOrder: [], ...(cfg.author ? { author: cfg.author } : {}),
    };
  }
  if (!parent) {
    // BuildKit makes sure PATH is always set (except on Windows): the image gets Docker's default.
    if (!(state.config.Env ?? []).some((e) => e.startsWith('PATH=')) && state.base.os !== 'windows') {
      state.config.Env = [...(state.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
    }
    state.vars = varsOf(state.config.Env);
  }
  if (run.opts.noCache) state.missed = true;
  const triggers: Instruction[] = [];
  for (const t of onBuild) {
    const parsed = parseDockerfile(t, { file: `${run.file} (ONBUILD of ${stage.base})` }).instructions;
    if (parsed.length !== 1) throw new SkiffError('INVALID_ARGUMENT', `${run.file}:${stage.from.line}: onbuild trigger should be a single expression`);
    for (const x of parsed) triggers.push({ ...x, line: stage.from.line });
  }
  // BuildKit numbers the filesystem steps; FROM counts (and shows) only for an image base.
  const n = (image ? 1 : 0) + [...triggers, ...stage.instructions].filter(isVertex).length;
  let i = 0;
  if (image) {
    const from = progress.vertex(`${stageLabel(run, stage, ++i, n)} FROM ${stage.base}${stage.name ? ` AS ${stage.name}` : ''}`);
    from.done();
  }
  for (const ins of [...triggers, ...stage.instructions]) {
    const label = isVertex(ins) ? stageLabel(run, stage, ++i, n) : undefined;
    state = await runStep(run, stage, state, ins, label);
  }
  return state;
}

async function runStep(run: BuildRun, stage: Stage, state: StageState, ins: Instruction, label: string | undefined): Promise<StageState> {
  const { host } = run;
  const v = label ? run.progress.vertex(`${label} ${progressName(ins)}`) : undefined;
  let step: StepResult;
  try {
    step = await dispatch(run, stage, state, ins);
  } catch (err) {
    const e = SkiffError.wrap(err, `${run.file}:${ins.line}: ${ins.cmd.toUpperCase()}`);
    v?.error(e.message);
    throw e;
  }
  const key = stepKey(state.key, step.keyParts);
  const next: StageState = { ...state, key, config: step.config, ...(step.state ?? {}) };
  const cached = !state.missed ? await cacheGet(host.ctx, key) : undefined;
  if (cached) {
    v?.cached();
    run.steps.push({ stage: stage.index, instruction: ins.original, cached: true });
    // The line is this build's (an ARG's shows this build's value); the time is the cached step's.
    const history = { ...cached.history, created_by: step.createdBy, ...(run.epoch ? { created: run.epoch.toISOString() } : {}) };
    return { ...next, config: cached.config, layers: cached.layer ? [...state.layers, cached.layer] : state.layers, history: step.noHistory ? state.history : [...state.history, history] };
  }
  let layerTar: Uint8Array | null = null;
  try {
    if (step.apply) layerTar = await step.apply(v);
  } catch (err) {
    const e = SkiffError.wrap(err, `${run.file}:${ins.line}: ${ins.cmd.toUpperCase()}`);
    v?.error(e.message);
    throw e;
  }
  const layer = layerTar ? await storeLayer(host.ctx, layerTar) : undefined;
  // SOURCE_DATE_EPOCH (a build arg or global ARG) fixes the history times, as BuildKit does.
  const now = (run.epoch ?? host.ctx.now()).toISOString();
  const history = { created: now, created_by: step.createdBy, ...(step.comment ? { comment: step.comment } : {}), ...(layer ? {} : { empty_layer: true }) };
  await cachePut(host.ctx, { key, ...(layer ? { layer } : {}), config: step.config, history, created: now, lastUsed: now });
  v?.done();
  run.steps.push({ stage: stage.index, instruction: ins.original, cached: false });
  return { ...next, missed: true, layers: layer ? [...state.layers, layer] : state.layers, history: step.noHistory ? state.history : [...state.history, history] };
}

