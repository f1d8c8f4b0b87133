/**
 * Process-only additions to one start (BuildKit's build secrets): variables for the process and
 * files mounted read-only, held in memory for the run. They are merged into a copy of the request
 * the runtime translates (the guest's config.json, the WASI module's env), never into the
 * ContainerSpec the engine stored at create: no record, layer, log or inspect ever has them.
 */
import { SkiffError } from '../errors.ts';
import { Overlay } from '../fs/overlay.ts';
import type { SpecMount } from './spec/container-spec.ts';
import type { MountedVolume, StartContainerRequest } from './types.ts';

// The shapes live beside the runtime contract that carries them (types.ts imports nothing back).
export type { SecretFile, StartSecrets } from './types.ts';

/** The name of the one file in a secret's in-memory filesystem (what the bind mounts). */
export const SECRET_FILE = 'secret';

/**
 * The request as the runtime should run it: the secrets' variables over the spec's env, each file
 * a read-only bind of a file in its own in-memory filesystem (MountedVolume.file). The request's
 * own spec object is left as it was (it is the stored one).
 */
export function withSecrets(req: StartContainerRequest): StartContainerRequest {
  const s = req.secrets;
  if (!s || (!s.env && !s.files?.length)) return req;
  const names = Object.keys(s.env ?? {});
  const env = [...req.spec.env.filter((e) => !names.includes(e.split('=')[0]!)), ...names.map((n) => `${n}=${s.env![n]}`)];
  const mounts: SpecMount[] = [...req.spec.mounts];
  const volumes: MountedVolume[] = [...req.volumes];
  for (const f of s.files ?? []) {
    if (!f.path.startsWith('/') || f.path === '/') throw new SkiffError('INVALID_ARGUMENT', `secret file path ${JSON.stringify(f.path)}: must be an absolute file path`);
    const fs = new Overlay({ lower: null });
    const node = fs.create(fs.root(), SECRET_FILE, { mode: f.mode & 0o7777, uid: f.uid, gid: f.gid });
    fs.write(node, 0, f.data);
    const source = `secret:${f.path}`;
    mounts.push({ type: 'bind', source, destination: f.path, readOnly: true, propagation: 'rprivate' });
    volumes.push({ source, destination: f.path, readOnly: true, fs, file: SECRET_FILE });
  }
  const { secrets: _, ...rest } = req;
  return { ...rest, spec: { ...req.spec, env, mounts }, volumes };
}
