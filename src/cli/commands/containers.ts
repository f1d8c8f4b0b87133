/** Container commands: ps, rm, export, diff, commit, rename, logs, port, container inspect/prune. */
import { networkSettingsView } from '../../engine/network-views.ts';
import { SkiffError } from '../../errors.ts';
import { boundPorts, formatBinding, portsColumn } from '../../runtime/spec/ports.ts';
import type { LogEntry } from '../../engine/lifecycle.ts';
import type { ContainerRecord } from '../../engine/types.ts';
import { displayText } from '../present/escape.ts';
import { labelFields, PS_HEADERS } from '../present/headers.ts';
import { ago, containerCommand as command, containerStatus as status, formatRows, goTime, humanSize, table, truncate } from '../present/format.ts';
import { logLines } from '../present/log-lines.ts';
import { list, out, str, type Command } from './context.ts';
import { UsageError } from './flags.ts';
import { filterContainers, filtersWantAll } from '../../engine/container-filter.ts';
import { parseFilterArgs } from '../../engine/events/filter.ts';
import { each, printDocs } from './images.ts';

/** A container record shaped like `docker inspect`'s output (our own record under "Skiff"). */
export function containerView(c: ContainerRecord): Record<string, unknown> {
  const argv = c.spec.args;
  return {
    Id: c.id,
    Created: c.created,
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: {
      Status: c.state, Running: c.state === 'running', Paused: c.state === 'paused', Restarting: false,
      OOMKilled: c.exit?.oomKilled ?? false, Dead: c.state === 'dead',
      // The container's init in the guest's pid namespace (Docker shows the host pid).
      Pid: c.state === 'running' ? Number(c.runtimeData?.['pid'] ?? 0) : 0,
      ExitCode: c.exitCode ?? 0, Error: c.exit?.error ?? '',
      StartedAt: c.startedAt ?? '0001-01-01T00:00:00Z', FinishedAt: c.finishedAt ?? '0001-01-01T00:00:00Z',
      ...(c.health ? { Health: c.health } : {}),
    },
    Image: c.imageId,
    Name: `/${c.name}`,
    Platform: c.platform,
    Config: {
      Hostname: c.spec.hostname, User: c.spec.user, Tty: c.spec.tty, OpenStdin: c.spec.openStdin,
      Env: c.spec.env, Cmd: c.spec.cmd, Entrypoint: c.spec.entrypoint.length ? c.spec.entrypoint : null,
      WorkingDir: c.spec.cwd, Image: c.imageRef, Labels: c.labels,
      ...(c.spec.healthcheck ? { Healthcheck: c.spec.healthcheck.config } : {}),
    },
    HostConfig: { NetworkMode: c.spec.network?.mode ?? 'none' },
    NetworkSettings: networkSettingsView(c, []),
    Skiff: c,
  };
}

/** docker/cli's .Mounts: each mount's volume name, or a bind's source; cut to 15 columns unless --no-trunc. */
function mountsColumn(c: ContainerRecord, full: boolean): string {
  return c.spec.mounts.map((m) => (m.type === 'bind' ? m.source : m.name)).map((n) => (full ? n : truncate(n, 15))).join(',');
}

/** docker/cli's .Networks: the names of the networks the container is attached to, sorted. */
function networksColumn(c: ContainerRecord): string {
  return Object.keys(networkSettingsView(c, [])['Networks'] as Record<string, unknown>).sort().join(',');
}

/**
 * docker/cli's .Size: the writable layer's size, and beside it the virtual size (image + writable
 * layer) when the image is known. Skiff keeps the size with the record, so it costs nothing without -s.
 */
function sizeColumn(c: ContainerRecord, imageSize: number | undefined): string {
  const rw = c.upper?.size ?? 0;
  const virtual = rw + (imageSize ?? 0);
  return virtual > 0 ? `${humanSize(rw)} (virtual ${humanSize(virtual)})` : humanSize(rw);
}

