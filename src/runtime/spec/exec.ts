/**
 * The process for `exec` into a running container (`crun exec --process process.json`), as
 * `docker exec` builds it: the container's env with `-e` overriding and TERM with a TTY, the
 * container's user unless `-u`, its working directory unless `-w`, and the same capabilities,
 * rlimits and no_new_privs as the container's process.
 */
import { SkiffError } from '../../errors.ts';
import type { FileSystem } from '../../fs/types.ts';
import { envKey, mergeEnv } from './flags.ts';
import type { OciProcess, OciUser, RuntimeSpec } from './types.ts';
import { resolveUser } from './users.ts';
import { cleanPath } from './volumes.ts';

export interface ExecOptions {
  /** The running container's config.json. */
  container: RuntimeSpec;
  cmd: string[];
  /** `-e KEY=VALUE` (already parsed, see parseEnvFlag). */
  env?: string[];
  /** `-u user[:group]`, resolved through `rootfs`. */
  user?: string;
  /** `-w`: absolute. */
  workdir?: string;
  tty?: boolean;
  consoleSize?: { height: number; width: number };
  rootfs?: FileSystem;
}

export function buildExecProcess(o: ExecOptions): OciProcess {
  const base = o.container.process;
  if (o.cmd.length === 0 || o.cmd[0] === '') throw new SkiffError('INVALID_ARGUMENT', 'no command specified');
  if (o.workdir !== undefined && o.workdir !== '' && !o.workdir.startsWith('/')) {
    throw new SkiffError('INVALID_ARGUMENT', `the working directory '${o.workdir}' is invalid, it needs to be an absolute path`);
  }
  let user: OciUser = { ...base.user };
  let home: string | undefined;
  if (o.user !== undefined && o.user !== '') {
    const r = resolveUser(o.user, o.rootfs ? { rootfs: o.rootfs } : {});
    user = { uid: r.uid, gid: r.gid };
    if (r.additionalGids.length > 0) user.additionalGids = r.additionalGids;
    home = r.home;
  }
  const extra = [...(o.tty ? ['TERM=xterm'] : []), ...(home !== undefined ? [`HOME=${home}`] : []), ...(o.env ?? [])];
  const env = mergeEnv(base.env, extra).filter((e) => envKey(e) !== '' && e.includes('='));
  const process: OciProcess = {
    terminal: o.tty === true,
    user,
    args: [...o.cmd],
    env,
    cwd: o.workdir !== undefined && o.workdir !== '' ? cleanPath(o.workdir) : base.cwd,
    noNewPrivileges: base.noNewPrivileges ?? true,
  };
  if (base.capabilities) process.capabilities = structuredClone(base.capabilities);
  if (base.rlimits) process.rlimits = base.rlimits.map((r) => ({ ...r }));
  if (o.tty && o.consoleSize) process.consoleSize = { ...o.consoleSize };
  return process;
}
