/**
 * Registry commands: pull, push, login, logout, and the pull that `run`/`create` do for a missing
 * image (`--pull always|missing|never`, Docker's "Unable to find image 'x' locally"). Progress is
 * Docker's: a line per layer when it is done, a bar while bytes move.
 */
import { isSkiffError, SkiffError } from '../../errors.ts';
import { familiarName, familiarReference, parseReference } from '../../oci/reference.ts';
import type { PullEvent } from '../../registry/pull.ts';
import { displayText } from '../present/escape.ts';
import { barText } from '../present/progress.ts';
import { out, str, type Command, type CommandContext } from './context.ts';
import { UsageError, type FlagSpec, type FlagValues } from './flags.ts';

const LINE_STATUSES = /^(Already exists|Pull complete|Pushed|Layer already exists|Mounted from .*)$/;

/**
 * An onProgress that prints Docker's lines to `write` (a layer's line once it is done) and, on a
 * terminal, a bar per layer still moving, redrawn in place below them as Docker draws (a host
 * whose progress draws one line gets one bar for all layers instead).
 * @internal exported for tests
 */
export function progressPrinter(ctx: Pick<CommandContext, 'host'>, write: (t: string) => void, verb: string): { onProgress: (e: PullEvent) => void; done: () => void } {
  const bar = ctx.host.progress();
  const moving = new Map<string, { current: number; total: number }>();
  /** Per layer not yet done: its row (status, and a bar while bytes move). */
  const rows = new Map<string, string>();
  const draw = (): void => bar.lines?.([...rows].map(([id, row]) => `${id}: ${row}`));
  return {
    onProgress(e) {
      if (e.id && !LINE_STATUSES.test(e.status)) {
        const bytes = (e.status === 'Downloading' || e.status === 'Pushing') && e.total;
        if (bar.lines) {
          rows.set(e.id, bytes ? `${e.status} ${barText(e.current ?? 0, e.total!, 30)}` : e.status);
          draw();
          return;
        }
        if (!bytes) return;
        moving.set(e.id, { current: e.current ?? 0, total: e.total! });
        let cur = 0;
        let tot = 0;
        for (const m of moving.values()) { cur += m.current; tot += m.total; }
        bar.update(`${verb} ${moving.size} layer${moving.size === 1 ? '' : 's'}`, cur, tot);
        return;
      }
      if (e.id) rows.delete(e.id);
      bar.finish();
      write(`${displayText(e.id ? `${e.id}: ${e.status}` : e.status)}\n`);
      if (rows.size) draw();
    },
    done: () => bar.finish(),
  };
}

/** `pull` proper, shared with run/create: the pulled reference, and the manifest digest it stored. */
async function pullWithOutput(ctx: CommandContext, ref: string, o: { platform?: string; quiet?: boolean; toStderr?: boolean }): Promise<{ ref: string; manifest: string }> {
  const write = (t: string): void => (o.toStderr ? ctx.stderr(t) : ctx.stdout(t));
  const p = o.quiet ? undefined : progressPrinter(ctx, write, 'Downloading');
  try {
    const r = await ctx.engine.pullImage({ ref, ...(o.platform ? { platform: o.platform } : {}), ...(p ? { onProgress: p.onProgress } : {}) });
    return { ref: r.ref, manifest: r.image.digest };
  } finally {
    p?.done();
  }
}

