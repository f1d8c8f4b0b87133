/** volume create, ls, inspect, rm, prune. */
import type { Command } from 'commander';
import type { VolumeRecord } from '../../engine/types.ts';
import { formatRows, humanSize, renderTemplate, table } from '../format.ts';
import { collectOpt, out, type CliIO } from '../io.ts';
import { ReportedError } from './images.ts';

function view(v: VolumeRecord): Record<string, unknown> {
  return { CreatedAt: v.created, Driver: 'local', Labels: v.labels, Mountpoint: '', Name: v.name, Options: null, Scope: 'local', Size: humanSize(v.data?.size ?? 0) };
}

function labels(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

export function registerVolumeCommands(volume: Command, io: CliIO): void {
  volume.command('create')
    .description('Create a volume')
    .argument('[name]')
    .option('--label <key=value>', 'Set metadata for a volume', collectOpt)
    .action(async (name: string | undefined, o) => {
      const v = await (await io.engine()).createVolume({ ...(name ? { name } : {}), labels: labels(o.label) });
      out(io, v.name);
    });

  volume.command('ls').alias('list')
    .description('List volumes')
    .option('-q, --quiet', 'Only display volume names')
    .option('--format <format>', '"table", "json" or a template')
    .action(async (o) => {
      const list = await (await io.engine()).listVolumes();
      if (o.quiet) return out(io, list.map((v) => v.name).join('\n'));
      const formatted = formatRows(o.format, list.map(view));
      if (formatted !== undefined) return void io.stdout.write(formatted);
      out(io, table(['DRIVER', 'VOLUME NAME'], list.map((v) => ['local', v.name])));
    });

  volume.command('inspect')
    .description('Display detailed information on one or more volumes')
    .argument('<name...>')
    .option('-f, --format <template>', 'Format the output using a Go-style template')
    .action(async (names: string[], o) => {
      const engine = await io.engine();
      const docs: Array<Record<string, unknown>> = [];
      for (const name of names) docs.push(view(await engine.inspectVolume({ name })));
      if (o.format) return out(io, docs.map((d) => renderTemplate(o.format, d)).join('\n'));
      out(io, JSON.stringify(docs, null, 4));
    });

  volume.command('rm').alias('remove')
    .description('Remove one or more volumes')
    .argument('<name...>')
    .option('-f, --force', 'Do not fail when a volume does not exist')
    .action(async (names: string[], o) => {
      const engine = await io.engine();
      let failed = false;
      for (const name of names) {
        try {
          await engine.removeVolume({ name, force: o.force ?? false });
          out(io, name);
        } catch (err) {
          (io.stderr as NodeJS.WritableStream).write(`Error: ${(err as Error).message}\n`);
          failed = true;
        }
      }
      if (failed) throw new ReportedError();
    });

  volume.command('prune')
    .description('Remove unused volumes (anonymous ones; all unused with -a)')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (o) => {
      const r = await (await io.engine()).pruneVolumes({ all: o.all ?? false });
      if (r.deleted.length) out(io, `Deleted Volumes:\n${r.deleted.join('\n')}\n\n`);
      out(io, `Total reclaimed space: ${humanSize(r.reclaimed)}`);
    });
}
