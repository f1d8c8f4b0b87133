/**
 * The container's process from the image config and the run options, as the OCI image-spec's
 * conversion rules (config.md "Properties", conversion.md) and Docker's daemon apply them:
 *   - args = Entrypoint + Cmd; a run command replaces Cmd; `--entrypoint` replaces Entrypoint and
 *     drops the image's Cmd (Docker's merge), `--entrypoint ""` clears it;
 *   - env = PATH default, HOSTNAME, TERM (with a TTY), then the image's Env with `-e` overriding
 *     by key; HOME from passwd when still unset (what runc/crun do at exec time);
 *   - cwd = `-w`, else WorkingDir, else "/";
 *   - user = `-u`, else User, resolved through the image's /etc/passwd and /etc/group.
 * container-spec.ts applies the first three once, at create; container.ts buildProcess resolves the
 * user at start.
 */
import type { HealthConfig } from './health.ts';
import { SkiffError } from '../../errors.ts';
import { Errno, FsError } from '../../fs/errno.ts';
import type { FileSystem, FsNode } from '../../fs/types.ts';
import { envKey, mergeEnv } from './flags.ts';
import type { RunOptions } from './options.ts';
import { resolvePath } from './users.ts';
import { cleanPath } from './volumes.ts';

/** The image config's `config` object (image-spec config.md); a fuller type is assignable to it. */
export interface ImageRunConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Healthcheck?: HealthConfig | null;
  /** SHELL: what a CMD-SHELL healthcheck runs through. */
  Shell?: string[] | null;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

/** Entrypoint and Cmd after Docker's merge of run options over the image config. */
export function splitArgs(image: ImageRunConfig, run: Pick<RunOptions, 'entrypoint' | 'cmd'> = {}): { entrypoint: string[]; cmd: string[] } {
  let entrypoint: readonly string[];
  let cmd: readonly string[];
  if (run.entrypoint !== undefined) {
    entrypoint = run.entrypoint;
    cmd = run.cmd ?? [];
  } else {
    entrypoint = image.Entrypoint ?? [];
    cmd = run.cmd !== undefined && run.cmd.length > 0 ? run.cmd : (image.Cmd ?? []);
  }
  const first = entrypoint[0] ?? cmd[0];
  if (first === undefined || first === '') throw invalid('no command specified');
  return { entrypoint: [...entrypoint], cmd: [...cmd] };
}

/** Entrypoint + Cmd after Docker's merge of run options over the image config. */
export function resolveArgs(image: ImageRunConfig, run: Pick<RunOptions, 'entrypoint' | 'cmd'> = {}): string[] {
  const { entrypoint, cmd } = splitArgs(image, run);
  return [...entrypoint, ...cmd];
}

/** The container's configured env (Docker's Config.Env): `-e` first, then image entries it did not set. */
export function configEnv(image: ImageRunConfig, run: Pick<RunOptions, 'env'>): string[] {
  const userEnv = mergeEnv(run.env ?? []);
  const userKeys = new Set(userEnv.map(envKey));
  return [...userEnv, ...(image.Env ?? []).filter((e) => !userKeys.has(envKey(e)))].filter((e) => e.includes('='));
}

/**
 * The process env from a configured env, as Docker's CreateDaemonEnvironment builds it at start:
 * PATH, HOSTNAME, TERM, the legacy links' variables, then the configured env over them by key.
 */
export function daemonEnv(env: readonly string[], hostname: string, tty: boolean, linked: readonly string[] = []): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (tty) base.push('TERM=xterm');
  return mergeEnv([...base, ...linked], env).filter((e) => e.includes('='));
}

/** The environment as Docker's CreateDaemonEnvironment builds it; HOME is added by the caller. */
export function resolveEnv(image: ImageRunConfig, run: Pick<RunOptions, 'env' | 'tty'>, hostname: string): string[] {
  return daemonEnv(configEnv(image, run), hostname, run.tty === true);
}

export function resolveWorkdir(image: ImageRunConfig, run: Pick<RunOptions, 'workdir'> = {}): string {
  const raw = run.workdir !== undefined && run.workdir !== '' ? run.workdir : image.WorkingDir || '/';
  if (!raw.startsWith('/')) {
    throw invalid(`the working directory '${raw}' is invalid, it needs to be an absolute path`);
  }
  return cleanPath(raw);
}

/**
 * Docker creates a missing working directory (owned by the container user) before start; crun
 * would fail the chdir. Walks `path` in the writable root, creating what is missing with mode 0755.
 * Fails if a component exists and is not a directory.
 */
export function ensureWorkingDirectory(rootfs: FileSystem, path: string, owner: { uid: number; gid: number }): void {
  let dir: FsNode = rootfs.root();
  const parts = cleanPath(path).split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!;
    let next: FsNode;
    try {
      next = resolvePath(rootfs, '/' + parts.slice(0, i + 1).join('/'));
    } catch (err) {
      if (!(err instanceof FsError) || err.errno !== Errno.ENOENT) throw wrapFs(err, path);
      try {
        next = rootfs.mkdir(dir, name, { mode: 0o755, uid: owner.uid, gid: owner.gid });
      } catch (e) {
        throw wrapFs(e, path);
      }
    }
    if (rootfs.stat(next).kind !== 'directory') {
      throw invalid(`creating working directory ${path}: ${'/' + parts.slice(0, i + 1).join('/')} is not a directory`);
    }
    dir = next;
  }
}

function wrapFs(err: unknown, path: string): SkiffError {
  if (err instanceof FsError) return new SkiffError('RUNTIME', `creating working directory ${path}: ${err.message}`, { cause: err });
  return SkiffError.wrap(err, `creating working directory ${path}`);
}

/**
 * The image's Volumes that `-v` / `--tmpfs` do not already cover: the engine creates an
 * anonymous volume for each (image-spec: "a list of directories ... to be mounted").
 */
export function imageVolumes(image: ImageRunConfig, covered: Iterable<string>): string[] {
  const taken = new Set([...covered].map(cleanPath));
  return Object.keys(image.Volumes ?? {})
    .map(cleanPath)
    .filter((d) => d.startsWith('/') && d !== '/' && !taken.has(d))
    .sort();
}
