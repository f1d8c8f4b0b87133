/**
 * The config a committed image gets, as Docker's daemon makes it (moby daemon/commit.go):
 * the container's own Config (what `run` resolved: Cmd, Entrypoint, Env, WorkingDir, User,
 * Labels, ExposedPorts, Volumes, Healthcheck, StopSignal), or the API body's config in its
 * place, then the `--change` instructions applied to it as Dockerfile steps, then
 * `merge(userConf, containerConf)` filling what the result leaves empty.
 *
 * The container's Config was itself made by the same merge from the image at create, which copies
 * neither OnBuild nor Shell nor ArgsEscaped: a committed image drops the parent's (Docker does
 * too). Hostname, Domainname, Tty, OpenStdin, AttachStdin are container.Config fields outside the
 * OCI image config skiff stores: `docker run` never reads them from an image, so they are left out.
 */
import { SkiffError } from '../errors.ts';
import type { ContainerConfig, ImageConfig } from '../oci/config.ts';
import type { ContainerRecord } from './types.ts';
import { signalName } from '../runtime/spec/signals.ts';
import type { BuildRun } from '../build/builder.ts';
import type { Stage } from '../build/stages.ts';
import type { StageState } from '../build/state.ts';

const SIGTERM = 15;

/** Docker's `validCommitCommands` (daemon/builder/dockerfile/builder.go). */
const CHANGE_COMMANDS = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

const keys = (r: Record<string, unknown> | undefined): string[] => Object.keys(r ?? {});
const set = (ks: Iterable<string>): Record<string, object> => Object.fromEntries([...ks].map((k) => [k, {}]));

/** The container's Config in image-config form (Docker's container.Config after the create-time merge). */
export function containerConfigOf(rec: ContainerRecord, image: ContainerConfig, recordedPorts: Record<string, unknown> = {}): ContainerConfig {
  const s = rec.spec;
  const ports = new Set([...keys(image.ExposedPorts), ...keys(recordedPorts), ...(s.exposedPorts ?? []), ...(s.ports ?? []).map((p) => `${p.containerPort}/${p.proto}`)]);
  // `-v /dest` (and the image's VOLUMEs) are anonymous volumes: Config.Volumes; named ones and binds are HostConfig's.
  const volumes = new Set([...keys(image.Volumes), ...s.mounts.filter((m) => m.type === 'volume' && m.anonymous).map((m) => m.destination)]);
  const labels = { ...(image.Labels ?? {}), ...rec.labels };
  const cfg: ContainerConfig = {};
  if (s.user) cfg.User = s.user;
  if (ports.size) cfg.ExposedPorts = set([...ports].sort());
  if (s.env.length) cfg.Env = [...s.env];
  if (s.entrypoint.length) cfg.Entrypoint = [...s.entrypoint];
  if (s.cmd.length) cfg.Cmd = [...s.cmd];
  if (volumes.size) cfg.Volumes = set([...volumes].sort());
  // The spec's cwd defaults to "/"; Docker's Config.WorkingDir stays "" unless -w or the image set it.
  if (s.cwd !== '/' || image.WorkingDir) cfg.WorkingDir = s.cwd;
  if (Object.keys(labels).length) cfg.Labels = labels;
  if (image.StopSignal || s.stopSignal !== SIGTERM) cfg.StopSignal = signalName(s.stopSignal);
  if (s.healthcheck) cfg.Healthcheck = structuredClone(s.healthcheck.config);
  return cfg;
}

/**
 * `--change` lines applied to `config` as Docker's BuildFromConfig does: parsed as one Dockerfile,
 * each instruction checked against the commit list, then run by the builder's own dispatch.
 */
