/**
 * `skiff build` (Docker's flags, BuildKit's plain progress on STDERR, the image ID on STDOUT with
 * -q) and `skiff builder prune`. The context comes from the host (a directory, a tar file, or `-`
 * for a tar on STDIN); a browser host without files says so.
 */
import { SkiffError } from '../../errors.ts';
import { displayText } from '../present/escape.ts';
import { humanSize } from '../present/format.ts';
import { list, out, str, type Command } from './context.ts';
import { UsageError } from './flags.ts';

function keyValues(items: string[], flag: string, env?: Record<string, string | undefined>): Record<string, string> {
  const o: Record<string, string> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    if (i === 0) throw new UsageError('build', `invalid argument "${it}" for "--${flag}" flag: empty key`);
    if (i > 0) o[it.slice(0, i)] = it.slice(i + 1);
    else if (env) {
      // `--build-arg K` takes K from the environment, and is left out when it is not set there.
      const v = env[it];
      if (v !== undefined) o[it] = v;
    } else o[it] = '';
  }
  return o;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** `-o type=tar,dest=out.tar` (also `docker` and `oci`); a bare path would be a local directory, which skiff does not write. */
function parseOutput(spec: string): { type: 'tar' | 'docker' | 'oci'; dest: string } {
  const kv = new Map<string, string>();
  for (const part of spec.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) throw new UsageError('build', `invalid output "${spec}": use type=tar|docker|oci,dest=<file> (local directory outputs are not supported)`);
    kv.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const type = kv.get('type');
  if (type !== 'tar' && type !== 'docker' && type !== 'oci') throw new UsageError('build', `output type "${type ?? ''}" is not supported: use tar, docker or oci`);
  const dest = kv.get('dest');
  if (!dest) throw new UsageError('build', `output ${spec}: dest=<file> is required`);
  return { type, dest };
}

/**
 * `--secret id=ID[,src=FILE|,env=VAR][,type=file|env]` as docker build takes it: a file read from
 * the host, or a variable of the environment (type=env, or env=), by id.
 */
async function readSecrets(specs: string[], readFile: (p: string) => Promise<Uint8Array>, env: Record<string, string | undefined>): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const spec of specs) {
    const kv = new Map<string, string>();
    for (const part of spec.split(',')) {
      const i = part.indexOf('=');
      if (i < 0) throw new UsageError('build', `invalid secret "${spec}": use id=ID,src=FILE or id=ID,env=VAR`);
      kv.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
    }
    const src = kv.get('src') ?? kv.get('source');
    const envName = kv.get('env');
    const type = kv.get('type') ?? (envName !== undefined ? 'env' : 'file');
    if (type !== 'file' && type !== 'env') throw new UsageError('build', `invalid secret type "${type}": use file or env`);
    const id = kv.get('id') ?? (type === 'env' ? envName ?? src : src?.split('/').at(-1));
    if (!id) throw new UsageError('build', `invalid secret "${spec}": an id is required`);
    if (type === 'env') {
      const v = env[envName ?? src ?? id];
      if (v === undefined) throw new SkiffError('NOT_FOUND', `secret ${id}: environment variable ${envName ?? src ?? id} is not set`);
      out[id] = new TextEncoder().encode(v);
    } else {
      if (!src) throw new UsageError('build', `invalid secret "${spec}": src=FILE is required`);
      out[id] = await readFile(src);
    }
  }
  return out;
}

