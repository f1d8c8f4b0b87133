/**
 * /images/* and /build: list, inspect, history, tag, remove, prune, load, save, pull
 * (`POST /images/create`), push, and the classic builder (`POST /build`, a tar context in).
 * Long operations stream Docker's JSON lines (`{"status": ...}`, `{"stream": ...}`), and an error
 * after the first line goes out as `{"errorDetail": ..., "error": ...}` as Docker's daemon does.
 */
import type { Engine } from '../engine/engine.ts';
import { isSkiffError } from '../errors.ts';
import { familiarReference, normalizeReference, parseReference } from '../oci/reference.ts';
import { fromBase64 } from '../util/base64.ts';
import type { Call, StreamWriter } from './call.ts';
import { badRequest } from './errors.ts';
import { bool, filters } from './query.ts';
import type { Router } from './router.ts';

const unix = (iso: string | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

/** A JSON-lines progress stream; `fail` reports an error in-band (the 200 is already sent). */
function jsonLines(call: Call): StreamWriter & { line(v: unknown): Promise<void>; fail(err: unknown): Promise<void> } {
  const w = call.begin(200, 'application/json');
  return {
    ...w,
    line: (v) => w.write(`${JSON.stringify(v)}\r\n`),
    fail: async (err) => {
      const message = err instanceof Error ? err.message : String(err);
      await w.write(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
    },
  };
}

/** "docker.io/library/busybox:latest" as Docker prints it: "busybox:latest". */
/**
 * X-Registry-Auth: the docker client's login for the image's registry, base64url JSON
 * ({username, password} or {auth: base64("user:password")}). Empty ("{}", no login) means the
 * daemon's own credentials; identity tokens are not supported and fall back to those too.
 */
export function registryAuth(call: Pick<Call, 'headers'>): { username: string; password: string } | undefined {
  const raw = call.headers['x-registry-auth'];
  const v = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!v) return undefined;
  let doc: Record<string, unknown>;
  try {
    const b64 = v.replace(/-/g, '+').replace(/_/g, '/');
    doc = JSON.parse(new TextDecoder().decode(fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4)))) as Record<string, unknown>;
    if (typeof doc !== 'object' || doc === null) throw new Error('not an object');
  } catch {
    throw badRequest('invalid X-Registry-Auth header: not base64url-encoded JSON');
  }
  const str = (k: string): string => (typeof doc[k] === 'string' ? (doc[k] as string) : '');
  if (str('username') && str('password')) return { username: str('username'), password: str('password') };
  if (str('auth')) {
    let text: string;
    try { text = new TextDecoder().decode(fromBase64(str('auth'))); } catch { throw badRequest('invalid X-Registry-Auth header: its auth is not base64'); }
    const at = text.indexOf(':');
    if (at > 0 && at < text.length - 1) return { username: text.slice(0, at), password: text.slice(at + 1) };
  }
  return undefined;
}

function familiar(ref: string): string {
  try {
    return familiarReference(parseReference(ref));
  } catch {
    return ref;
  }
}

/** `repo` + `tag` query parameters as one reference ("busybox" + "1.36", or "busybox:1.36"). */
function refOf(repo: string, tag: string | null): string {
  if (!tag) return repo;
  return tag.startsWith('sha256:') ? `${repo}@${tag}` : `${repo}:${tag}`;
}

/** /images/json's rows (one per image ID, its tags together); /system/df lists them too. */
export async function imageSummaries(engine: Engine, reference?: string): Promise<Array<{ Id: string; RepoTags: string[] } & Record<string, unknown>>> {
  const rows = await engine.listImages(reference ? { reference } : {});
  const byId = new Map<string, typeof rows>();
  for (const row of rows) byId.set(row.id, [...(byId.get(row.id) ?? []), row]);
  return [...byId.values()].map((group) => {
    const g = group[0]!;
    const tags = group.filter((x) => x.ref).map((x) => `${x.repository}:${x.tag}`);
    return {
      Id: g.id, ParentId: '', RepoTags: tags,
      RepoDigests: [...new Set(group.filter((x) => x.ref).map((x) => `${x.repository}@${x.digest}`))],
      Created: unix(g.created), Size: g.size, SharedSize: -1, VirtualSize: g.size, Labels: {}, Containers: g.containers,
    };
  });
}