const ps: Command = {
  name: 'ps', aliases: ['container ls', 'container list'], usage: '[OPTIONS]', summary: 'List containers', maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', help: 'Show all containers (default shows just running)' },
    { name: 'quiet', short: 'q', help: 'Only display container IDs' },
    { name: 'no-trunc', help: "Don't truncate output" },
    { name: 'size', short: 's', help: 'Display total file sizes' },
    { name: 'format', value: 'string', help: '"table", "json" or a Go-style template' },
    { name: 'filter', short: 'f', value: 'filter', repeat: true, help: 'Filter output based on conditions provided (status, name, id, label, ancestor, exited, health=starting|healthy|unhealthy|none)' },
  ],
  async run(ctx, f) {
    let filters;
    try {
      filters = parseFilterArgs(list(f['filter']));
    } catch (err) {
      throw new UsageError('ps', err instanceof Error ? err.message : String(err));
    }
    const rows = filterContainers(await ctx.engine.listContainers({ all: f['all'] === true || filtersWantAll(filters) }), filters);
    const full = f['no-trunc'] === true;
    const id = (s: string): string => (full ? s : s.slice(0, 12));
    if (f['quiet']) return void out(ctx, rows.map((c) => id(c.id)).join('\n'));
    const imageSizes = new Map((await ctx.engine.listImages()).map((i) => [i.id as string, i.size]));
    const size = (c: ContainerRecord): string => sizeColumn(c, imageSizes.get(c.imageId));
    const formatted = formatRows(str(f['format']), rows.map((c) => ({
      // As docker/cli's container context: the command quoted (and cut to 20 without --no-trunc), CreatedAt as Go prints a time.
      ID: id(c.id), Image: c.imageRef, Command: JSON.stringify(full ? command(c) : truncate(command(c), 20)), CreatedAt: goTime(c.created),
      RunningFor: ago(c.created), State: c.state, Status: status(c), Names: c.name, Platform: c.platform, Runtime: c.runtime,
      Ports: portsColumn(boundPorts(c)), Mounts: mountsColumn(c, full), Networks: networksColumn(c), Size: size(c), ...labelFields(c.labels),
    })), PS_HEADERS);
    if (formatted !== undefined) return void ctx.stdout(formatted);
    const withSize = f['size'] === true;
    out(ctx, table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES', ...(withSize ? ['SIZE'] : [])], rows.map((c) => [
      id(c.id), c.imageRef, JSON.stringify(full ? command(c) : truncate(command(c), 20)), ago(c.created), status(c), portsColumn(boundPorts(c)), c.name,
      ...(withSize ? [size(c)] : []),
    ])));
  },
};

const rm: Command = {
  name: 'rm', aliases: ['container rm', 'container remove'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Remove one or more containers', minArgs: 1,
  flags: [{ name: 'force', short: 'f', help: 'Force the removal of a running container' }],
  run: (ctx, f, ids) => each(ctx, ids, async (id) => {
    await ctx.engine.removeContainer({ id, force: f['force'] === true });
    out(ctx, displayText(id));
  }),
};

const exportCmd: Command = {
  name: 'export', aliases: ['container export'], usage: '[OPTIONS] CONTAINER', minArgs: 1, maxArgs: 1,
  summary: "Export a container's filesystem as a tar archive (in a browser, downloaded)",
  flags: [{ name: 'output', short: 'o', value: 'string', help: 'Write to a file, instead of STDOUT (in a browser: the download\'s name)' }],
  async run(ctx, f, [id]) {
    const rec = await ctx.engine.inspectContainer({ id: id! });
    const chunks = await ctx.engine.exportContainer({ id: rec.id });
    const output = str(f['output']);
    await ctx.host.writeArchive(chunks, { ...(output ? { output } : {}), defaultName: `${rec.name}.tar` });
  },
};

const diff: Command = {
  name: 'diff', aliases: ['container diff'], usage: 'CONTAINER', summary: "Inspect changes to files or directories on a container's filesystem", minArgs: 1, maxArgs: 1, flags: [],
  async run(ctx, _f, [id]) {
    for (const ch of await ctx.engine.containerChanges({ id: id! })) out(ctx, `${ch.kind} ${displayText(ch.path)}`);
  },
};

const commit: Command = {
  name: 'commit', aliases: ['container commit'], usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', summary: "Create a new image from a container's changes", minArgs: 1, maxArgs: 2,
  flags: [
    { name: 'author', short: 'a', value: 'string', help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'message', short: 'm', value: 'string', help: 'Commit message' },
    { name: 'change', short: 'c', value: 'list', repeat: true, help: 'Apply Dockerfile instruction to the created image' },
    { name: 'pause', short: 'p', default: true, help: 'Pause container during commit' },
  ],
  async run(ctx, f, [id, repository]) {
    const changes = list(f['change']);
    const image = await ctx.engine.commitContainer({
      id: id!, ...(repository ? { ref: repository } : {}), ...(str(f['author']) ? { author: str(f['author'])! } : {}),
      ...(str(f['message']) ? { message: str(f['message'])! } : {}), ...(changes.length ? { changes } : {}), pause: f['pause'] !== false,
    });
    out(ctx, image.id);
  },
};

const rename: Command = {
  name: 'rename', aliases: ['container rename'], usage: 'CONTAINER NEW_NAME', summary: 'Rename a container', minArgs: 2, maxArgs: 2, flags: [],
  async run(ctx, _f, [id, name]) {
    await ctx.engine.renameContainer({ id: id!, name: name! });
  },
};

const port: Command = {
  name: 'port', aliases: ['container port'], usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]', summary: 'List port mappings or a specific mapping for the container', minArgs: 1, maxArgs: 2, flags: [],
  async run(ctx, _f, [id, which]) {
    const rec = await ctx.engine.inspectContainer({ id: id! });
    let ports = boundPorts(rec);
    if (which !== undefined) {
      const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(which);
      if (!m) throw new SkiffError('INVALID_ARGUMENT', `invalid port "${which}": expected PRIVATE_PORT[/PROTO]`);
      const proto = (m[2] ?? 'tcp').toLowerCase();
      ports = ports.filter((p) => p.containerPort === Number(m[1]) && p.proto === proto);
      if (!ports.length) throw new SkiffError('NOT_FOUND', `no public port '${m[1]}/${proto}' published for ${rec.name}`);
      return void out(ctx, ports.map((p) => `${p.hostIp || '127.0.0.1'}:${p.hostPort}`).join('\n'));
    }
    if (ports.length) out(ctx, ports.map(formatBinding).join('\n'));
  },
};