const build: Command = {
  name: 'build', aliases: ['image build', 'builder build'], usage: '[OPTIONS] PATH | -', minArgs: 1, maxArgs: 1,
  summary: 'Build an image from a Dockerfile',
  flags: [
    { name: 'tag', short: 't', value: 'list', repeat: true, help: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'file', short: 'f', value: 'string', help: 'Name of the Dockerfile (default: "PATH/Dockerfile"); "-" reads it from STDIN' },
    { name: 'build-arg', value: 'list', repeat: true, help: 'Set build-time variables' },
    { name: 'target', value: 'string', help: 'Set the target build stage to build' },
    { name: 'no-cache', help: 'Do not use cache when building the image' },
    { name: 'label', value: 'list', repeat: true, help: 'Set metadata for an image' },
    { name: 'quiet', short: 'q', help: 'Suppress the build output and print image ID on success' },
    { name: 'iidfile', value: 'string', help: 'Write the image ID to the file' },
    { name: 'progress', value: 'string', default: 'auto', help: 'Set type of progress output ("auto", "plain", "tty", "quiet")' },
    { name: 'platform', value: 'string', help: 'Set target platform for build (linux/386, wasi/wasm)' },
    { name: 'output', short: 'o', value: 'list', repeat: true, help: 'Output destination (format: "type=tar|docker|oci,dest=<file>"; dest=- is STDOUT)' },
    { name: 'pull', help: 'Always attempt to pull a newer version of the image' },
    { name: 'secret', value: 'list', repeat: true, help: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=mysecret,env=VAR")' },
  ],
  async run(ctx, f, [path]) {
    const progress = str(f['progress']) ?? 'auto';
    if (!['auto', 'plain', 'tty', 'quiet', 'rawjson'].includes(progress)) throw new UsageError('build', `invalid progress mode "${progress}": use auto, plain, tty or quiet`);
    if (!ctx.host.readBuildContext) throw new SkiffError('UNSUPPORTED', 'build: this terminal has no host files to use as a build context');
    const file = str(f['file']);
    if (path === '-' && file === '-') throw new UsageError('build', 'invalid argument: can\'t use stdin for both build context and dockerfile');
    const context = await ctx.host.readBuildContext(path!);
    let dockerfile: string | undefined;
    let dockerfilePath: string | undefined;
    if (file === '-') dockerfile = new TextDecoder().decode(await ctx.host.readStdin());
    else if (file !== undefined && ctx.host.kind === 'browser') {
      // No host files in a page: -f names a file of the context the user picked.
      dockerfilePath = file.replace(/^\.\//, '');
    } else if (file !== undefined) {
      // -f names a file on the host (relative to the working directory, as in Docker).
      dockerfile = new TextDecoder().decode(await ctx.host.readFile(file));
      dockerfilePath = file.split('/').at(-1)!;
    }
    const outputs = list(f['output']).map(parseOutput);
    const secretSpecs = list(f['secret']);
    const secrets = secretSpecs.length ? await readSecrets(secretSpecs, (p) => ctx.host.readFile(p), ctx.host.env ?? {}) : undefined;
    const quiet = f['quiet'] === true || progress === 'quiet';
    const res = await ctx.engine.build({
      context, tags: list(f['tag']), buildArgs: keyValues(list(f['build-arg']), 'build-arg', ctx.host.env),
      labels: keyValues(list(f['label']), 'label'), noCache: f['no-cache'] === true, ...(f['pull'] === true ? { pull: true } : {}),
      ...(dockerfile !== undefined ? { dockerfile } : {}), ...(dockerfilePath ? { dockerfilePath } : {}),
      ...(str(f['target']) ? { target: str(f['target'])! } : {}), ...(str(f['platform']) ? { platform: str(f['platform'])! } : {}),
      ...(secrets ? { secrets } : {}),
      ...(quiet ? {} : { onProgress: (t: string) => ctx.stderr(displayText(t, { multiline: true })) }),
    });
    const iid = str(f['iidfile']);
    if (iid) await ctx.host.writeArchive(once(new TextEncoder().encode(res.id)), { output: iid, defaultName: 'iidfile' });
    for (const o of outputs) {
      if (o.type === 'tar') {
        // The image's root filesystem, as BuildKit's tar exporter writes it.
        const c = await ctx.engine.createContainer({ image: res.id });
        try {
          await ctx.host.writeArchive(await ctx.engine.exportContainer({ id: c.id }), { ...(o.dest !== '-' ? { output: o.dest } : {}), defaultName: 'rootfs.tar' });
        } finally {
          await ctx.engine.removeContainer({ id: c.id, force: true });
        }
      } else {
        await ctx.host.writeArchive(await ctx.engine.saveArchive({ refs: [res.id], format: o.type }), { ...(o.dest !== '-' ? { output: o.dest } : {}), defaultName: 'image.tar' });
      }
    }
    if (quiet) out(ctx, res.id);
  },
};

const builderPrune: Command = {
  name: 'builder prune', aliases: ['buildx prune'], usage: '[OPTIONS]', maxArgs: 0, summary: 'Remove build cache',
  flags: [
    { name: 'all', short: 'a', help: 'Remove all unused build cache, not just dangling ones' },
    { name: 'force', short: 'f', help: 'Do not prompt for confirmation' },
  ],
  async run(ctx) {
    const r = await ctx.engine.pruneBuildCache();
    // Docker's shape: the IDs, then the total.
    if (r.deleted.length) out(ctx, `Deleted build cache objects:\n${r.deleted.join('\n')}\n\n`);
    out(ctx, `Total reclaimed space: ${humanSize(r.reclaimed)}`);
  },
};

export const buildCommands: readonly Command[] = [build, builderPrune];
