/**
 * `RUN --mount=...` as BuildKit's frontend reads it (CSV fields, `key=value` or a bare flag,
 * `type` default `bind`, keys case-insensitive, its error messages):
 * - type=cache: a volume kept across builds (keyed by `id`, default the target), never part of
 *   the layer nor of the cache key; `builder prune` removes them.
 * - type=tmpfs: an empty tmpfs at the target.
 * - type=bind: the context (or `from=` a stage/image) directory or file at `source`, read-only
 *   unless `rw`, its writes discarded; its content checksum joins the step's cache key.
 * - type=secret: the build's `secrets` by id, as a file (default /run/secrets/<id>, mode 0400)
 *   or an environment variable (`env=`), for the step only; one that was not given is left out,
 *   or fails the step when `required` is set, as BuildKit does.
 * - type=ssh: refused with a clear error (no agent is forwarded).
 */
import { SkiffError } from '../errors.ts';
import { sha256Digest } from '../oci/digest.ts';
import { suggest } from './parser.ts';

export const CACHE_VOLUME_PREFIX = 'skiff-build-cache-';

const TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const KEYS = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env'];

export interface RunMount {
  type: 'cache' | 'tmpfs' | 'bind' | 'secret' | 'ssh';
  /** As written ('' when absent: BuildKit then mounts at the working directory). */
  target: string;
  /** cache: the volume's id; bind: the source path. */
  id?: string;
  source?: string;
  from?: string;
  readOnly: boolean;
  required: boolean;
  /** secret: the variable to set instead of (or beside) a file. */
  env?: string;
  /** secret: the file's mode (octal), default 0400. */
  mode?: number;
  /** secret, cache: the owner's uid and gid (default 0). */
  uid?: number;
  gid?: number;
}

function fail(message: string): never {
  throw new SkiffError('INVALID_ARGUMENT', message);
}

/** CSV fields (Go's encoding/csv: `"` quotes a field, `""` inside is a quote). */
function csvFields(spec: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (quoted) {
      if (c === '"' && spec[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  if (quoted) fail(`failed to parse csv mounts: parse error: extraneous or missing " in quoted-field`);
  out.push(cur);
  return out;
}

function parseBool(key: string, v: string): boolean {
  const t = ['1', 't', 'T', 'TRUE', 'true', 'True'];
  const f = ['0', 'f', 'F', 'FALSE', 'false', 'False'];
  if (t.includes(v)) return true;
  if (f.includes(v)) return false;
  return fail(`invalid value for ${key}: ${v}`);
}

export function parseRunMount(spec: string): RunMount {
  const m: RunMount = { type: 'bind', target: '', readOnly: true, required: false };
  let roAuto = true;
  let fileInfo = false;
  let sharing: string | undefined;
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') { m.readOnly = true; roAuto = false; } else if (key === 'readwrite' || key === 'rw') { m.readOnly = false; roAuto = false; } else if (key === 'required' && (m.type === 'secret' || m.type === 'ssh')) m.required = true;
      else if (key === 'required') fail(`unexpected key '${key}' for mount type '${m.type}'`);
      else fail(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type': {
        const t = value.toLowerCase();
        if (!TYPES.includes(t)) fail(`unsupported mount type "${value}"${suggest(value, TYPES, true)}`);
        m.type = t as RunMount['type'];
        break;
      }
      case 'from': m.from = value; break;
      case 'source': case 'src': m.source = value; break;
      case 'target': case 'dst': case 'destination': m.target = value; break;
      case 'readonly': case 'ro': m.readOnly = parseBool(key, value); roAuto = false; break;
      case 'readwrite': case 'rw': m.readOnly = !parseBool(key, value); roAuto = false; break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') fail(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseBool(key, value);
        break;
      case 'size':
        if (m.type !== 'tmpfs') fail(`unexpected key '${key}' for mount type '${m.type}'`);
        break;
      case 'id': m.id = value; break;
      case 'sharing':
        if (!['shared', 'private', 'locked'].includes(value.toLowerCase())) fail(`unsupported sharing value "${value}"`);
        sharing = value;
        break;
      case 'mode':
        if (!/^[0-7]+$/.test(value)) fail(`invalid value ${value} for mode`);
        m.mode = parseInt(value, 8);
        fileInfo = true;
        break;
      case 'uid': case 'gid':
        if (!/^\d+$/.test(value)) fail(`invalid value ${value} for ${key}`);
        if (key === 'uid') m.uid = Number(value); else m.gid = Number(value);
        fileInfo = true;
        break;
      case 'env': m.env = value; break;
      default: fail(`unexpected key '${key}' in '${field}'${suggest(key, KEYS, true)}`);
    }
  }
  if (fileInfo && m.type !== 'cache' && m.type !== 'secret' && m.type !== 'ssh') fail(`mode not allowed for "${m.type}" type mounts`);
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined) fail('secret mount should not have a from');
    if (sharing !== undefined) fail('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) fail('invalid secret mount. one of source, target required');
    if (m.source && m.id) fail("both source and id can't be set");
  }
  if (sharing !== undefined && m.type !== 'cache') fail(`invalid cache sharing set for ${m.type} mount`);
  if (m.type === 'ssh') throw new SkiffError('UNSUPPORTED', 'RUN --mount=type=ssh is not supported by skiff\'s builder (no SSH agent is forwarded to builds)');
  if (m.type === 'cache') m.id = m.id || m.target;
  if (m.type === 'bind') m.source = m.source ?? '/';
  return m;
}

/** The volume a cache mount uses: one per id, shared by every build of this engine. */
export function cacheVolumeName(id: string): string {
  return CACHE_VOLUME_PREFIX + sha256Digest(id).slice(7, 31);
}
