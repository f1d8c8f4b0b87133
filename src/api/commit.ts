/**
 * `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`: `docker commit`. The body,
 * when there is one, is a ContainerConfig used in place of the container's (moby's postCommit);
 * the docker CLI sends `null`. 201 `{"Id": ...}`.
 */
import type { Engine } from '../engine/engine.ts';
import { isObject, type Json } from '../oci/fields.ts';
import { parseContainerConfig } from '../oci/config.ts';
import { badRequest, notFound } from './errors.ts';
import { bool } from './query.ts';
import type { Router } from './router.ts';

/** moby's RepoTagReference: no repo, no tag (a tag alone is ignored); `tag` may also be a digest. */
function repoTag(repo: string, tag: string): string | undefined {
  if (!repo) return undefined;
  if (!tag) return repo;
  return tag.startsWith('sha256:') ? `${repo}@${tag}` : `${repo}:${tag}`;
}

export function commitRoutes(r: Router, engine: Engine): void {
  r.add('POST /commit', async (call) => {
    const q = call.query;
    // An empty id would match any container by prefix; Docker's daemon finds none.
    if (!q.get('container')) throw notFound('No such container: ');
    const body = await call.json<unknown>();
    if (body !== null && !isObject(body as Json)) throw badRequest('commit: the request body must be a JSON object (a container config) or null');
    const config = body !== null && Object.keys(body as object).length ? parseContainerConfig(body as Json, 'commit body') : undefined;
    const ref = repoTag(q.get('repo') ?? '', q.get('tag') ?? '');
    const changes = q.getAll('changes').filter((c) => c !== '');
    const image = await engine.commitContainer({
      id: q.get('container') ?? '',
      ...(ref ? { ref } : {}),
      ...(q.get('author') ? { author: q.get('author')! } : {}),
      ...(q.get('comment') ? { message: q.get('comment')! } : {}),
      ...(changes.length ? { changes } : {}),
      ...(config ? { config } : {}),
      pause: bool(q, 'pause', true),
    });
    call.send(201, { Id: image.id });
  });
}
