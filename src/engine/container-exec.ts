/**
 * `docker exec`: another process in a running container, through its runtime here (with Docker's
 * exec_create / exec_start / exec_die events), or through the process that runs it.
 */
import { SkiffError } from '../errors.ts';
import type { RuntimeProcess } from '../runtime/types.ts';
import { remoteExec } from './control/remote.ts';
import { inspectContainer, NO_IO, type LifecycleCore } from './lifecycle-core.ts';
import type { ExecOptions } from './lifecycle-options.ts';

export async function execInContainer(core: LifecycleCore, ref: string, o: ExecOptions): Promise<RuntimeProcess> {
  const rec = await inspectContainer(core, ref);
  const r = core.running.get(rec.id);
  if (!r && rec.state === 'running') {
    const { io, cmd, env, workdir, user, tty, openStdin, consoleSize } = o;
    return remoteExec(core.remote, rec, {
      cmd, ...(env ? { env } : {}), ...(workdir ? { workdir } : {}), ...(user ? { user } : {}),
      ...(tty !== undefined ? { tty } : {}), ...(openStdin !== undefined ? { openStdin } : {}), ...(consoleSize ? { consoleSize } : {}),
    }, io ?? NO_IO);
  }
  if (!r) throw new SkiffError('CONFLICT', `container ${rec.name} is not running`);
  // Docker's exec events name the command in their action ("exec_start: sh -c ...").
  const execID = randomHex();
  const cmd = o.cmd.join(' ');
  core.events.container(rec, `exec_create: ${cmd}`, { execID });
  const proc = await r.runtime.exec({
    id: rec.id, args: o.cmd, tty: o.tty ?? false, openStdin: o.openStdin ?? false,
    io: o.io ?? NO_IO,
    ...(o.env ? { env: o.env } : {}), ...(o.workdir ? { workdir: o.workdir } : {}), ...(o.user ? { user: o.user } : {}),
    ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
  });
  core.events.container(rec, `exec_start: ${cmd}`, { execID });
  void proc.wait().then((s) => core.events.container(rec, 'exec_die', { execID, exitCode: String(s.exitCode) }), () => {});
  return proc;
}

function randomHex(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
