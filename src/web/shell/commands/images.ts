/** Image commands of the browser shell: images, load, save, rmi, inspect, history, tag, image prune. */
import { ago, humanSize, shortId, table, truncate } from '../../../cli/format.ts';
import { familiarReference, parseReference } from '../../../oci/reference.ts';
import type { LoadResult } from '../../../engine/load/loader.ts';
import { str, type ShellCommand, type ShellContext } from '../context.ts';

function familiar(ref: string): string {
  try {
    return familiarReference(parseReference(ref));
  } catch {
    return ref;
  }
}

/** Load archives one after another, reporting each like `docker load`. */
export async function loadFiles(ctx: ShellContext, files: readonly File[]): Promise<number> {
  let status = 0;
  for (const file of files) {
    let res: LoadResult;
    try {
      res = await ctx.engine.load(file, {
        name: file.name,
        onProgress: (p) => {
          const label = p.phase === 'reading' ? `Reading ${file.name}` : p.phase === 'verifying' ? 'Verifying layers' : p.phase === 'storing' ? 'Storing' : 'Done';
          ctx.progress(label, p.done, p.total);
        },
      });
    } catch (err) {
      ctx.progressDone();
      ctx.stderr(`Error: ${(err as Error).message}\n`);
      status = 1;
      continue;
    }
    ctx.progressDone();
    for (const img of res.images) {
      if (img.tags.length === 0) ctx.stdout(`Loaded image ID: ${img.id}\n`);
      for (const t of img.tags) ctx.stdout(`Loaded image: ${familiar(t)}\n`);
    }
  }
  return status;
}

function saveName(refs: string[]): string {
  return `${refs.map((r) => familiar(r).replace(/[^A-Za-z0-9_.-]+/g, '_')).join('+')}.tar`;
}

