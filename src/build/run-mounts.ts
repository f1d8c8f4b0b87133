/**
 * `RUN --mount=...` (BuildKit's syntax: comma-separated key=value, `type` default `bind`):
 * - type=cache: a volume kept across builds (keyed by `id`, default the target), never part of
 *   the layer nor of the cache key; `builder prune` removes them.
 * - type=tmpfs: an empty tmpfs at the target.
 * - type=bind: the context (or `from=` a stage/image) directory at `source`, read-only unless `rw`,
 *   its writes discarded; its content checksum joins the step's cache key.
 * secret and ssh mounts are refused with a clear error.
 */
import { SkiffError } from '../errors.ts';
import { sha256Digest } from '../oci/digest.ts';

export const CACHE_VOLUME_PREFIX = 'skiff-build-cache-';

export interface RunMount {
  type: 'cache' | 'tmpfs' | 'bind';
  target: string;
  /** cache: the volume's id; bind: the source path. */
  id?: string;
  source?: string;
  from?: string;
  readOnly: boolean;
}

export function parseRunMount(spec: string): RunMount {
  const kv = new Map<string, string>();
  for (const part of spec.split(',')) {
    if (!part) continue;
    const i = part.indexOf('=');
    kv.set((i < 0 ? part : part.slice(0, i)).toLowerCase(), i < 0 ? 'true' : part.slice(i + 1));
  }
  const type = kv.get('type') ?? 'bind';
  const target = kv.get('target') ?? kv.get('dst') ?? kv.get('destination');
  if (type === 'secret' || type === 'ssh') throw new SkiffError('UNSUPPORTED', `RUN --mount=type=${type} is not supported by skiff's builder`);
  if (type !== 'cache' && type !== 'tmpfs' && type !== 'bind') throw new SkiffError('INVALID_ARGUMENT', `unsupported mount type "${type}"`);
  if (!target) throw new SkiffError('INVALID_ARGUMENT', `mount ${spec}: target is required`);
  const ro = kv.get('readonly') ?? kv.get('ro');
  const rw = kv.get('readwrite') ?? kv.get('rw');
  const readOnly = type === 'bind' ? rw !== 'true' : ro === 'true';
  const m: RunMount = { type, target, readOnly };
  if (type === 'cache') m.id = kv.get('id') ?? target;
  if (type === 'bind') m.source = kv.get('source') ?? kv.get('src') ?? '/';
  const from = kv.get('from');
  if (from !== undefined) m.from = from;
  return m;
}

/** The volume a cache mount uses: one per id, shared by every build of this engine. */
export function cacheVolumeName(id: string): string {
  return CACHE_VOLUME_PREFIX + sha256Digest(id).slice(7, 31);
}
