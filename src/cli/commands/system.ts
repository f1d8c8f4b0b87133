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
    .description('A short tour: the bundled busybox image, a container with its own writable layer, diff, commit, export')
    .action(async () => {
      const engine = await io.engine();
      const step = (cmd: string, text = ''): void => out(io, `$ skiff ${cmd}\n${text}`);
      const img = await engine.resolveImage({ ref: 'skiff/busybox' });
      const list = await engine.listImages({ reference: 'skiff/busybox' });
      step('images skiff/busybox', table(['REPOSITORY', 'TAG', 'IMAGE ID', 'PLATFORM', 'SIZE'], list.map((r) => [r.repository, r.tag, r.id.slice(7, 19), r.platform, humanSize(r.size)])));
      const c = await engine.createContainer({ image: 'skiff/busybox', cmd: ['sh'] });
      step(`create --name ${c.name} skiff/busybox sh`, `${c.id}\n`);
      // Write into the container's own layer, as a process in it would.
      const fs = await engine.containerFs({ id: c.id });
      const etc = fs.lookup(fs.root(), 'etc');
      const note = fs.create(etc, 'hello-from-skiff', { mode: 0o644, uid: 0, gid: 0 });
      fs.write(note, 0, new TextEncoder().encode('written into the container layer\n'));
      await engine.persistContainer({ id: c.id });
      step(`diff ${c.name}`, (await engine.containerChanges({ id: c.id })).map((ch) => `${ch.kind} ${ch.path}\n`).join(''));
      const committed = await engine.commitContainer({ id: c.id, ref: 'skiff/demo:hello', message: 'demo' });
      step(`commit ${c.name} skiff/demo:hello`, `${committed.id}\n`);
      let bytes = 0;
      for await (const chunk of await engine.exportContainer({ id: c.id })) bytes += chunk.byteLength;
      step(`export ${c.name} -o rootfs.tar`, `(${humanSize(bytes)}: ${img.layers.length} image layer${img.layers.length === 1 ? '' : 's'} + the container's writes)\n`);
      await engine.removeContainer({ id: c.id });
      step(`rm ${c.name}`, `${c.name}\n`);
      const r = await engine.removeImage({ ref: 'skiff/demo:hello' });
      step('rmi skiff/demo:hello', [...r.untagged.map((t) => `Untagged: ${t}`), ...r.deleted.map((d) => `Deleted: ${d}`)].join('\n'));
    });
}