const pull: Command = {
  name: 'pull', aliases: ['image pull'], usage: '[OPTIONS] NAME[:TAG|@DIGEST]', summary: 'Download an image from a registry', minArgs: 1, maxArgs: 1,
  flags: [
    { name: 'platform', value: 'string', help: 'Set platform if server is multi-platform capable (default: linux/386, then wasi/wasm)' },
    { name: 'all-tags', short: 'a', help: 'Download all tagged images in the repository' },
    { name: 'quiet', short: 'q', help: 'Suppress verbose output' },
  ],
  async run(ctx, f, [ref]) {
    const o = { ...(str(f['platform']) ? { platform: str(f['platform'])! } : {}), quiet: f['quiet'] === true };
    if (f['all-tags'] !== true) return out(ctx, (await pullWithOutput(ctx, ref!, o)).ref);
    const tags = await ctx.engine.registryTags({ ref: ref! });
    if (tags.length === 0) throw new SkiffError('NOT_FOUND', `${ref}: the repository has no tags`);
    // Every tag is tried; the ones that cannot be pulled (no platform skiff runs, ...) are named at the end.
    const failed: string[] = [];
    for (const t of tags) {
      try {
        out(ctx, (await pullWithOutput(ctx, `${ref!}:${t}`, o)).ref);
      } catch (err) {
        failed.push(`${t}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failed.length) throw new SkiffError(failed.length === tags.length ? 'NOT_FOUND' : 'REGISTRY', `${failed.length} of ${tags.length} tags not pulled:\n${failed.join('\n')}`);
  },
};

const push: Command = {
  name: 'push', aliases: ['image push'], usage: '[OPTIONS] NAME[:TAG]', summary: 'Upload an image to a registry', minArgs: 1, maxArgs: 1,
  flags: [{ name: 'quiet', short: 'q', help: 'Suppress verbose output' }],
  async run(ctx, f, [ref]) {
    const p = f['quiet'] === true ? undefined : progressPrinter(ctx, (t) => ctx.stdout(t), 'Pushing');
    try {
      const r = await ctx.engine.pushImage({ ref: ref!, ...(p ? { onProgress: p.onProgress } : {}) });
      if (!p) out(ctx, r.ref);
    } finally {
      p?.done();
    }
  },
};

const login: Command = {
  name: 'login', usage: '[OPTIONS] [SERVER]', summary: 'Log in to a registry (default: Docker Hub)', maxArgs: 1,
  flags: [
    { name: 'username', short: 'u', value: 'string', help: 'Username' },
    { name: 'password', short: 'p', value: 'string', help: 'Password (prefer --password-stdin)' },
    { name: 'password-stdin', help: 'Take the password from stdin' },
  ],
  async run(ctx, f, [server]) {
    const username = str(f['username']);
    let password = str(f['password']);
    if (f['password-stdin'] === true) {
      if (password !== undefined) throw new UsageError('login', '--password and --password-stdin are mutually exclusive');
      if (!username) throw new UsageError('login', 'Must provide --username with --password-stdin');
      password = new TextDecoder().decode(await ctx.host.readStdin()).replace(/\r?\n$/, '');
    } else if (password !== undefined) {
      ctx.stderr('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    if (!username || !password) throw new UsageError('login', 'a username (-u) and a password (--password-stdin) are required');
    await ctx.engine.login({ username, password, ...(server ? { registry: server } : {}) });
    out(ctx, 'Login Succeeded');
  },
};

const logout: Command = {
  name: 'logout', usage: '[SERVER]', summary: 'Log out from a registry (default: Docker Hub)', maxArgs: 1, flags: [],
  async run(ctx, _f, [server]) {
    const r = await ctx.engine.logout(server ? { registry: server } : {});
    out(ctx, r.removed ? `Removing login credentials for ${r.registry}` : `Not logged in to ${r.registry}`);
  },
};

export const registryCommands: readonly Command[] = [pull, push, login, logout];

/** `run`/`create` flags for pulling. */
export const pullFlags: readonly FlagSpec[] = [
  { name: 'pull', value: 'string', default: 'missing', help: 'Pull image before running ("always", "missing", "never")' },
  { name: 'platform', value: 'string', help: 'Set platform if server is multi-platform capable' },
];

/**
 * Before `run`/`create`: pull `image` as the --pull policy says. "missing" pulls only when no
 * local (or bundled) image has that name, announcing it as Docker does, on stderr. Returns the
 * reference to create from: `image`, or, for a digest that named an index, the manifest pulled.
 */
export async function pullForRun(ctx: CommandContext, image: string, f: FlagValues): Promise<string> {
  const policy = str(f['pull']) ?? 'missing';
  if (policy !== 'always' && policy !== 'missing' && policy !== 'never') {
    throw new UsageError('run', `invalid pull option: '${displayText(policy)}': must be one of "always", "missing" or "never"`);
  }
  if (policy === 'never') return image;
  const platform = str(f['platform']);
  if (policy === 'missing') {
    try {
      await ctx.engine.inspectImage({ ref: image });
      return image;
    } catch (err) {
      if (!isSkiffError(err, 'NOT_FOUND')) throw err;
    }
    let shown = image;
    try {
      shown = familiarReference(parseReference(image));
    } catch {
      return image; // not a name a registry could have: create says why
    }
    ctx.stderr(`Unable to find image '${displayText(shown)}' locally\n`);
  }
  const pulled = await pullWithOutput(ctx, image, { ...(platform ? { platform } : {}), toStderr: true });
  const r = parseReference(image);
  // An image is stored under its manifest's digest; an index's digest names no local image.
  return r.digest !== undefined && r.digest !== pulled.manifest ? `${familiarName(r)}@${pulled.manifest}` : image;
}