export const imageCommands: ShellCommand[] = [
  {
    spec: { name: 'images', usage: '[OPTIONS] [REPOSITORY[:TAG]]', summary: 'List images', maxArgs: 1, flags: [
      { name: 'quiet', short: 'q', help: 'Only show image IDs' },
      { name: 'all', short: 'a', help: 'Show all images' },
      { name: 'no-trunc', help: "Don't truncate output" },
      { name: 'digests', help: 'Show digests' },
      { name: 'format', value: true, help: '"table" or "json"' },
    ] },
    aliases: ['image ls', 'image list'],
    async run(ctx, f, args) {
      const rows = await ctx.engine.api.listImages(args[0] ? { reference: args[0] } : {});
      const id = (d: string): string => (f['no-trunc'] ? d : shortId(d));
      if (f['quiet']) { ctx.stdout([...new Set(rows.map((r) => id(r.id)))].map((l) => `${l}\n`).join('')); return 0; }
      if (str(f['format']) === 'json') {
        for (const r of rows) ctx.stdout(`${JSON.stringify({ ID: id(r.id), Repository: r.repository, Tag: r.tag, Digest: r.digest, Platform: r.platform, Size: humanSize(r.size), CreatedAt: r.created ?? '' })}\n`);
        return 0;
      }
      const digests = f['digests'] === true;
      ctx.stdout(table(['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'PLATFORM', 'SIZE'],
        rows.map((r) => [r.repository, r.tag, ...(digests ? [r.digest] : []), id(r.id), ago(r.created), r.platform, humanSize(r.size)])));
      return 0;
    },
  },
  {
    spec: { name: 'load', usage: '[OPTIONS]', summary: 'Load an image from a tar archive (docker save or OCI layout): pick a file, or drop it on the page', maxArgs: 0, flags: [
      { name: 'quiet', short: 'q', help: 'Suppress the load output' },
    ] },
    aliases: ['image load'],
    async run(ctx) {
      const files = await ctx.pickFiles();
      if (files.length === 0) { ctx.stderr('load: no file chosen (you can also drop archives on the page)\n'); return 1; }
      return loadFiles(ctx, files);
    },
  },
  {
    spec: { name: 'save', usage: '[OPTIONS] IMAGE [IMAGE...]', summary: 'Save one or more images to a tar archive (downloaded)', minArgs: 1, flags: [
      { name: 'output', short: 'o', value: true, help: 'Name of the downloaded file' },
      { name: 'format', value: true, help: '"docker" (default) or "oci"' },
    ] },
    aliases: ['image save'],
    async run(ctx, f, args) {
      const format = str(f['format']) ?? 'docker';
      if (format !== 'docker' && format !== 'oci') { ctx.stderr(`Error: unsupported --format "${format}" (use "docker" or "oci")\n`); return 1; }
      const blob = await ctx.engine.api.save({ refs: args, format });
      const name = str(f['output']) ?? saveName(args);
      ctx.download(blob, name);
      ctx.stdout(`Saved ${args.join(', ')} to ${name} (${humanSize(blob.size)})\n`);
      return 0;
    },
  },
  {
    spec: { name: 'rmi', usage: '[OPTIONS] IMAGE [IMAGE...]', summary: 'Remove one or more images', minArgs: 1, flags: [
      { name: 'force', short: 'f', help: 'Force removal of the image' },
    ] },
    aliases: ['image rm', 'image remove'],
    async run(ctx, f, args) {
      let status = 0;
      for (const ref of args) {
        try {
          const r = await ctx.engine.api.removeImage({ ref, force: f['force'] === true });
          for (const t of r.untagged) ctx.stdout(`Untagged: ${familiar(t)}\n`);
          for (const d of r.deleted) ctx.stdout(`Deleted: ${d}\n`);
        } catch (err) {
          ctx.stderr(`Error: ${(err as Error).message}\n`);
          status = 1;
        }
      }
      return status;
    },
  },
  {
    spec: { name: 'history', usage: '[OPTIONS] IMAGE', summary: 'Show the history of an image', minArgs: 1, maxArgs: 1, flags: [
      { name: 'no-trunc', help: "Don't truncate output" },
    ] },
    aliases: ['image history'],
    async run(ctx, f, args) {
      const rows = await ctx.engine.api.history({ ref: args[0]! });
      const full = f['no-trunc'] === true;
      ctx.stdout(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows.map((r) => [
        r.id === '<missing>' || full ? r.id : shortId(r.id), ago(r.created),
        full ? r.createdBy : truncate(r.createdBy.replace(/\s+/g, ' '), 45), humanSize(r.size), r.comment,
      ])));
      return 0;
    },
  },
  {
    spec: { name: 'tag', usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', minArgs: 2, maxArgs: 2, flags: [] },
    aliases: ['image tag'],
    async run(ctx, _f, args) {
      await ctx.engine.api.tag({ source: args[0]!, target: args[1]! });
      return 0;
    },
  },
  {
    spec: { name: 'image prune', usage: '[OPTIONS]', summary: 'Remove unused images', maxArgs: 0, flags: [
      { name: 'all', short: 'a', help: 'Remove all unused images, not just dangling ones' },
      { name: 'force', short: 'f', help: 'Do not prompt for confirmation' },
    ] },
    async run(ctx, f) {
      const r = await ctx.engine.api.pruneImages({ all: f['all'] === true });
      for (const t of r.untagged) ctx.stdout(`untagged: ${familiar(t)}\n`);
      for (const d of r.deleted) ctx.stdout(`deleted: ${d}\n`);
      ctx.stdout(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
      return 0;
    },
  },
  {
    spec: { name: 'inspect', usage: 'NAME|ID [NAME|ID...]', summary: 'Return low-level information on images or containers', minArgs: 1, flags: [
      { name: 'type', value: true, help: '"image" or "container" (default: either)' },
    ] },
    aliases: ['image inspect', 'container inspect'],
    async run(ctx, f, args) {
      const type = str(f['type']);
      const docs: unknown[] = [];
      for (const ref of args) {
        if (type !== 'image') {
          try { docs.push(await ctx.engine.api.inspectContainer({ id: ref })); continue; } catch (err) {
            if (type === 'container' || (err as { code?: string }).code !== 'NOT_FOUND') throw err;
          }
        }
        docs.push(await ctx.engine.api.inspectImage({ ref }));
      }
      ctx.stdout(`${JSON.stringify(docs, null, 4)}\n`);
      return 0;
    },
  },
];