export function imageRoutes(r: Router, engine: Engine): void {
  const name = (call: Call) => call.params['name']!;

  r.add('GET /images/json', async (call) => {
    const f = filters(call.query);
    let out = await imageSummaries(engine, f['reference']?.[0]);
    if (f['dangling']?.length) {
      const want = f['dangling'][0] === 'true' || f['dangling'][0] === '1';
      out = out.filter((i) => (i.RepoTags.length === 0) === want);
    }
    call.send(200, out);
  });

  r.add('GET /images/{name*}/json', async (call) => call.send(200, await engine.inspectImage({ ref: name(call) })));

  r.add('GET /images/{name*}/history', async (call) => {
    const rows = await engine.history({ ref: name(call) });
    const image = await engine.resolveImage({ ref: name(call) });
    call.send(200, rows.map((h, i) => ({ Id: i === 0 ? image.id : h.id, Created: unix(h.created), CreatedBy: h.createdBy, Tags: null, Size: h.size, Comment: h.comment })));
  });

  r.add('POST /images/{name*}/tag', async (call) => {
    const repo = call.query.get('repo');
    if (!repo) throw badRequest('tag: query parameter repo is required');
    const target = refOf(repo, call.query.get('tag') || 'latest');
    await engine.tag({ source: name(call), target });
    call.send(201);
  });

  r.add('DELETE /images/{name*}', async (call) => {
    const res = await engine.removeImage({ ref: name(call), force: bool(call.query, 'force') });
    call.send(200, [...res.untagged.map((t) => ({ Untagged: familiar(t) })), ...res.deleted.map((d) => ({ Deleted: d }))]);
  });

  r.add('POST /images/prune', async (call) => {
    const f = filters(call.query);
    // dangling=false: every unused image (docker image prune -a).
    const all = (f['dangling'] ?? []).some((v) => v === 'false' || v === '0');
    const p = await engine.pruneImages({ all });
    const deleted = [...p.untagged.map((t) => ({ Untagged: familiar(t) })), ...p.deleted.map((d) => ({ Deleted: d }))];
    call.send(200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: p.reclaimed });
  });

  r.add('POST /images/load', async (call) => {
    const result = await engine.loadArchive({ stream: call.bodyStream(), name: 'the request body', source: 'api:load' });
    const w = jsonLines(call);
    for (const img of result.images) {
      const lines = img.tags.length ? img.tags.map((t) => `Loaded image: ${familiar(t)}\n`) : [`Loaded image ID: ${img.id}\n`];
      // quiet (what docker load sends when not on a terminal) drops progress only, as Docker.
      for (const l of lines) await w.line({ stream: l });
    }
    w.end();
  });

  const save = async (call: Call, refs: string[]) => {
    if (!refs.length) throw badRequest('save: name at least one image (query parameter names)');
    const chunks = await engine.saveArchive({ refs });
    const w = call.begin(200, 'application/x-tar');
    for await (const c of chunks) {
      if (call.aborted) break;
      await w.write(c);
    }
    w.end();
  };
  r.add('GET /images/get', (call) => save(call, call.query.getAll('names')));
  r.add('GET /images/{name*}/get', (call) => save(call, [name(call)]));

  r.add('POST /images/create', async (call) => {
    const from = call.query.get('fromImage');
    if (call.query.get('fromSrc')) {
      if (call.query.get('fromSrc') !== '-') throw badRequest('import: only fromSrc=- (the request body) is supported');
      const repo = call.query.get('repo');
      const image = await engine.importImage({ data: await call.body(), name: 'the request body', ...(repo ? { ref: refOf(repo, call.query.get('tag')) } : {}) });
      const w = jsonLines(call);
      await w.line({ status: image.id });
      return w.end();
    }
    if (!from) throw badRequest('query parameter fromImage is required (or fromSrc to import)');
    const ref = refOf(from, call.query.get('tag'));
    const platform = call.query.get('platform') || undefined;
    // A bad reference is a 400 before the stream starts.
    try {
      normalizeReference(ref);
    } catch (err) {
      throw badRequest(isSkiffError(err) ? err.message : 'invalid reference format');
    }
    const auth = registryAuth(call);
    const w = jsonLines(call);
    const local = await engine.findImage({ ref }).catch(() => undefined);
    try {
      await engine.pullImage({
        ref, ...(platform ? { platform } : {}), ...(auth ? { auth } : {}),
        onProgress: (e) => w.line({
          status: e.status, ...(e.id ? { id: e.id } : {}),
          ...(e.current !== undefined ? { progressDetail: { current: e.current, ...(e.total !== undefined ? { total: e.total } : {}) } } : {}),
        }),
      });
    } catch (err) {
      // An image bundled with skiff (skiff/busybox) is in no registry: its bundle is the pull.
      const bundled = local ? undefined : await engine.resolveImage({ ref }).catch(() => undefined);
      if (bundled) await w.line({ status: `Status: Downloaded newer image for ${familiar(ref)} (bundled with skiff)` });
      else await w.fail(err);
    }
    w.end();
  });

  r.add('POST /images/{name*}/push', async (call) => {
    const ref = refOf(name(call), call.query.get('tag'));
    const auth = registryAuth(call);
    const w = jsonLines(call);
    try {
      await engine.pushImage({ ref, ...(auth ? { auth } : {}), onProgress: (e) => w.line({ status: e.status, ...(e.id ? { id: e.id } : {}) }) });
    } catch (err) {
      await w.fail(err);
    }
    w.end();
  });

  // `docker builder prune` and the last step of `docker system prune`: skiff's cache has one kind of
  // entry (no dangling/all split, no ages), so filters are refused rather than ignored.
  r.add('POST /build/prune', async (call) => {
    const f = filters(call.query);
    if (Object.keys(f).length) throw badRequest(`skiff's build cache takes no prune filters (got ${Object.keys(f).join(', ')})`);
    const r = await engine.pruneBuildCache();
    call.send(200, { CachesDeleted: r.deleted.length ? r.deleted : null, SpaceReclaimed: r.reclaimed });
  });

  r.add('POST /build', async (call) => {
    const q = call.query;
    const parseMap = (key: string): Record<string, string> | undefined => {
      const raw = q.get(key);
      if (!raw) return undefined;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        throw badRequest(`invalid value for query parameter ${key}: not JSON`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(`invalid value for query parameter ${key}: expected a JSON object`);
      // Docker sends build args as name -> value|null (null: from the client's environment, already resolved).
      return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
    };
    const context = await call.body();
    const tags = q.getAll('t');
    const buildArgs = parseMap('buildargs');
    const labels = parseMap('labels');
    const target = q.get('target');
    const dockerfile = q.get('dockerfile');
    const platform = q.get('platform');
    const quiet = bool(q, 'q');
    const w = jsonLines(call);
    try {
      const res = await engine.build({
        context, ...(tags.length ? { tags } : {}), ...(buildArgs ? { buildArgs } : {}), ...(labels ? { labels } : {}),
        ...(target ? { target } : {}), ...(dockerfile ? { dockerfilePath: dockerfile } : {}), ...(platform ? { platform } : {}),
        noCache: bool(q, 'nocache'),
        onProgress: (text) => { if (!quiet) void w.line({ stream: text.endsWith('\n') ? text : `${text}\n` }); },
      });
      await w.line({ aux: { ID: res.id } });
      // -q: the image ID is the one line the daemon writes (docker build -q prints what it gets).
      if (quiet) await w.line({ stream: `${res.id}\n` });
      else await w.line({ stream: `Successfully built ${res.id.slice(7, 19)}\n` });
      for (const t of res.tags) if (!quiet) await w.line({ stream: `Successfully tagged ${familiar(t)}\n` });
    } catch (err) {
      await w.fail(err);
    }
    w.end();
  });
}
