/**
 * Commands that run processes attached to the terminal: run (also -d) and exec; system df.
 * `run`'s flags are parsed by runtime/spec's parseRunFlags, the same parser the CLI uses.
 */
import { humanSize, table } from '../../../cli/format.ts';
import type { DiskUsage } from '../../../engine/images.ts';
import { parseRunFlags, type RunFlags } from '../../../runtime/spec/options.ts';
import type { OutputSink, RunResult, StartedInfo } from '../../rpc/protocol.ts';
import { createFlags, createOptions } from './containers.ts';
import { list, str, type ShellCommand, type ShellContext } from '../context.ts';
import type { FlagValues } from '../flags.ts';

const decoder = (): TextDecoder => new TextDecoder();

type Extra = { streamStdin?: boolean; consoleSize?: { cols: number; rows: number } };

/**
 * A process attached to the terminal (run, exec): output decoded as it streams, with -i the
 * keyboard as stdin (raw when the guest has a PTY), with -t the terminal's size followed.
 */
async function attached(ctx: ShellContext, f: FlagValues, start: (extra: Extra, sink: OutputSink) => Promise<RunResult>): Promise<number> {
  const out = decoder();
  const err = decoder();
  const stdin = f['interactive'] === true ? ctx.attachStdin?.() : undefined;
  let unresize: (() => void) | undefined;
  try {
    const size = f['tty'] === true ? ctx.size?.() : undefined;
    const r = await start({ ...(stdin ? { streamStdin: true } : {}), ...(size ? { consoleSize: size } : {}) }, {
      stdout: (d) => ctx.stdout(out.decode(d, { stream: true })),
      stderr: (d) => ctx.stderr(err.decode(d, { stream: true })),
      status: (text) => ctx.note?.(text),
      started: ({ id, pty }: StartedInfo) => {
        ctx.progressDone();
        if (f['tty'] === true) unresize = ctx.onResize?.((s) => void ctx.engine.api.resize({ id, ...s }).catch(() => {}));
        stdin?.setRaw(pty);
        stdin?.onInterrupt(() => void ctx.engine.api.kill({ id, signal: 'SIGINT' }));
      },
      ...(stdin ? { stdin: () => stdin.read() } : {}),
    });
    return r.exitCode;
  } finally {
    stdin?.detach();
    unresize?.();
  }
}

/** The shell's flag values in the shape runtime/spec's parser takes. */
export function runFlags(f: FlagValues, cmd: string[]): RunFlags {
  const out: RunFlags = {};
  const s = (k: string): string | undefined => str(f[k]);
  if (list(f['env']).length) out.env = list(f['env']);
  if (s('workdir') !== undefined) out.workdir = s('workdir')!;
  if (s('user') !== undefined) out.user = s('user')!;
  if (s('entrypoint') !== undefined) out.entrypoint = s('entrypoint')!;
  if (cmd.length) out.cmd = cmd;
  if (s('hostname') !== undefined) out.hostname = s('hostname')!;
  if (s('memory') !== undefined) out.memory = s('memory')!;
  if (s('cpus') !== undefined) out.cpus = s('cpus')!;
  if (s('pids-limit') !== undefined) out.pidsLimit = s('pids-limit')!;
  if (f['read-only'] === true) out.readOnly = true;
  if (list(f['tmpfs']).length) out.tmpfs = list(f['tmpfs']);
  if (list(f['volume']).length) out.volume = list(f['volume']);
  if (f['init'] === true) out.init = true;
  if (s('stop-timeout') !== undefined) out.stopTimeout = s('stop-timeout')!;
  if (f['tty'] === true) out.tty = true;
  if (f['interactive'] === true) out.interactive = true;
  if (s('name') !== undefined) out.name = s('name')!;
  if (f['rm'] === true) out.rm = true;
  if (list(f['label']).length) out.label = list(f['label']);
  return out;
}

export const processCommands: ShellCommand[] = [
  {
    spec: { name: 'run', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create and run a new container from an image', minArgs: 1, stopAtPositional: true, flags: [
      ...createFlags,
      { name: 'rm', help: 'Automatically remove the container when it exits' },
      { name: 'detach', short: 'd', help: 'Run container in background and print container ID' },
      { name: 'volume', short: 'v', value: true, repeat: true, help: 'Bind a named volume (name:/path[:ro]) or an anonymous one (/path)' },
      { name: 'tmpfs', value: true, repeat: true, help: 'Mount a tmpfs directory' },
      { name: 'memory', short: 'm', value: true, help: 'Memory limit' },
      { name: 'cpus', value: true, help: 'Number of CPUs' },
      { name: 'pids-limit', value: true, help: 'Tune container pids limit (-1 for unlimited)' },
      { name: 'read-only', help: "Mount the container's root filesystem as read only" },
      { name: 'init', help: 'Run an init inside the container that forwards signals and reaps processes' },
      { name: 'stop-timeout', value: true, help: 'Timeout (in seconds) to stop a container' },
    ] },
    aliases: ['container run'],
    async run(ctx, f, args) {
      // Checked here, so a bad flag is a usage-style error before anything is created.
      const run = parseRunFlags(runFlags(f, args.slice(1)));
      const req = { ...createOptions(f, args), run, rm: f['rm'] === true };
      if (f['detach']) {
        const r = await ctx.engine.api.runDetached(req);
        ctx.stdout(`${r.id}\n`);
        return 0;
      }
      return attached(ctx, f, (extra, sink) => ctx.engine.run({ ...req, ...extra }, sink));
    },
  },
  {
    spec: { name: 'exec', usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', summary: 'Execute a command in a running container', minArgs: 2, stopAtPositional: true, flags: [
      { name: 'interactive', short: 'i', help: 'Keep STDIN open' },
      { name: 'tty', short: 't', help: 'Allocate a pseudo-TTY' },
      { name: 'env', short: 'e', value: true, repeat: true, help: 'Set environment variables' },
      { name: 'workdir', short: 'w', value: true, help: 'Working directory inside the container' },
      { name: 'user', short: 'u', value: true, help: 'Username or UID' },
    ] },
    aliases: ['container exec'],
    async run(ctx, f, args) {
      const req = {
        id: args[0]!, cmd: args.slice(1), tty: f['tty'] === true,
        ...(list(f['env']).length ? { env: list(f['env']) } : {}),
        ...(str(f['workdir']) ? { workdir: str(f['workdir'])! } : {}), ...(str(f['user']) ? { user: str(f['user'])! } : {}),
      };
      return attached(ctx, f, (extra, sink) => ctx.engine.exec({ ...req, ...extra }, sink));
    },
  },
  {
    spec: { name: 'system df', usage: '', summary: 'Show disk usage (images, containers, volumes, the browser storage quota)', maxArgs: 0, flags: [] },
    aliases: ['df'],
    async run(ctx) {
      const [du, st] = await Promise.all([ctx.engine.api.diskUsage(), ctx.engine.api.storage()]);
      const row = (t: string, u: DiskUsage['images']): string[] => [t, String(u.total), String(u.active), humanSize(u.size), humanSize(u.reclaimable)];
      ctx.stdout(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [row('Images', du.images), row('Containers', du.containers), row('Local Volumes', du.volumes)]));
      if (st.usage !== undefined) ctx.stdout(`Browser storage: ${humanSize(st.usage)} used of ${st.quota !== undefined ? humanSize(st.quota) : 'unknown'}${st.persisted ? ' (persistent)' : ''}\n`);
      return 0;
    },
  },
];
