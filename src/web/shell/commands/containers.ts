/** Container commands of the browser shell: ps, create, rm, export, diff. */
import { ago, containerCommand as command, containerStatus as status, table, truncate } from '../../../cli/format.ts';
import type { CreateContainerOptions } from '../../../engine/containers.ts';
import type { FlagSpec, FlagValues } from '../flags.ts';
import { list, str, type ShellCommand } from '../context.ts';

/** The flags `create` and `run` share, as Docker names them. */
export const createFlags: FlagSpec[] = [
  { name: 'name', value: true, help: 'Assign a name to the container' },
  { name: 'env', short: 'e', value: true, repeat: true, help: 'Set environment variables' },
  { name: 'workdir', short: 'w', value: true, help: 'Working directory inside the container' },
  { name: 'user', short: 'u', value: true, help: 'Username or UID' },
  { name: 'entrypoint', value: true, help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'tty', short: 't', help: 'Allocate a pseudo-TTY' },
  { name: 'interactive', short: 'i', help: 'Keep STDIN open' },
  { name: 'label', short: 'l', value: true, repeat: true, help: 'Set meta data on a container' },
  { name: 'hostname', value: true, help: 'Container host name' },
];

export function createOptions(f: FlagValues, args: string[]): CreateContainerOptions {
  const labels: Record<string, string> = {};
  for (const l of list(f['label'])) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const entrypoint = str(f['entrypoint']);
  const cmd = args.slice(1);
  return {
    image: args[0]!, ...(cmd.length ? { cmd } : {}),
    ...(str(f['name']) ? { name: str(f['name'])! } : {}),
    ...(list(f['env']).length ? { env: list(f['env']) } : {}),
    ...(str(f['workdir']) ? { workdir: str(f['workdir'])! } : {}),
    ...(str(f['user']) ? { user: str(f['user'])! } : {}),
    ...(entrypoint !== undefined ? { entrypoint: entrypoint === '' ? [] : [entrypoint] } : {}),
    ...(str(f['hostname']) ? { hostname: str(f['hostname'])! } : {}),
    tty: f['tty'] === true, openStdin: f['interactive'] === true, labels,
  };
}

export const containerCommands: ShellCommand[] = [
  {
    spec: { name: 'ps', usage: '[OPTIONS]', summary: 'List containers', maxArgs: 0, flags: [
      { name: 'all', short: 'a', help: 'Show all containers (default shows just running)' },
      { name: 'quiet', short: 'q', help: 'Only display container IDs' },
      { name: 'no-trunc', help: "Don't truncate output" },
    ] },
    aliases: ['container ls', 'container list'],
    async run(ctx, f) {
      const rows = await ctx.engine.api.listContainers({ all: f['all'] === true });
      const full = f['no-trunc'] === true;
      const id = (s: string): string => (full ? s : s.slice(0, 12));
      if (f['quiet']) { ctx.stdout(rows.map((c) => `${id(c.id)}\n`).join('')); return 0; }
      ctx.stdout(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], rows.map((c) => [
        id(c.id), c.imageRef, JSON.stringify(full ? command(c) : truncate(command(c), 20)), ago(c.created), status(c), '', c.name,
      ])));
      return 0;
    },
  },
  {
    spec: { name: 'create', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create a new container (without starting it)', minArgs: 1, stopAtPositional: true, flags: createFlags },
    aliases: ['container create'],
    async run(ctx, f, args) {
      const rec = await ctx.engine.api.createContainer(createOptions(f, args));
      ctx.stdout(`${rec.id}\n`);
      return 0;
    },
  },
  {
    spec: { name: 'rm', usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Remove one or more containers', minArgs: 1, flags: [
      { name: 'force', short: 'f', help: 'Force the removal of a running container' },
    ] },
    aliases: ['container rm', 'container remove'],
    async run(ctx, f, args) {
      let code = 0;
      for (const id of args) {
        try {
          await ctx.engine.api.removeContainer({ id, force: f['force'] === true });
          ctx.stdout(`${id}\n`);
        } catch (err) {
          ctx.stderr(`Error: ${(err as Error).message}\n`);
          code = 1;
        }
      }
      return code;
    },
  },
  {
    spec: { name: 'export', usage: '[OPTIONS] CONTAINER', summary: "Export a container's filesystem as a tar archive (downloaded)", minArgs: 1, maxArgs: 1, flags: [
      { name: 'output', short: 'o', value: true, help: 'Name of the downloaded file' },
    ] },
    aliases: ['container export'],
    async run(ctx, f, args) {
      const rec = await ctx.engine.api.inspectContainer({ id: args[0]! });
      const blob = await ctx.engine.api.exportContainer({ id: rec.id });
      ctx.download(blob, str(f['output']) ?? `${rec.name}.tar`);
      return 0;
    },
  },
  {
    spec: { name: 'rename', usage: 'CONTAINER NEW_NAME', summary: 'Rename a container', minArgs: 2, maxArgs: 2, flags: [] },
    aliases: ['container rename'],
    async run(ctx, _f, args) {
      await ctx.engine.api.renameContainer({ id: args[0]!, name: args[1]! });
      return 0;
    },
  },
  {
    spec: { name: 'commit', usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', summary: "Create a new image from a container's changes", minArgs: 1, maxArgs: 2, flags: [
      { name: 'author', short: 'a', value: true, help: 'Author' },
      { name: 'message', short: 'm', value: true, help: 'Commit message' },
    ] },
    aliases: ['container commit'],
    async run(ctx, f, args) {
      const img = await ctx.engine.api.commitContainer({
        id: args[0]!, ...(args[1] ? { ref: args[1] } : {}),
        ...(str(f['author']) ? { author: str(f['author'])! } : {}), ...(str(f['message']) ? { message: str(f['message'])! } : {}),
      });
      ctx.stdout(`${img.id}\n`);
      return 0;
    },
  },
  {
    spec: { name: 'diff', usage: 'CONTAINER', summary: "Inspect changes to files or directories on a container's filesystem", minArgs: 1, maxArgs: 1, flags: [] },
    aliases: ['container diff'],
    async run(ctx, _f, args) {
      for (const ch of await ctx.engine.api.containerChanges({ id: args[0]! })) ctx.stdout(`${ch.kind} ${ch.path}\n`);
      return 0;
    },
  },
];
