/**
 * `docker cp`: /containers/{id}/archive. HEAD stats a path (Docker's X-Docker-Container-Path-Stat
 * header: base64 JSON with Go's FileMode bits), GET sends it as a tar (the entry named by the
 * path's last component, as Docker), PUT extracts a tar into a directory of the container. The
 * container side is the engine's (engine/container-copy.ts: paths clamped to the container root).
 */
import type { Engine } from '../engine/engine.ts';
import type { PathStat } from '../engine/container-copy.ts';
import type { Call } from './call.ts';
import { ApiError, badRequest } from './errors.ts';
import { bool } from './query.ts';
import type { Router } from './router.ts';

// Go's os.FileMode type bits, which docker cp reads from the stat header.
const GO_DIR = 0x80000000;
const GO_SYMLINK = 0x08000000;

export function statHeader(s: PathStat): string {
  const kindBits = s.kind === 'directory' ? GO_DIR : s.kind === 'symlink' ? GO_SYMLINK : 0;
  // Go's uint32 FileMode: the sum stays exact (no bitwise ops on the sign bit).
  const stat = { name: s.name, size: s.size, mode: s.mode + kindBits, mtime: s.mtime, linkTarget: s.linkTarget };
  // btoa wants Latin-1: the UTF-8 bytes of the JSON, one char each.
  return btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(stat))));
}

export function archiveRoutes(r: Router, engine: Engine): void {
  const where = async (call: Call) => {
    const path = call.query.get('path');
    if (!path) throw badRequest('query parameter path is required');
    return { id: (await engine.inspectContainer({ id: call.params['id']! })).id, path };
  };

  r.add('HEAD /containers/{id}/archive', async (call) => {
    const stat = await engine.statContainerPath(await where(call));
    call.begin(200, 'application/x-tar', { 'X-Docker-Container-Path-Stat': statHeader(stat) }).end();
  });

  r.add('GET /containers/{id}/archive', async (call) => {
    const { stat, tar } = await engine.copyFromContainer(await where(call));
    const w = call.begin(200, 'application/x-tar', { 'X-Docker-Container-Path-Stat': statHeader(stat) });
    for await (const chunk of tar) {
      if (call.aborted) break;
      await w.write(chunk);
    }
    w.end();
  });

  r.add('PUT /containers/{id}/archive', async (call) => {
    const { id, path } = await where(call);
    await engine.copyIntoContainer({ id, path, tar: await call.body(), noOverwriteDirNonDir: bool(call.query, 'noOverwriteDirNonDir') });
    call.send(200);
  });
}