const logs: Command = {
  name: 'logs', aliases: ['container logs'], usage: '[OPTIONS] CONTAINER', summary: 'Fetch the logs of a container', minArgs: 1, maxArgs: 1,
  flags: [
    { name: 'timestamps', short: 't', help: 'Show timestamps' },
    { name: 'tail', short: 'n', value: 'string', default: 'all', help: 'Number of lines to show from the end of the logs' },
    { name: 'since', value: 'string', help: 'Show logs since a timestamp (e.g. "2013-01-02T13:23:37Z") or Unix seconds' },
    { name: 'follow', short: 'f', help: 'Follow log output' },
  ],
  async run(ctx, f, [id]) {
    const tailFlag = str(f['tail']) ?? 'all';
    let tail: number | 'all' = 'all';
    if (tailFlag !== 'all') {
      tail = Number(tailFlag);
      if (!Number.isInteger(tail)) throw new SkiffError('INVALID_ARGUMENT', `invalid value "${tailFlag}" for --tail: expected a number or "all"`);
    }
    const sinceFlag = str(f['since']);
    const since = sinceFlag === undefined ? undefined : new Date(/^\d+(\.\d+)?$/.test(sinceFlag) ? Number(sinceFlag) * 1000 : sinceFlag);
    if (since && Number.isNaN(since.getTime())) throw new SkiffError('INVALID_ARGUMENT', `invalid value "${sinceFlag}" for --since`);
    // The container's own output, as it wrote it (its terminal's business, as with `docker logs`).
    const print = (entries: readonly LogEntry[], t: number | 'all') => {
      for (const l of logLines(entries, { timestamps: f['timestamps'] === true, tail: t, ...(since ? { since } : {}) })) (l.stream === 'stdout' ? ctx.stdout : ctx.stderr)(l.text);
    };
    if (f['follow'] !== true) return print(await ctx.engine.containerLogs({ id: id! }), tail);
    // New output waits until what was there is printed (--tail applies to that part).
    let queued: LogEntry[] | null = [];
    const { entries, done } = await ctx.engine.followContainerLogs({ id: id!, onEntry: (e) => (queued ? queued.push(e) : print([e], 'all')) });
    print(entries, tail);
    print(queued, 'all');
    queued = null;
    await done();
  },
};

const containerPrune: Command = {
  name: 'container prune', usage: '[OPTIONS]', summary: 'Remove all stopped containers', maxArgs: 0,
  flags: [{ name: 'force', short: 'f', help: 'Do not prompt for confirmation' }],
  async run(ctx) {
    const r = await ctx.engine.pruneContainers();
    if (r.deleted.length) out(ctx, `Deleted Containers:\n${r.deleted.join('\n')}\n\n`);
    out(ctx, `Total reclaimed space: ${humanSize(r.reclaimed)}`);
  },
};

const containerInspect: Command = {
  name: 'container inspect', usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Display detailed information on one or more containers', minArgs: 1,
  flags: [{ name: 'format', short: 'f', value: 'string', help: 'Format the output using a Go-style template ({{.State.Status}})' }],
  async run(ctx, f, ids) {
    const docs: Array<Record<string, unknown>> = [];
    for (const id of ids) docs.push(containerView(await ctx.engine.inspectContainer({ id })));
    printDocs(ctx, docs, str(f['format']));
  },
};

export const containerCommands: readonly Command[] = [ps, rm, exportCmd, diff, commit, rename, logs, port, containerInspect, containerPrune];
