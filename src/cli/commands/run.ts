/**
 * Commands that run things: run, create, start, exec, stop, kill, restart, wait. The flags and
 * their checks are here, once, for both hosts; attaching a process to a terminal is the host's
 * (CommandHost.run/start/exec): a Node process hands `-d` to a background holder, a browser tab
 * keeps the container in its engine worker.
 * Exit status: the container's; 125 when skiff itself fails, 126/127 as Docker for a command that
 * cannot be run.
 */
import { SkiffError, isSkiffError } from '../../errors.ts';
import { boundPorts } from '../../runtime/spec/ports.ts';
import { startFailureExitCode, startFailureReason } from '../../runtime/start-failure.ts';
import { parseRunFlags, type RunFlags, type RunOptions } from '../../runtime/spec/options.ts';
import { displayText } from '../present/escape.ts';
import { ExitStatusError, list, out, str, type Command, type CommandContext } from './context.ts';
import type { FlagSpec, FlagValues } from './flags.ts';
import { each } from './images.ts';
import { pullFlags, pullForRun } from './registry.ts';

const HOST_FILES = 'host files cannot be read in a browser';

/** Docker's `run`/`create` flags (parsed by runtime/spec parseRunFlags). */
export const runFlags: readonly FlagSpec[] = [
  { name: 'rm', help: 'Automatically remove the container when it exits' },
  { name: 'interactive', short: 'i', help: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', help: 'Allocate a pseudo-TTY' },
  { name: 'name', value: 'string', help: 'Assign a name to the container' },
  { name: 'env', short: 'e', value: 'list', repeat: true, help: 'Set environment variables' },
  { name: 'env-file', value: 'list', repeat: true, help: 'Read in a file of environment variables', hostOnly: HOST_FILES },
  { name: 'workdir', short: 'w', value: 'string', help: 'Working directory inside the container' },
  { name: 'user', short: 'u', value: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'volume', short: 'v', value: 'list', repeat: true, help: 'Bind mount a volume (a host directory only outside a browser)' },
  { name: 'tmpfs', value: 'list', repeat: true, help: 'Mount a tmpfs directory' },
  { name: 'hostname', value: 'string', help: 'Container host name' },
  { name: 'entrypoint', value: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'memory', short: 'm', value: 'bytes', help: 'Memory limit' },
  { name: 'memory-swap', value: 'bytes', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { name: 'cpus', value: 'decimal', help: 'Number of CPUs' },
  { name: 'pids-limit', value: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'read-only', help: "Mount the container's root filesystem as read only" },
  { name: 'init', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'stop-timeout', value: 'int', help: 'Timeout (in seconds) to stop a container' },
  { name: 'stop-signal', value: 'string', help: 'Signal to stop the container' },
  { name: 'label', short: 'l', value: 'list', repeat: true, help: 'Set meta data on a container' },
  { name: 'label-file', value: 'list', repeat: true, help: 'Read in a line delimited file of labels', hostOnly: HOST_FILES },
  { name: 'cap-add', value: 'list', repeat: true, help: 'Add Linux capabilities' },
  { name: 'cap-drop', value: 'list', repeat: true, help: 'Drop Linux capabilities' },
  { name: 'group-add', value: 'list', repeat: true, help: 'Add additional groups to join' },
  { name: 'security-opt', value: 'list', repeat: true, help: 'Security Options' },
  { name: 'storage-opt', value: 'list', repeat: true, help: 'Storage driver options for the container (size=N: writable layer quota)' },
  { name: 'network', value: 'string', help: 'Connect a container to a network (bridge, none, host = the guest VM, container:NAME, or a network)' },
  { name: 'network-alias', value: 'list', repeat: true, help: 'Add network-scoped alias for the container' },
  { name: 'ip', value: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'link', value: 'list', repeat: true, help: 'Add link to another container (NAME[:ALIAS])' },
  { name: 'add-host', value: 'list', repeat: true, help: 'Add a custom host-to-IP mapping (host:ip, or host:host-gateway)' },
  { name: 'dns', value: 'list', repeat: true, help: 'Set custom DNS servers' },
  { name: 'dns-search', value: 'list', repeat: true, help: 'Set custom DNS search domains' },
  { name: 'dns-option', value: 'list', repeat: true, help: 'Set DNS options' },
  { name: 'publish', short: 'p', value: 'list', repeat: true, help: "Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto]; 127.0.0.1 unless an ip is given)" },
  { name: 'publish-all', short: 'P', help: 'Publish all exposed ports to random ports' },
  { name: 'expose', value: 'list', repeat: true, help: 'Expose a port or a range of ports' },
  { name: 'health-cmd', value: 'string', help: 'Command to run to check health' },
  { name: 'health-interval', value: 'duration', help: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { name: 'health-timeout', value: 'duration', help: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { name: 'health-retries', value: 'int', help: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-period', value: 'duration', help: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { name: 'health-start-interval', value: 'duration', help: 'Time between running the check during the start period (ms|s|m|h) (default 0s)' },
  { name: 'no-healthcheck', help: 'Disable any container-specified HEALTHCHECK' },
];

/** The flag values in the shape runtime/spec's parser takes; host files read through the host. */
async function toRunFlags(ctx: CommandContext, f: FlagValues, cmd: string[]): Promise<RunFlags> {
  const files = async (name: string) => Promise.all(list(f[name]).map(async (file) => ({ name: file, text: await ctx.host.readFile(file) })));
  const s = (k: string): string | undefined => str(f[k]);
  const flags: RunFlags = {
    cmd, env: list(f['env']), envFile: await files('env-file'), labelFile: await files('label-file'), label: list(f['label']),
    volume: list(f['volume']), tmpfs: list(f['tmpfs']), capAdd: list(f['cap-add']), capDrop: list(f['cap-drop']),
    groupAdd: list(f['group-add']), securityOpt: list(f['security-opt']), storageOpt: list(f['storage-opt']),
    networkAlias: list(f['network-alias']), link: list(f['link']), addHost: list(f['add-host']), dns: list(f['dns']), dnsSearch: list(f['dns-search']), dnsOption: list(f['dns-option']),
    publish: list(f['publish']), publishAll: f['publish-all'] === true, expose: list(f['expose']),
    rm: f['rm'] === true, interactive: f['interactive'] === true, tty: f['tty'] === true, readOnly: f['read-only'] === true, init: f['init'] === true,
    noHealthcheck: f['no-healthcheck'] === true,
  };
  const strings: Array<[string, keyof RunFlags]> = [['name', 'name'], ['workdir', 'workdir'], ['user', 'user'], ['hostname', 'hostname'], ['entrypoint', 'entrypoint'],
    ['memory', 'memory'], ['memory-swap', 'memorySwap'], ['cpus', 'cpus'], ['pids-limit', 'pidsLimit'], ['stop-timeout', 'stopTimeout'], ['stop-signal', 'stopSignal'], ['network', 'network'], ['ip', 'ip'],
    ['health-cmd', 'healthCmd'], ['health-interval', 'healthInterval'], ['health-timeout', 'healthTimeout'], ['health-retries', 'healthRetries'],
    ['health-start-period', 'healthStartPeriod'], ['health-start-interval', 'healthStartInterval']];
  for (const [flag, key] of strings) if (s(flag) !== undefined) (flags as Record<string, unknown>)[key] = s(flag);
  return flags;
}

/** `run`/`create` flags parsed and checked; a bind mount where the host has no files is refused here. */
export async function runOptions(ctx: CommandContext, f: FlagValues, cmd: string[]): Promise<RunOptions> {
  const run = parseRunFlags(await toRunFlags(ctx, f, cmd), { hostEnv: ctx.host.env });
  if (ctx.host.kind === 'browser') refuseHostBinds(run);
  return run;
}

/** Where there are no host directories (a browser), a bind mount is refused before anything is created. */
export function refuseHostBinds(run: RunOptions | undefined): void {
  for (const v of run?.volumes ?? []) {
    if (v.type === 'bind') throw new SkiffError('UNSUPPORTED', `-v ${v.source}:${v.destination}: host directories cannot be mounted in a browser; use a named volume (-v name:${v.destination})`);
  }
}

/** Anything that fails before the container runs is skiff's failure: 125, as Docker. */
function fail(err: unknown): ExitStatusError {
  return err instanceof ExitStatusError ? err : new ExitStatusError(125, displayText(err instanceof Error ? err.message : String(err), { multiline: true }));
}

/**
 * Docker's status for a process that did not start (both hosts): 127 for a command that does not
 * exist, 126 for one that cannot be executed (the runtime's structured reason), else 125; for
 * `exec`, a container that is not there or not running is the caller's error (1).
 */
export function startFailed(err: unknown, o: { exec?: boolean } = {}): ExitStatusError {
  if (err instanceof ExitStatusError) return err;
  const message = displayText(err instanceof Error ? err.message : String(err), { multiline: true });
  if (startFailureReason(err)) return new ExitStatusError(startFailureExitCode(err), message);
  if (o.exec && isSkiffError(err) && ['CONFLICT', 'NOT_FOUND', 'INVALID_ARGUMENT', 'UNSUPPORTED'].includes(err.code)) return new ExitStatusError(1, message);
  return new ExitStatusError(startFailureExitCode(err), message);
}

const run: Command = {
  name: 'run', aliases: ['container run'], usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create and run a new container from an image',
  minArgs: 1, stopAtPositional: true,
  flags: [...runFlags, ...pullFlags, { name: 'detach', short: 'd', help: 'Run container in background and print container ID' }],
  async run(ctx, f, [image, ...cmd]) {
    let opts: RunOptions;
    let ref: string;
    try {
      opts = await runOptions(ctx, f, cmd);
      ref = await pullForRun(ctx, image!, f);
    } catch (err) {
      throw fail(err);
    }
    const r = await ctx.host.run({ image: ref, run: opts, detach: f['detach'] === true });
    if (r.id) {
      out(ctx, r.id);
      // In a page a published port has no host listener: say where it opens.
      const portUrl = ctx.host.portUrl?.bind(ctx.host);
      if (portUrl && (opts.publish?.length || opts.publishAll)) {
        for (const p of boundPorts(await ctx.engine.inspectContainer({ id: r.id }))) {
          ctx.stderr(`${p.containerPort}/${p.proto} is published at ${portUrl(p.hostPort)}\n`);
        }
      }
    }
    return r.status;
  },
};

const create: Command = {
  name: 'create', aliases: ['container create'], usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create a new container (without starting it)',
  minArgs: 1, stopAtPositional: true, flags: [...runFlags, ...pullFlags],
  async run(ctx, f, [image, ...cmd]) {
    let id: string;
    try {
      const opts = await runOptions(ctx, f, cmd);
      const ref = await pullForRun(ctx, image!, f);
      id = (await ctx.engine.createContainer({ image: ref, run: opts, tty: opts.tty ?? false, openStdin: opts.interactive ?? false })).id;
    } catch (err) {
      throw fail(err);
    }
    out(ctx, id);
  },
};

const start: Command = {
  name: 'start', aliases: ['container start'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Start one or more stopped containers', minArgs: 1,
  flags: [
    { name: 'attach', short: 'a', help: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'interactive', short: 'i', help: "Attach container's STDIN" },
  ],
  async run(ctx, f, ids) {
    const attach = f['attach'] === true || f['interactive'] === true;
    if (attach) {
      if (ids.length > 1) throw new ExitStatusError(125, 'you cannot start and attach multiple containers at once');
      return ctx.host.start(ids[0]!, { attach, interactive: f['interactive'] === true });
    }
    return each(ctx, ids, async (id) => {
      await ctx.host.start(id, { attach: false, interactive: false });
      out(ctx, displayText(id));
    }, 'Error response from daemon: ');
  },
};

const exec: Command = {
  name: 'exec', aliases: ['container exec'], usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', summary: 'Execute a command in a running container',
  minArgs: 2, stopAtPositional: true,
  flags: [
    { name: 'interactive', short: 'i', help: 'Keep STDIN open even if not attached' },
    { name: 'tty', short: 't', help: 'Allocate a pseudo-TTY' },
    { name: 'env', short: 'e', value: 'list', repeat: true, help: 'Set environment variables' },
    { name: 'workdir', short: 'w', value: 'string', help: 'Working directory inside the container' },
    { name: 'user', short: 'u', value: 'string', help: 'Username or UID' },
  ],
  run: (ctx, f, [id, ...cmd]) => ctx.host.exec({
    id: id!, cmd, tty: f['tty'] === true, openStdin: f['interactive'] === true,
    ...(list(f['env']).length ? { env: list(f['env']) } : {}), ...(str(f['workdir']) ? { workdir: str(f['workdir'])! } : {}),
    ...(str(f['user']) ? { user: str(f['user'])! } : {}),
  }),
};

function seconds(v: string | undefined): { timeout?: number } {
  if (v === undefined) return {};
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ExitStatusError(125, `invalid argument "${displayText(v)}" for "-t, --time" flag: strconv.ParseInt: parsing "${displayText(v)}": invalid syntax`);
  return { timeout: n };
}

const stop: Command = {
  name: 'stop', aliases: ['container stop'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Stop one or more running containers', minArgs: 1,
  flags: [
    { name: 'time', short: 't', value: 'int', help: 'Seconds to wait before killing the container' },
    { name: 'signal', short: 's', value: 'string', help: 'Signal to send to the container' },
  ],
  run(ctx, f, ids) {
    const t = seconds(str(f['time']));
    return each(ctx, ids, async (id) => {
      await ctx.engine.stopContainer({ id, ...t, ...(str(f['signal']) ? { signal: str(f['signal'])! } : {}) });
      out(ctx, displayText(id));
    }, 'Error response from daemon: ');
  },
};

const kill: Command = {
  name: 'kill', aliases: ['container kill'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Kill one or more running containers', minArgs: 1,
  flags: [{ name: 'signal', short: 's', value: 'string', default: 'KILL', help: 'Signal to send to the container' }],
  run: (ctx, f, ids) => each(ctx, ids, async (id) => {
    await ctx.engine.killContainer({ id, signal: str(f['signal']) ?? 'KILL' });
    out(ctx, displayText(id));
  }, 'Error response from daemon: '),
};

const restart: Command = {
  name: 'restart', aliases: ['container restart'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Restart one or more containers', minArgs: 1,
  flags: [{ name: 'time', short: 't', value: 'int', help: 'Seconds to wait before killing the container' }],
  run(ctx, f, ids) {
    const t = seconds(str(f['time']));
    return each(ctx, ids, async (id) => {
      await ctx.host.restart(id, t);
      out(ctx, displayText(id));
    }, 'Error response from daemon: ');
  },
};

const wait: Command = {
  name: 'wait', aliases: ['container wait'], usage: 'CONTAINER [CONTAINER...]', summary: 'Block until one or more containers stop, then print their exit codes', minArgs: 1, flags: [],
  run: (ctx, _f, ids) => each(ctx, ids, async (id) => {
    out(ctx, String((await ctx.engine.waitContainer({ id })).exitCode));
  }, 'Error response from daemon: '),
};

export const runCommands: readonly Command[] = [run, create, start, exec, stop, kill, restart, wait];
