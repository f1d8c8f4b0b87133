/**
 * The container's process from the image config and the run options, as the OCI image-spec's
 * conversion rules (config.md "Properties", conversion.md) and Docker's daemon apply them:
 *   - args = Entrypoint + Cmd; a run command replaces Cmd; `--entrypoint` replaces Entrypoint and
 *     drops the image's Cmd (Docker's merge), `--entrypoint ""` clears it;
 *   - env = PATH default, HOSTNAME, TERM (with a TTY), then the image's Env with `-e` overriding
 *     by key; HOME from passwd when still unset (what runc/crun do at exec time);
 *   - cwd = `-w`, else WorkingDir, else "/";
 *   - user = `-u`, else User, resolved through the image's /etc/passwd and /etc/group.
 */
import { SkiffError } from '../../errors.ts';
import { Errno, FsError } from '../../fs/errno.ts';
import type { FileSystem, FsNode } from '../../fs/types.ts';
import { envKey, mergeEnv } from './flags.ts';
import type { RunOptions } from './options.ts';
import type { OciProcess, OciUser } from './types.ts';
import { resolveAdditionalGroups, resolvePath, resolveUser, type ResolvedUser } from './users.ts';
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
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ProcessOptions {
  image: ImageRunConfig;
  run?: RunOptions;
  /** The container's hostname (HOSTNAME in the env). */
  hostname: string;
  /** The container root, to resolve user and group names; without it names are an error. */
  rootfs?: FileSystem;
}

export interface ContainerProcess {
  process: OciProcess;
  user: ResolvedUser;
}

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

/** Entrypoint + Cmd after Docker's merge of run options over the image config. */
export function resolveArgs(image: ImageRunConfig, run: Pick<RunOptions, 'entrypoint' | 'cmd'> = {}): string[] {
  let entrypoint: readonly string[];
  let cmd: readonly string[];
  if (run.entrypoint !== undefined) {
    entrypoint = run.entrypoint;
    cmd = run.cmd ?? [];
  } else {
    entrypoint = image.Entrypoint ?? [];
    cmd = run.cmd !== undefined && run.cmd.length > 0 ? run.cmd : (image.Cmd ?? []);
  }
  const args = [...entrypoint, ...cmd];
  if (args.length === 0 || args[0] === '') throw invalid('no command specified');
  return args;
}

/** The environment as Docker's CreateDaemonEnvironment builds it; HOME is added by the caller. */
export function resolveEnv(image: ImageRunConfig, run: Pick<RunOptions, 'env' | 'tty'>, hostname: string): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (run.tty) base.push('TERM=xterm');
  // Docker's merge: user env first, image entries whose key the user did not set appended.
  const userEnv = mergeEnv(run.env ?? []);
  const userKeys = new Set(userEnv.map(envKey));
  const config = [...userEnv, ...(image.Env ?? []).filter((e) => !userKeys.has(envKey(e)))];
  return mergeEnv(base, config).filter((e) => e.includes('='));
}

export function resolveWorkdir(image: ImageRunConfig, run: Pick<RunOptions, 'workdir'> = {}): string {
  const raw = run.workdir !== undefined && run.workdir !== '' ? run.workdir : image.WorkingDir || '/';
  if (!raw.startsWith('/')) {
    throw invalid(`the working directory '${raw}' is invalid, it needs to be an absolute path`);
  }
  return cleanPath(raw);
}

/** The OCI `process` object (without capabilities, rlimits: bundle.ts adds the security posture). */
export function buildProcess(options: ProcessOptions): ContainerProcess {
  const { image, hostname } = options;
  const run = options.run ?? {};
  const args = resolveArgs(image, run);
  const userSpec = run.user !== undefined && run.user !== '' ? run.user : image.User ?? '';
  const lookup = options.rootfs ? { rootfs: options.rootfs } : {};
  const user = resolveUser(userSpec, lookup);
  for (const gid of resolveAdditionalGroups(run.groupAdd ?? [], lookup)) {
    if (!user.additionalGids.includes(gid)) user.additionalGids.push(gid);
  }
  let env = resolveEnv(image, run, hostname);
  if (!env.some((e) => envKey(e) === 'HOME')) env = [...env, `HOME=${user.home}`];
  const oci: OciUser = { uid: user.uid, gid: user.gid };
  if (user.additionalGids.length > 0) oci.additionalGids = user.additionalGids;
  const process: OciProcess = {
    terminal: run.tty === true,
    user: oci,
    args,
    env,
    cwd: resolveWorkdir(image, run),
  };
  return { process, user };
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
