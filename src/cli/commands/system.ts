/** system df, and the `demo` that `npm start` runs until the browser page exists. */
import type { Command } from 'commander';
import { SkiffError } from '../../errors.ts';
import { familiarReference, parseReference } from '../../oci/reference.ts';
import { formatRows, humanSize, renderTemplate, table } from '../format.ts';
import { out, type CliIO } from '../io.ts';
import { containerView } from './containers.ts';

export function registerSystemCommands(program: Command, system: Command, io: CliIO): void {
  system.command('df')
    .description('Show skiff disk usage')
    .option('--format <format>', '"table" or "json"')
    .action(async (o) => {
      const du = await (await io.engine()).diskUsage();
      const rows: Array<[string, typeof du.images]> = [['Images', du.images], ['Containers', du.containers], ['Local Volumes', du.volumes]];
      const pct = (r: typeof du.images): string => (r.size > 0 ? ` (${Math.round((r.reclaimable / r.size) * 100)}%)` : '');
      const formatted = formatRows(o.format, rows.map(([type, r]) => ({ Type: type, TotalCount: String(r.total), Active: String(r.active), Size: humanSize(r.size), Reclaimable: `${humanSize(r.reclaimable)}${pct(r)}` })));
      if (formatted !== undefined) return void io.stdout.write(formatted);
      out(io, table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], rows.map(([type, r]) => [type, String(r.total), String(r.active), humanSize(r.size), `${humanSize(r.reclaimable)}${pct(r)}`])));
    });

  system.command('prune')
    .description('Remove stopped containers, dangling images (all unused with -a) and, with --volumes, unused anonymous volumes')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('--volumes', 'Prune anonymous volumes')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (o) => {
      const engine = await io.engine();
      const c = await engine.pruneContainers();
      const v = o.volumes ? await engine.pruneVolumes() : { deleted: [], reclaimed: 0 };
      const i = await engine.pruneImages({ all: o.all ?? false });
      if (c.deleted.length) out(io, `Deleted Containers:\n${c.deleted.join('\n')}\n\n`);
      if (v.deleted.length) out(io, `Deleted Volumes:\n${v.deleted.join('\n')}\n\n`);
      if (i.deleted.length + i.untagged.length) out(io, `Deleted Images:\n${[...i.untagged.map((t) => `untagged: ${familiarReference(parseReference(t))}`), ...i.deleted.map((d) => `deleted: ${d}`)].join('\n')}\n\n`);
      out(io, `Total reclaimed space: ${humanSize(c.reclaimed + v.reclaimed + i.reclaimed)}`);
    });

  program.command('inspect')
    .description('Return low-level information on containers or images')
    .argument('<name...>', 'container name/ID or image reference/ID')
    .option('-f, --format <template>', 'Format the output using a Go-style template')
    .option('--type <type>', 'Only "container" or "image"')
    .action(async (names: string[], o) => {
      const engine = await io.engine();
      const docs: Array<Record<string, unknown>> = [];
      for (const name of names) {
        let doc: Record<string, unknown> | undefined;
        if (o.type !== 'image') doc = await engine.inspectContainer({ id: name }).then(containerView, () => undefined);
        if (!doc && o.type !== 'container') doc = await engine.inspectImage({ ref: name }).catch(() => undefined);
        if (!doc) throw new SkiffError('NOT_FOUND', `No such object: ${name}`);
        docs.push(doc);
      }
      if (o.format) return out(io, docs.map((d) => renderTemplate(o.format, d)).join('\n'));
      out(io, JSON.stringify(docs, null, 4));
    });

  program.command('demo')
    .description('A short tour: load the bundled busybox image, list it, create a container, export it')
    .action(async () => {
      const engine = await io.engine();
      const img = await engine.resolveImage({ ref: 'skiff/busybox' });
      out(io, `$ skiff images`);
      const list = await engine.listImages();
      out(io, table(['REPOSITORY', 'TAG', 'PLATFORM', 'SIZE'], list.map((r) => [r.repository, r.tag, r.platform, humanSize(r.size)])));
      const c = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sh'] });
      out(io, `$ skiff create skiff/busybox sh\n${c.id}`);
      let bytes = 0;
      for await (const chunk of await engine.exportContainer({ id: c.id })) bytes += chunk.byteLength;
      out(io, `$ skiff export ${c.name} -> ${humanSize(bytes)} tar of ${img.layers.length} layer(s)`);
      await engine.removeContainer({ id: c.id });
      out(io, `$ skiff rm ${c.name}`);
    });
}
