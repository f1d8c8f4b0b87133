/** volume create, ls, inspect, rm, prune. */
import type { VolumeRecord } from '../../engine/types.ts';
import { displayText } from '../present/escape.ts';
import { labelFields, VOLUME_HEADERS } from '../present/headers.ts';
import { formatRows, humanSize, table } from '../present/format.ts';
import { list, out, str, type Command } from './context.ts';
import { each, printDocs } from './images.ts';

function view(v: VolumeRecord): Record<string, unknown> {
  return { CreatedAt: v.created, Driver: 'local', Labels: v.labels, Mountpoint: '', Name: v.name, Options: null, Scope: 'local', Size: humanSize(v.data?.size ?? 0) };
}

function labels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of items) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

export const volumeCommands: readonly Command[] = [
  {
    name: 'volume create', usage: '[OPTIONS] [VOLUME]', summary: 'Create a volume', maxArgs: 1,
    flags: [{ name: 'label', short: 'l', value: 'list', repeat: true, help: 'Set metadata for a volume' }],
    async run(ctx, f, [name]) {
      const v = await ctx.engine.createVolume({ ...(name ? { name } : {}), labels: labels(list(f['label'])) });
      out(ctx, displayText(v.name));
    },
  },
  {
    name: 'volume ls', aliases: ['volume list'], usage: '[OPTIONS]', summary: 'List volumes', maxArgs: 0,
    flags: [
      { name: 'quiet', short: 'q', help: 'Only display volume names' },
      { name: 'format', value: 'string', help: '"table", "json" or a Go-style template' },
    ],
    async run(ctx, f) {
      const vols = await ctx.engine.listVolumes();
      if (f['quiet']) return void out(ctx, vols.map((v) => displayText(v.name)).join('\n'));
      const formatted = formatRows(str(f['format']), vols.map((v) => ({ ...view(v), ...labelFields(v.labels) })), VOLUME_HEADERS);
      if (formatted !== undefined) return void ctx.stdout(formatted);
      out(ctx, table(['DRIVER', 'VOLUME NAME'], vols.map((v) => ['local', v.name])));
    },
  },
  {
    name: 'volume inspect', usage: '[OPTIONS] VOLUME [VOLUME...]', summary: 'Display detailed information on one or more volumes', minArgs: 1,
    flags: [{ name: 'format', short: 'f', value: 'string', help: 'Format the output using a Go-style template' }],
    async run(ctx, f, names) {
      const docs: Array<Record<string, unknown>> = [];
      for (const name of names) docs.push(view(await ctx.engine.inspectVolume({ name })));
      printDocs(ctx, docs, str(f['format']));
    },
  },
  {
    name: 'volume rm', aliases: ['volume remove'], usage: '[OPTIONS] VOLUME [VOLUME...]', summary: 'Remove one or more volumes', minArgs: 1,
    flags: [{ name: 'force', short: 'f', help: 'Do not fail when a volume does not exist' }],
    run: (ctx, f, names) => each(ctx, names, async (name) => {
      await ctx.engine.removeVolume({ name, force: f['force'] === true });
      out(ctx, displayText(name));
    }),
  },
  {
    name: 'volume prune', usage: '[OPTIONS]', summary: 'Remove unused volumes (anonymous ones; all unused with -a)', maxArgs: 0,
    flags: [
      { name: 'all', short: 'a', help: 'Remove all unused volumes, not just anonymous ones' },
      { name: 'force', short: 'f', help: 'Do not prompt for confirmation' },
    ],
    async run(ctx, f) {
      const r = await ctx.engine.pruneVolumes({ all: f['all'] === true });
      if (r.deleted.length) out(ctx, `Deleted Volumes:\n${r.deleted.map((d) => displayText(d)).join('\n')}\n\n`);
      out(ctx, `Total reclaimed space: ${humanSize(r.reclaimed)}`);
    },
  },
];
