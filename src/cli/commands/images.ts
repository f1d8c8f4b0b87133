/** Image commands: load, images, image inspect, history, tag, rmi, image prune, save, import, image rollback. */
import { SkiffError } from '../../errors.ts';
import type { Digest } from '../../oci/digest.ts';
import type { ImageSummary } from '../../engine/images.ts';
import { parsePlatform } from '../../oci/platform.ts';
import { familiarReference, parseReference } from '../../oci/reference.ts';
import { displayJson, displayText } from '../present/escape.ts';
import { HISTORY_HEADERS, IMAGES_HEADERS } from '../present/headers.ts';
import { ago, formatRows, goTime, humanSize, renderTemplate, shortId, table, truncate } from '../present/format.ts';
import { applyChanges } from '../../engine/commit-config.ts';
import { list, out, str, type Command, type CommandContext } from './context.ts';

/** A reference as Docker prints it ("busybox:latest"), escaped for the terminal. */
export function familiar(ref: string): string {
  try {
    return displayText(familiarReference(parseReference(ref)));
  } catch {
    return displayText(ref);
  }
}

/** Each failure printed as `Error: ...`, the rest still done; status 1 if any failed (Docker's way). */
export async function each<T>(ctx: CommandContext, items: readonly T[], fn: (item: T) => Promise<void>, prefix = 'Error: '): Promise<number> {
  let status = 0;
  for (const item of items) {
    try {
      await fn(item);
    } catch (err) {
      ctx.stderr(`${prefix}${displayText((err as Error).message, { multiline: true })}\n`);
      status = 1;
    }
  }
  return status;
}

/** Documents as `inspect` prints them: JSON, or each through a --format template. */
export function printDocs(ctx: CommandContext, docs: Array<Record<string, unknown>>, format: string | undefined): void {
  if (format) out(ctx, docs.map((d) => renderTemplate(format, d)).join('\n'));
  else out(ctx, displayJson(docs, 4));
}

/** `--filter dangling=true|false`, `reference=<glob>`, `platform=os/arch`. */
function imageFilter(filters: string[]): (r: ImageSummary) => boolean {
  const tests: Array<(r: ImageSummary) => boolean> = [];
  for (const f of filters) {
    const i = f.indexOf('=');
    const [k, v] = i < 0 ? [f, ''] : [f.slice(0, i), f.slice(i + 1)];
    if (k === 'dangling') {
      if (v !== 'true' && v !== 'false') throw new SkiffError('INVALID_ARGUMENT', `invalid filter 'dangling=${v}': expected true or false`);
      tests.push((r) => (r.ref === undefined) === (v === 'true'));
    } else if (k === 'reference') {
      const re = new RegExp(`^${v.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`);
      tests.push((r) => r.ref !== undefined && (re.test(`${r.repository}:${r.tag}`) || re.test(r.repository)));
    } else if (k === 'platform') tests.push((r) => r.platform === v);
    else throw new SkiffError('INVALID_ARGUMENT', `invalid filter '${k}' (supported: dangling, reference, platform)`);
  }
  return (r) => tests.every((t) => t(r));
}

const load: Command = {
  name: 'load', aliases: ['image load'], usage: '[OPTIONS]', maxArgs: 0,
  summary: 'Load an image from a tar archive (docker save or OCI layout) or STDIN (in a browser: pick a file, or drop it on the page)',
  flags: [
    { name: 'input', short: 'i', value: 'file', help: 'Read from tar archive file, instead of STDIN', hostOnly: 'host files cannot be read in a browser: run `load` alone to pick a file' },
    { name: 'quiet', short: 'q', help: 'Suppress the load output' },
  ],
  async run(ctx, f) {
    const sources = await ctx.host.loadSources(str(f['input']));
    return each(ctx, sources, async (src) => {
      const bar = f['quiet'] ? { update() {}, finish() {} } : ctx.host.progress();
      const res = await ctx.engine.loadArchive({
        stream: src.stream, name: src.name, ...(src.size !== undefined ? { size: src.size } : {}),
        onProgress: (p) => {
          if (p.phase === 'reading') bar.update(`Reading ${displayText(src.name)}`, p.done, p.total);
          else if (p.phase === 'verifying') bar.update('Verifying layers', p.done, p.total, 'items');
          else if (p.phase === 'storing') bar.update('Storing blobs', p.done, p.total, 'items');
        },
      }).finally(() => bar.finish());
      for (const img of res.images) {
        if (img.tags.length === 0) out(ctx, `Loaded image ID: ${img.id}`);
        for (const t of img.tags) out(ctx, `Loaded image: ${familiar(t)}`);
      }
    });
  },
};

