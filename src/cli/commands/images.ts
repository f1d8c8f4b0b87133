/** Image commands: load, images, image inspect, history, tag, rmi, image prune, save, import, image rollback. */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { SkiffError } from '../../errors.ts';
import type { Digest } from '../../oci/digest.ts';
import type { ImageSummary } from '../../engine/images.ts';
import { parseReference, familiarReference } from '../../oci/reference.ts';
import { ago, formatRows, humanSize, renderTemplate, shortId, table, truncate } from '../format.ts';
import { collectOpt, out, writeFileAtomic, type CliIO } from '../io.ts';
import { parseChanges } from '../changes.ts';
import { parsePlatform } from '../../oci/platform.ts';
import { progressBar } from '../progress.ts';

function familiar(ref: string): string {
  return familiarReference(parseReference(ref));
}

async function load(io: CliIO, opts: { input?: string; quiet?: boolean }): Promise<void> {
  const engine = await io.engine();
  const bar = opts.quiet ? { update() {}, finish() {} } : progressBar(io.stderr as NodeJS.WriteStream);
  let stream: AsyncIterable<Uint8Array>;
  let size: number | undefined;
  let name = 'stdin';
  if (opts.input) {
    try {
      size = (await stat(opts.input)).size;
    } catch (err) {
      throw new SkiffError('NOT_FOUND', `open ${opts.input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    stream = createReadStream(opts.input, { highWaterMark: 1 << 20 });
    name = basename(opts.input);
  } else {
    if (io.stdin.isTTY) throw new SkiffError('INVALID_ARGUMENT', 'requested load from stdin, but stdin is empty');
    stream = io.stdin as AsyncIterable<Uint8Array>;
  }
  const res = await engine.loadArchive({
    stream, name, ...(size !== undefined ? { size } : {}),
    onProgress: (p) => {
      if (p.phase === 'reading') bar.update('Reading', p.done, p.total);
      else if (p.phase === 'verifying') bar.update('Verifying layers', p.done, p.total, 'items');
      else if (p.phase === 'storing') bar.update('Storing blobs', p.done, p.total, 'items');
    },
  }).finally(() => bar.finish());
  for (const img of res.images) {
    if (img.tags.length === 0) out(io, `Loaded image ID: ${img.id}`);
    for (const t of img.tags) out(io, `Loaded image: ${familiar(t)}`);
  }
}

/** `--filter dangling=true|false`, `reference=<glob>`, `platform=os/arch`. */
function imageFilter(filters: string[] | undefined): (r: ImageSummary) => boolean {
  const tests: Array<(r: ImageSummary) => boolean> = [];
  for (const f of filters ?? []) {
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

async function images(io: CliIO, reference: string | undefined, opts: { all?: boolean; quiet?: boolean; noTrunc?: boolean; digests?: boolean; format?: string; filter?: string[] }): Promise<void> {
  const engine = await io.engine();
  const rows = (await engine.listImages(reference ? { reference } : {})).filter(imageFilter(opts.filter));
  const id = (d: string): string => (opts.noTrunc ? d : shortId(d));
  if (opts.quiet) {
    out(io, [...new Set(rows.map((r) => id(r.id)))].join('\n'));
    return;
  }
  const formatted = formatRows(opts.format, rows.map((r) => ({
    Containers: String(r.containers), CreatedAt: r.created ?? '', CreatedSince: ago(r.created), Digest: r.digest,
    ID: id(r.id), Platform: r.platform, Repository: r.repository, Size: humanSize(r.size), Tag: r.tag,
  })));
  if (formatted !== undefined) return void io.stdout.write(formatted);
  const headers = ['REPOSITORY', 'TAG', ...(opts.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'PLATFORM', 'SIZE'];
  out(io, table(headers, rows.map((r) => [r.repository, r.tag, ...(opts.digests ? [r.digest] : []), id(r.id), ago(r.created), r.platform, humanSize(r.size)])));
}

async function history(io: CliIO, ref: string, opts: { noTrunc?: boolean; human?: boolean; quiet?: boolean; format?: string }): Promise<void> {
  const rows = await (await io.engine()).history({ ref });
  if (opts.quiet) return out(io, rows.map((r) => (opts.noTrunc ? r.id : r.id === '<missing>' ? r.id : shortId(r.id))).join('\n'));
  const formatted = formatRows(opts.format, rows.map((r) => ({ ID: r.id, CreatedAt: r.created ?? '', CreatedSince: ago(r.created), CreatedBy: r.createdBy, Size: humanSize(r.size), Comment: r.comment })));
  if (formatted !== undefined) return void io.stdout.write(formatted);
  const human = opts.human !== false;
  out(io, table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows.map((r) => [
    r.id === '<missing>' || opts.noTrunc ? r.id : shortId(r.id),
    human ? ago(r.created) : r.created ?? '',
    opts.noTrunc ? r.createdBy : truncate(r.createdBy.replace(/\s+/g, ' '), 45),
    human ? humanSize(r.size) : String(r.size),
    r.comment,
  ])));
}

async function save(io: CliIO, refs: string[], opts: { output?: string; format?: string }): Promise<void> {
  const format = opts.format ?? 'docker';
  if (format !== 'docker' && format !== 'oci') throw new SkiffError('INVALID_ARGUMENT', `unsupported --format "${format}" (use "docker" or "oci")`);
  const chunks = await (await io.engine()).saveArchive({ refs, format });
  if (!opts.output) {
    if (io.stdout.isTTY) throw new SkiffError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    await pipeline(Readable.from(chunks), io.stdout);
    return;
  }
  await writeFileAtomic(opts.output, chunks);
}

export function registerImageCommands(program: Command, image: Command, io: CliIO): void {
  const addLoad = (c: Command): Command => c
    .description('Load an image from a tar archive (docker save or OCI layout) or STDIN')
    .option('-i, --input <file>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .action((o) => load(io, o));
  addLoad(program.command('load'));
  addLoad(image.command('load'));

  const addImages = (c: Command): Command => c
    .description('List images')
    .argument('[repository]', 'REPOSITORY[:TAG] filter')
    .option('-a, --all', 'Show all images')
    .option('-q, --quiet', 'Only show image IDs')
    .option('--no-trunc', "Don't truncate output")
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output (dangling=true, reference=busy*, platform=linux/386)', collectOpt)
    .option('--format <format>', '"table", "json" (one JSON object per line) or a Go-style template')
    .action((r, o) => images(io, r, { ...o, noTrunc: o.trunc === false }));
  addImages(program.command('images'));
  addImages(image.command('ls').alias('list'));

  image.command('inspect')
    .description('Display detailed information on one or more images')
    .argument('<image...>')
    .option('-f, --format <template>', 'Format the output using a Go-style template ({{.Id}}, {{json .Config}})')
    .action(async (refs: string[], o) => {
      const engine = await io.engine();
      const docs: Array<Record<string, unknown>> = [];
      for (const ref of refs) docs.push(await engine.inspectImage({ ref }));
      if (o.format) return out(io, docs.map((d) => renderTemplate(o.format, d)).join('\n'));
      out(io, JSON.stringify(docs, null, 4));
    });

  const addHistory = (c: Command): Command => c
    .description('Show the history of an image')
    .argument('<image>')
    .option('-H, --human', 'Print sizes and dates in human readable format (default true)', true)
    .option('--no-human', 'Print raw sizes and dates')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .option('--format <format>', '"table" or "json"')
    .action((ref, o) => history(io, ref, { ...o, noTrunc: o.trunc === false }));
  addHistory(program.command('history'));
  addHistory(image.command('history'));

  const addTag = (c: Command): Command => c
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source>').argument('<target>')
    .action(async (source, target) => { await (await io.engine()).tag({ source, target }); });
  addTag(program.command('tag'));
  addTag(image.command('tag'));

  const addRmi = (c: Command): Command => c
    .description('Remove one or more images')
    .argument('<image...>')
    .option('-f, --force', 'Force removal of the image')
    .action(async (refs: string[], o) => {
      const engine = await io.engine();
      let failed: unknown;
      for (const ref of refs) {
        try {
          const r = await engine.removeImage({ ref, force: o.force ?? false });
          for (const t of r.untagged) out(io, `Untagged: ${familiar(t)}`);
          for (const d of r.deleted) out(io, `Deleted: ${d}`);
        } catch (err) {
          // Like docker: report each failure, keep going, fail at the end.
          (io.stderr as NodeJS.WritableStream).write(`Error: ${(err as Error).message}\n`);
          failed = err;
        }
      }
      if (failed) throw new ReportedError();
    });
  addRmi(program.command('rmi'));
  addRmi(image.command('rm').alias('remove'));

  image.command('prune')
    .description('Remove unused images')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (o) => {
      const r = await (await io.engine()).pruneImages({ all: o.all ?? false });
      if (r.untagged.length + r.deleted.length > 0) {
        out(io, 'Deleted Images:');
        for (const t of r.untagged) out(io, `untagged: ${familiar(t)}`);
        for (const d of r.deleted) out(io, `deleted: ${d}`);
        out(io, '\n');
      }
      out(io, `Total reclaimed space: ${humanSize(r.reclaimed)}`);
    });

  const addSave = (c: Command): Command => c
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .argument('<image...>')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .option('--format <format>', '"docker" (default, docker load / docker-archive:) or "oci" (OCI image layout)')
    .action((refs, o) => save(io, refs, o));
  addSave(program.command('save'));
  addSave(image.command('save'));

  const addImport = (c: Command): Command => c
    .description('Import the contents from a tarball to create a filesystem image')
    .argument('<file>', 'a tar (plain, gzip or zstd) or - for STDIN').argument('[repository]', 'REPOSITORY[:TAG]')
    .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', collectOpt)
    .option('-m, --message <message>', 'Set commit message for imported image')
    .option('--platform <os/arch>', 'Set platform of the image (default linux/386)')
    .action(async (file: string, repository: string | undefined, o) => {
      let data: Uint8Array;
      if (file === '-') {
        const parts: Buffer[] = [];
        for await (const c of io.stdin) parts.push(Buffer.from(c as Uint8Array));
        data = new Uint8Array(Buffer.concat(parts));
      } else {
        data = new Uint8Array(await readFile(file).catch((err: NodeJS.ErrnoException) => {
          throw new SkiffError('NOT_FOUND', `open ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
        }));
      }
      let platform: { os: string; architecture: string } | undefined;
      if (o.platform) {
        const p = parsePlatform(o.platform);
        platform = { os: p.os, architecture: p.architecture };
      }
      const image = await (await io.engine()).importImage({
        data, name: file === '-' ? 'stdin' : basename(file), ...(repository ? { ref: repository } : {}),
        ...(platform ? { platform } : {}), ...(o.message ? { message: o.message } : {}),
        ...(o.change ? { changes: parseChanges(o.change as string[]) } : {}),
      });
      out(io, image.id);
    });
  addImport(program.command('import'));
  addImport(image.command('import'));

  image.command('rollback')
    .description('Point a tag back at the image it named before (skiff)')
    .argument('<image>', 'NAME[:TAG]')
    .option('--to <digest>', 'A manifest digest from the tag history')
    .option('--list', 'Show the tag history instead (newest first)')
    .action(async (ref, o) => {
      const engine = await io.engine();
      if (o.list) {
        const h = await engine.tagHistory({ ref });
        out(io, table(['DIGEST', 'SINCE', 'CURRENT'], h.map((e, i) => [e.digest, ago(e.at), i === 0 ? '*' : ''])));
        return;
      }
      const r = await engine.rollbackImage({ ref, ...(o.to ? { to: o.to as Digest } : {}) });
      out(io, `Rolled back ${familiar(r.ref)}: ${r.from} -> ${r.to}`);
    });
}

/** Thrown after the error text was already printed. */
export class ReportedError extends Error {}
