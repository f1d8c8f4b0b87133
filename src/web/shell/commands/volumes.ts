/** Volume commands of the browser shell: volume create, ls, inspect, rm, prune. */
import { humanSize, table } from '../../../cli/format.ts';
import type { ShellCommand } from '../context.ts';

export const volumeCommands: ShellCommand[] = [
  {
    spec: { name: 'volume create', usage: '[OPTIONS] [VOLUME]', summary: 'Create a volume', maxArgs: 1, flags: [
      { name: 'label', short: 'l', value: true, repeat: true, help: 'Set metadata for a volume' },
    ] },
    async run(ctx, f, args) {
      const labels: Record<string, string> = {};
      for (const l of (f['label'] as string[] | undefined) ?? []) {
        const i = l.indexOf('=');
        labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
      }
      const v = await ctx.engine.api.createVolume({ ...(args[0] ? { name: args[0] } : {}), labels });
      ctx.stdout(`${v.name}\n`);
      return 0;
    },
  },
  {
    spec: { name: 'volume ls', usage: '[OPTIONS]', summary: 'List volumes', maxArgs: 0, flags: [
      { name: 'quiet', short: 'q', help: 'Only display volume names' },
    ] },
    aliases: ['volume list'],
    async run(ctx, f) {
      const vols = await ctx.engine.api.listVolumes();
      if (f['quiet']) { ctx.stdout(vols.map((v) => `${v.name}\n`).join('')); return 0; }
      ctx.stdout(table(['DRIVER', 'VOLUME NAME', 'SIZE'], vols.map((v) => ['local', v.name, humanSize(v.data?.size ?? 0)])));
      return 0;
    },
  },
  {
    spec: { name: 'volume inspect', usage: 'VOLUME [VOLUME...]', summary: 'Display detailed information on one or more volumes', minArgs: 1, flags: [] },
    async run(ctx, _f, args) {
      const docs = [];
      for (const name of args) docs.push(await ctx.engine.api.inspectVolume({ name }));
      ctx.stdout(`${JSON.stringify(docs, null, 4)}\n`);
      return 0;
    },
  },
  {
    spec: { name: 'volume rm', usage: '[OPTIONS] VOLUME [VOLUME...]', summary: 'Remove one or more volumes', minArgs: 1, flags: [
      { name: 'force', short: 'f', help: 'Force the removal of one or more volumes' },
    ] },
    aliases: ['volume remove'],
    async run(ctx, f, args) {
      let code = 0;
      for (const name of args) {
        try {
          await ctx.engine.api.removeVolume({ name, force: f['force'] === true });
          ctx.stdout(`${name}\n`);
        } catch (err) {
          ctx.stderr(`Error: ${(err as Error).message}\n`);
          code = 1;
        }
      }
      return code;
    },
  },
  {
    spec: { name: 'volume prune', usage: '[OPTIONS]', summary: 'Remove unused volumes', maxArgs: 0, flags: [
      { name: 'all', short: 'a', help: 'Remove all unused volumes, not just anonymous ones' },
      { name: 'force', short: 'f', help: 'Do not prompt for confirmation' },
    ] },
    async run(ctx, f) {
      const r = await ctx.engine.api.pruneVolumes({ all: f['all'] === true });
      if (r.deleted.length) ctx.stdout(`Deleted Volumes:\n${r.deleted.map((d) => `${d}\n`).join('')}\n`);
      ctx.stdout(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
      return 0;
    },
  },
];