const images: Command = {
  name: 'images', aliases: ['image ls', 'image list'], usage: '[OPTIONS] [REPOSITORY[:TAG]]', summary: 'List images', maxArgs: 1,
  flags: [
    { name: 'all', short: 'a', help: 'Show all images' },
    { name: 'quiet', short: 'q', help: 'Only show image IDs' },
    { name: 'no-trunc', help: "Don't truncate output" },
    { name: 'digests', help: 'Show digests' },
    { name: 'filter', short: 'f', value: 'filter', repeat: true, help: 'Filter output (dangling=true, reference=busy*, platform=linux/386)' },
    { name: 'format', value: 'string', help: '"table", "json" (one JSON object per line) or a Go-style template' },
  ],
  async run(ctx, f, args) {
    const rows = (await ctx.engine.listImages(args[0] ? { reference: args[0] } : {})).filter(imageFilter(list(f['filter'])));
    const id = (d: string): string => (f['no-trunc'] ? d : shortId(d));
    if (f['quiet']) return void out(ctx, [...new Set(rows.map((r) => id(r.id)))].join('\n'));
    const formatted = formatRows(str(f['format']), rows.map((r) => ({
      Containers: String(r.containers), CreatedAt: goTime(r.created), CreatedSince: ago(r.created), Digest: r.digest,
      ID: id(r.id), Platform: r.platform, Repository: r.repository, Size: humanSize(r.size), Tag: r.tag,
    })), IMAGES_HEADERS);
    if (formatted !== undefined) return void ctx.stdout(formatted);
    const digests = f['digests'] === true;
    const headers = ['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'PLATFORM', 'SIZE'];
    out(ctx, table(headers, rows.map((r) => [r.repository, r.tag, ...(digests ? [r.digest] : []), id(r.id), ago(r.created), r.platform, humanSize(r.size)])));
  },
};

const imageInspect: Command = {
  name: 'image inspect', usage: '[OPTIONS] IMAGE [IMAGE...]', summary: 'Display detailed information on one or more images', minArgs: 1,
  flags: [{ name: 'format', short: 'f', value: 'string', help: 'Format the output using a Go-style template ({{.Id}}, {{json .Config}})' }],
  async run(ctx, f, refs) {
    const docs: Array<Record<string, unknown>> = [];
    for (const ref of refs) docs.push(await ctx.engine.inspectImage({ ref }));
    printDocs(ctx, docs, str(f['format']));
  },
};

const history: Command = {
  name: 'history', aliases: ['image history'], usage: '[OPTIONS] IMAGE', summary: 'Show the history of an image', minArgs: 1, maxArgs: 1,
  flags: [
    { name: 'human', short: 'H', default: true, help: 'Print sizes and dates in human readable format' },
    { name: 'no-human', help: 'Print raw sizes and dates', hidden: true },
    { name: 'no-trunc', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', help: 'Only show image IDs' },
    { name: 'format', value: 'string', help: '"table", "json" or a Go-style template' },
  ],
  async run(ctx, f, args) {
    const rows = await ctx.engine.history({ ref: args[0]! });
    const full = f['no-trunc'] === true;
    if (f['quiet']) return void out(ctx, rows.map((r) => (full || r.id === '<missing>' ? r.id : shortId(r.id))).join('\n'));
    const formatted = formatRows(str(f['format']), rows.map((r) => ({ ID: r.id, CreatedAt: r.created ?? '', CreatedSince: ago(r.created), CreatedBy: r.createdBy, Size: humanSize(r.size), Comment: r.comment })), HISTORY_HEADERS);
    if (formatted !== undefined) return void ctx.stdout(formatted);
    const human = f['human'] !== false && f['no-human'] !== true;
    out(ctx, table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows.map((r) => [
      r.id === '<missing>' || full ? r.id : shortId(r.id),
      human ? ago(r.created) : r.created ?? '',
      full ? r.createdBy : truncate(r.createdBy.replace(/\s+/g, ' '), 45),
      human ? humanSize(r.size) : String(r.size),
      r.comment,
    ])));
  },
};

const tag: Command = {
  name: 'tag', aliases: ['image tag'], usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', minArgs: 2, maxArgs: 2, flags: [],
  async run(ctx, _f, args) {
    await ctx.engine.tag({ source: args[0]!, target: args[1]! });
  },
};

const rmi: Command = {
  name: 'rmi', aliases: ['image rm', 'image remove'], usage: '[OPTIONS] IMAGE [IMAGE...]', summary: 'Remove one or more images', minArgs: 1,
  flags: [{ name: 'force', short: 'f', help: 'Force removal of the image' }],
  run: (ctx, f, refs) => each(ctx, refs, async (ref) => {
    const r = await ctx.engine.removeImage({ ref, force: f['force'] === true });
    for (const t of r.untagged) out(ctx, `Untagged: ${familiar(t)}`);
    for (const d of r.deleted) out(ctx, `Deleted: ${d}`);
  }),
};

const imagePrune: Command = {
  name: 'image prune', usage: '[OPTIONS]', summary: 'Remove unused images', maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', help: 'Remove all unused images, not just dangling ones' },
    { name: 'force', short: 'f', help: 'Do not prompt for confirmation' },
  ],
  async run(ctx, f) {
    const r = await ctx.engine.pruneImages({ all: f['all'] === true });
    if (r.untagged.length + r.deleted.length > 0) {
      out(ctx, 'Deleted Images:');
      for (const t of r.untagged) out(ctx, `untagged: ${familiar(t)}`);
      for (const d of r.deleted) out(ctx, `deleted: ${d}`);
      out(ctx, '\n');
    }
    out(ctx, `Total reclaimed space: ${humanSize(r.reclaimed)}`);
  },
};

