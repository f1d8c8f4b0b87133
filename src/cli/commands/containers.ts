/** Container commands: create, export, commit, rename, rm, ps, diff, container inspect/prune. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { SkiffError } from '../../errors.ts';
import type { ContainerRecord } from '../../engine/types.ts';
import { ago, containerCommand as command, containerStatus as status, formatRows, humanSize, renderTemplate, table, truncate } from '../format.ts';
import { collectOpt, out, writeFileAtomic, type CliIO } from '../io.ts';
import { ReportedError } from './images.ts';
import { parseChanges } from '../changes.ts';
import { logLines } from '../log-lines.ts';
import { createFromFlags, ExitStatusError, withRunFlags } from './run.ts';

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
    },
    Image: c.imageId,
    Name: `/${c.name}`,
    Platform: c.platform,
    Config: {
      Hostname: c.spec.hostname, User: c.spec.user, Tty: c.spec.tty, OpenStdin: c.spec.openStdin,
      Env: c.spec.env, Cmd: c.spec.cmd, Entrypoint: c.spec.entrypoint.length ? c.spec.entrypoint : null,
      WorkingDir: c.spec.cwd, Image: c.imageRef, Labels: c.labels,
    },
    Skiff: c,
  };
}

export function registerContainerCommands(program: Command, container: Command, io: CliIO): void {
  const addCreate = (c: Command): Command => withRunFlags(c
    .description('Create a new container (without starting it)')
    .argument('<image>').argument('[command...]'))
    .action(async (image: string, cmd: string[], o) => {
      let rec;
      try {
        rec = await createFromFlags(await io.engine(), image, cmd, o);
      } catch (err) {
        throw new ExitStatusError(125, (err as Error).message);
      }
      out(io, rec.id);
    });
  addCreate(program.command('create'));
  addCreate(container.command('create'));

  const addExport = (c: Command): Command => c
    .description("Export a container's filesystem as a tar archive")
    .argument('<container>')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .action(async (id: string, o) => {
      const chunks = await (await io.engine()).exportContainer({ id });
      if (!o.output) {
        if (io.stdout.isTTY) throw new SkiffError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
        await pipeline(Readable.from(chunks), io.stdout);
        return;
      }
      await writeFileAtomic(o.output, chunks);
    });
  addExport(program.command('export'));
  addExport(container.command('export'));

  const addRm = (c: Command): Command => c
    .description('Remove one or more containers')
    .argument('<container...>')
    .option('-f, --force', 'Force the removal of a running container')
    .action(async (ids: string[], o) => {
      const engine = await io.engine();
      let failed = false;
      for (const id of ids) {
        try {
          await engine.removeContainer({ id, force: o.force ?? false });
          out(io, id);
        } catch (err) {
          (io.stderr as NodeJS.WritableStream).write(`Error: ${(err as Error).message}\n`);
          failed = true;
        }
      }
      if (failed) throw new ReportedError();
    });
  addRm(program.command('rm'));
  addRm(container.command('rm').alias('remove'));

  const addPs = (c: Command): Command => c
    .description('List containers')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-q, --quiet', 'Only display container IDs')
    .option('--no-trunc', "Don't truncate output")
    .option('--format <format>', '"table" or "json"')
    .action(async (o) => {
      const list = await (await io.engine()).listContainers({ all: o.all ?? false });
      const id = (s: string): string => (o.trunc === false ? s : s.slice(0, 12));
      if (o.quiet) return out(io, list.map((c) => id(c.id)).join('\n'));
      const formatted = formatRows(o.format, list.map((c) => ({ ID: id(c.id), Image: c.imageRef, Command: command(c), CreatedAt: c.created, RunningFor: ago(c.created), State: c.state, Status: status(c), Names: c.name, Platform: c.platform, Runtime: c.runtime })));
      if (formatted !== undefined) return void io.stdout.write(formatted);
      out(io, table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], list.map((c) => [
        id(c.id), c.imageRef, JSON.stringify(o.trunc === false ? command(c) : truncate(command(c), 20)), ago(c.created), status(c), '', c.name,
      ])));
    });
  addPs(program.command('ps'));
  addPs(container.command('ls').alias('list'));

  const addDiff = (c: Command): Command => c
    .description("Inspect changes to files or directories on a container's filesystem")
    .argument('<container>')
    .action(async (id: string) => {
      for (const ch of await (await io.engine()).containerChanges({ id })) out(io, `${ch.kind} ${ch.path}`);
    });
  addDiff(program.command('diff'));
  addDiff(container.command('diff'));

  const addCommit = (c: Command): Command => c
    .description("Create a new image from a container's changes")
    .argument('<container>').argument('[repository]', 'REPOSITORY[:TAG]')
    .option('-a, --author <author>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-m, --message <message>', 'Commit message')
    .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', collectOpt)
    .action(async (id: string, repository: string | undefined, o) => {
      const engine = await io.engine();
      const rec = await engine.inspectContainer({ id });
      const base = (await engine.imageConfig({ ref: rec.image })).config ?? {};
      const changes = o.change ? parseChanges(o.change as string[], base) : undefined;
      const image = await engine.commitContainer({
        id, ...(repository ? { ref: repository } : {}), ...(o.author ? { author: o.author } : {}),
        ...(o.message ? { message: o.message } : {}), ...(changes ? { changes } : {}),
      });
      out(io, image.id);
    });
  addCommit(program.command('commit'));
  addCommit(container.command('commit'));

  const addRename = (c: Command): Command => c
    .description('Rename a container')
    .argument('<container>').argument('<new-name>')
    .action(async (id: string, name: string) => { await (await io.engine()).renameContainer({ id, name }); });
  addRename(program.command('rename'));
  addRename(container.command('rename'));

  const addLogs = (c: Command): Command => c
    .description('Fetch the logs of a container')
    .argument('<container>')
    .option('-t, --timestamps', 'Show timestamps')
    .option('-n, --tail <lines>', 'Number of lines to show from the end of the logs', 'all')
    .option('--since <time>', 'Show logs since a timestamp (e.g. "2013-01-02T13:23:37Z") or Unix seconds')
    .action(async (id: string, o) => {
      let tail: number | 'all' = 'all';
      if (o.tail !== 'all') {
        tail = Number(o.tail);
        if (!Number.isInteger(tail)) throw new SkiffError('INVALID_ARGUMENT', `invalid value "${o.tail}" for --tail: expected a number or "all"`);
      }
      const since = o.since === undefined ? undefined : new Date(/^\d+(\.\d+)?$/.test(o.since) ? Number(o.since) * 1000 : o.since);
      if (since && Number.isNaN(since.getTime())) throw new SkiffError('INVALID_ARGUMENT', `invalid value "${o.since}" for --since`);
      const entries = await (await io.engine()).containerLogs({ id });
      for (const l of logLines(entries, { timestamps: Boolean(o.timestamps), tail, ...(since ? { since } : {}) })) {
        (l.stream === 'stdout' ? io.stdout : (io.stderr as NodeJS.WritableStream)).write(l.text);
      }
    });
  addLogs(program.command('logs'));
  addLogs(container.command('logs'));

  container.command('prune')
    .description('Remove all stopped containers')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async () => {
      const r = await (await io.engine()).pruneContainers();
      if (r.deleted.length) out(io, `Deleted Containers:\n${r.deleted.join('\n')}\n\n`);
      out(io, `Total reclaimed space: ${humanSize(r.reclaimed)}`);
    });

  container.command('inspect')
    .description('Display detailed information on one or more containers')
    .argument('<container...>')
    .option('-f, --format <template>', 'Format the output using a Go-style template ({{.State.Status}})')
    .action(async (ids: string[], o) => {
      const engine = await io.engine();
      const docs: Array<Record<string, unknown>> = [];
      for (const id of ids) docs.push(containerView(await engine.inspectContainer({ id })));
      if (o.format) return out(io, docs.map((d) => renderTemplate(o.format, d)).join('\n'));
      out(io, JSON.stringify(docs, null, 4));
    });
}