export async function applyChanges(config: ContainerConfig, changes: readonly string[]): Promise<ContainerConfig> {
  if (changes.length === 0 || changes.every((c) => c.trim() === '')) return config;
  // The builder loads on first use (the engine keeps it out of the page's first bundle, build-ops.ts builder()).
  const [{ parseDockerfile }, { dispatch }, { varsOf }] = await Promise.all([import('../build/parser.ts'), import('../build/steps.ts'), import('../build/state.ts')]);
  const df = parseDockerfile(changes.join('\n'), { file: 'changes' });
  for (const ins of df.instructions) {
    if (!CHANGE_COMMANDS.has(ins.cmd)) throw new SkiffError('INVALID_ARGUMENT', `${ins.cmd} is not a valid change command`);
  }
  // Config instructions read only the parsed file, its name and the build arguments from the run.
  const run = { df, file: 'changes', buildArgs: {}, usedArgs: new Set<string>(), metaValues: new Map<string, string>() } as unknown as BuildRun;
  let state = {
    config: structuredClone(config), vars: varsOf(config.Env), args: new Map(), argOrder: [], cmdSet: false,
    base: {} as ImageConfig, layers: [], history: [], key: '', missed: true,
  } as StageState;
  for (const ins of df.instructions) {
    const step = await dispatch(run, {} as Stage, state, ins);
    state = { ...state, ...(step.state ?? {}), config: step.config };
  }
  // The classic builder sets ArgsEscaped only on Windows (resolveCmdLine); BuildKit's `true` is not Docker's commit.
  delete state.config.ArgsEscaped;
  return state.config;
}

/** moby's merge(userConf, imageConf): fills what `user` leaves empty from `base` (a new object). */
export function mergeConfig(user: ContainerConfig, base: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = structuredClone(user);
  if (!out.User && base.User) out.User = base.User;
  if (keys(out.ExposedPorts).length === 0) {
    if (base.ExposedPorts) out.ExposedPorts = { ...base.ExposedPorts };
  } else out.ExposedPorts = { ...out.ExposedPorts, ...set(keys(base.ExposedPorts).filter((p) => !(p in out.ExposedPorts!))) };
  if (!out.Env?.length) {
    if (base.Env) out.Env = [...base.Env];
  } else {
    const have = new Set(out.Env.map((e) => e.split('=')[0]));
    for (const e of base.Env ?? []) if (!have.has(e.split('=')[0])) out.Env.push(e);
  }
  out.Labels = { ...(base.Labels ?? {}), ...(out.Labels ?? {}) };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length && base.Cmd) out.Cmd = [...base.Cmd];
    // Only an absent Entrypoint inherits: `--entrypoint ""` / `ENTRYPOINT []` (present, empty) stays cleared.
    if (out.Entrypoint === undefined && base.Entrypoint) out.Entrypoint = [...base.Entrypoint];
  }
  if (base.Healthcheck) {
    if (!out.Healthcheck) out.Healthcheck = structuredClone(base.Healthcheck);
    else {
      const h = out.Healthcheck;
      if (!h.Test?.length) h.Test = [...base.Healthcheck.Test];
      for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (!h[k] && base.Healthcheck[k]) h[k] = base.Healthcheck[k];
    }
  }
  if (!out.WorkingDir && base.WorkingDir) out.WorkingDir = base.WorkingDir;
  if (keys(out.Volumes).length === 0) {
    if (base.Volumes) out.Volumes = { ...base.Volumes };
  } else out.Volumes = { ...out.Volumes, ...base.Volumes };
  if (!out.StopSignal && base.StopSignal) out.StopSignal = base.StopSignal;
  return out;
}

/** The committed image's config: body (or the container's) + changes, merged over the container's. */
export async function commitConfig(container: ContainerConfig, o: { body?: ContainerConfig; changes?: readonly string[] }): Promise<ContainerConfig> {
  return mergeConfig(await applyChanges(o.body ?? container, o.changes ?? []), container);
}

/** Docker's created_by for a commit: the container's Config.Cmd joined by spaces (image.NewChildImage). */
export function commitCreatedBy(container: ContainerConfig): string {
  return (container.Cmd ?? []).join(' ');
}