const save: Command = {
  name: 'save', aliases: ['image save'], usage: '[OPTIONS] IMAGE [IMAGE...]', minArgs: 1,
  summary: 'Save one or more images to a tar archive (streamed to STDOUT by default; in a browser, downloaded)',
  flags: [
    { name: 'output', short: 'o', value: 'string', help: 'Write to a file, instead of STDOUT (in a browser: the download\'s name)' },
    { name: 'format', value: 'string', help: '"docker" (default, docker load / docker-archive:) or "oci" (OCI image layout)' },
  ],
  async run(ctx, f, refs) {
    const format = str(f['format']) ?? 'docker';
    if (format !== 'docker' && format !== 'oci') throw new SkiffError('INVALID_ARGUMENT', `unsupported --format "${format}" (use "docker" or "oci")`);
    const chunks = await ctx.engine.saveArchive({ refs, format });
    const defaultName = `${refs.map((r) => familiar(r).replace(/[^A-Za-z0-9_.-]+/g, '_')).join('+')}.tar`;
    const output = str(f['output']);
    await ctx.host.writeArchive(chunks, { ...(output ? { output } : {}), defaultName });
  },
};

const importImage: Command = {
  name: 'import', aliases: ['image import'], usage: '[OPTIONS] file|- [REPOSITORY[:TAG]]', minArgs: 1, maxArgs: 2,
  summary: 'Import the contents from a tarball (plain, gzip or zstd; - for STDIN) to create a filesystem image',
  flags: [
    { name: 'change', short: 'c', value: 'list', repeat: true, help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', value: 'string', help: 'Set commit message for imported image' },
    { name: 'platform', value: 'os/arch', help: 'Set platform of the image (default linux/386)' },
  ],
  async run(ctx, f, [file, repository]) {
    const data = file === '-' ? await ctx.host.readStdin() : await ctx.host.readFile(file!);
    const p = str(f['platform']) ? parsePlatform(str(f['platform'])!) : undefined;
    const image = await ctx.engine.importImage({
      data, name: file === '-' ? 'stdin' : file!.replace(/^.*\//, ''), ...(repository ? { ref: repository } : {}),
      ...(p ? { platform: { os: p.os, architecture: p.architecture } } : {}), ...(str(f['message']) ? { message: str(f['message'])! } : {}),
      ...(list(f['change']).length ? { changes: await applyChanges({}, list(f['change'])) } : {}),
    });
    out(ctx, image.id);
  },
};

const rollback: Command = {
  name: 'image rollback', usage: '[OPTIONS] NAME[:TAG]', summary: 'Point a tag back at the image it named before (skiff)', minArgs: 1, maxArgs: 1,
  flags: [
    { name: 'to', value: 'digest', help: 'A manifest digest from the tag history' },
    { name: 'list', help: 'Show the tag history instead (newest first)' },
  ],
  async run(ctx, f, [ref]) {
    if (f['list']) {
      const h = await ctx.engine.tagHistory({ ref: ref! });
      return void out(ctx, table(['DIGEST', 'SINCE', 'CURRENT'], h.map((e, i) => [e.digest, ago(e.at), i === 0 ? '*' : ''])));
    }
    const r = await ctx.engine.rollbackImage({ ref: ref!, ...(str(f['to']) ? { to: str(f['to']) as Digest } : {}) });
    out(ctx, `Rolled back ${familiar(r.ref)}: ${r.from} -> ${r.to}`);
  },
};

export const imageCommands: readonly Command[] = [images, load, save, importImage, history, tag, rmi, imageInspect, imagePrune, rollback];

