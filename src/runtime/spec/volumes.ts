/**
 * `-v` and `--tmpfs` with Docker's Linux syntax and errors (moby volume/mounts/linux_parser.go,
 * moby/sys/mount MergeTmpfsOptions).
 *   -v /host/path:/dest[:mode]   bind mount (source absolute)
 *   -v name:/dest[:mode]         named volume
 *   -v /dest                     anonymous volume
 *   --tmpfs /dest[:opt,opt=val]
 */
import { SkiffError } from '../../errors.ts';

export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
const PROPAGATIONS: ReadonlySet<string> = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

export interface BindSpec {
  type: 'bind';
  /** Absolute host path (Node CLI) or a path the engine maps to a host directory. */
  source: string;
  destination: string;
  readOnly: boolean;
  propagation: Propagation;
}

export interface NamedVolumeSpec {
  type: 'volume';
  /** Absent for an anonymous volume: the engine names it. */
  name?: string;
  destination: string;
  readOnly: boolean;
  /** Copy the image's content at `destination` into a new, empty volume (off with `nocopy`). */
  copyData: boolean;
}

export type VolumeSpec = BindSpec | NamedVolumeSpec;

export interface TmpfsSpec {
  destination: string;
  /** Final mount options, Docker's defaults (noexec,nosuid,nodev) merged with the user's. */
  options: string[];
}

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

/** POSIX path.Clean, as Go's path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined === '' ? '.' : joined;
}

const LABEL_MODES = new Set(['z', 'Z']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);

function validMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = { rw: 0, label: 0, prop: 0, copy: 0, consistency: 0 };
  for (const o of mode.split(',')) {
    if (o === 'rw' || o === 'ro') counts.rw++;
    else if (LABEL_MODES.has(o)) counts.label++;
    else if (PROPAGATIONS.has(o)) counts.prop++;
    else if (o === 'nocopy') counts.copy++;
    else if (CONSISTENCY_MODES.has(o)) counts.consistency++;
    else return false;
  }
  return Object.values(counts).every((n) => n <= 1);
}

function checkTarget(p: string): string | undefined {
  if (cleanPath(p) === '/') return "invalid specification: destination can't be '/'";
  if (!p.startsWith('/')) return `invalid mount path: '${p}' mount path must be absolute`;
  return undefined;
}

const LOCAL_VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's local driver rule for volume names. */
export function validateVolumeName(name: string): void {
  if (!LOCAL_VOLUME_NAME.test(name)) {
    throw invalid(
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

export function parseVolumeSpec(raw: string): VolumeSpec {
  const specError = `invalid volume specification: '${raw}'`;
  const arr = raw.split(':');
  if (arr.length > 3 || arr[0] === '') throw invalid(specError);
  let source = '';
  let target: string;
  let mode = '';
  if (arr.length === 1) target = arr[0]!;
  else if (arr.length === 2) {
    // "/foo:rw" is a destination plus a mode: volumes cannot carry a mode without a source.
    if (validMode(arr[1]!)) throw invalid(specError);
    [source, target] = [arr[0]!, arr[1]!];
  } else [source, target, mode] = [arr[0]!, arr[1]!, arr[2]!];
  if (!validMode(mode)) throw invalid(`invalid mode: ${mode}`);

  const type = source.startsWith('/') ? 'bind' : 'volume';
  const opts = mode === '' ? [] : mode.split(',');
  const readOnly = opts.includes('ro');
  const propagation = opts.find((o) => PROPAGATIONS.has(o)) as Propagation | undefined;
  const configError = (msg: string): SkiffError => invalid(`${specError}: invalid mount config for type "${type}": ${msg}`);

  const targetError = checkTarget(target);
  if (targetError) throw configError(targetError);
  const destination = cleanPath(target);
  if (type === 'bind') {
    return { type, source: cleanPath(source), destination, readOnly, propagation: propagation ?? 'rprivate' };
  }
  if (propagation) throw configError('field BindOptions must not be specified');
  if (source !== '') validateVolumeName(source);
  const spec: NamedVolumeSpec = { type, destination, readOnly, copyData: !opts.includes('nocopy') };
  if (source !== '') spec.name = source;
  return spec;
}

/** Mount flags the kernel takes as MS_* bits: a later one of a pair overrides an earlier one. */
const FLAG_GROUPS: Record<string, string> = {
  ro: 'rdonly', rw: 'rdonly', suid: 'nosuid', nosuid: 'nosuid', dev: 'nodev', nodev: 'nodev',
  exec: 'noexec', noexec: 'noexec', sync: 'sync', async: 'sync', dirsync: 'dirsync',
  mand: 'mand', nomand: 'mand', atime: 'noatime', noatime: 'noatime', diratime: 'nodiratime',
  nodiratime: 'nodiratime', relatime: 'relatime', norelatime: 'relatime',
  strictatime: 'strictatime', nostrictatime: 'strictatime',
};
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);
export const DEFAULT_TMPFS_OPTIONS: readonly string[] = ['noexec', 'nosuid', 'nodev'];

/** MergeTmpfsOptions: walk from the end, keep the last of each flag group and data key. */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const out: string[] = [];
  const seenFlags = new Set<string>();
  const seenData = new Set<string>();
  for (let i = options.length - 1; i >= 0; i--) {
    const option = options[i]!;
    if (option === 'defaults') continue;
    const group = Object.hasOwn(FLAG_GROUPS, option) ? FLAG_GROUPS[option] : undefined;
    if (group !== undefined) {
      if (!seenFlags.has(group)) {
        seenFlags.add(group);
        out.unshift(option);
      }
      continue;
    }
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    if (eq < 0 || !TMPFS_DATA.has(key)) {
      const shown = eq < 0 ? `"${option}"` : `"${key}" "${option.slice(eq + 1)}"`;
      throw invalid(`invalid tmpfs option [${shown}]`);
    }
    if (!seenData.has(key)) {
      seenData.add(key);
      out.unshift(option);
    }
  }
  return out;
}

/** `--tmpfs /run:size=64m,mode=1777`. */
export function parseTmpfs(raw: string): TmpfsSpec {
  const colon = raw.indexOf(':');
  const target = colon < 0 ? raw : raw.slice(0, colon);
  const data = colon < 0 ? '' : raw.slice(colon + 1);
  const targetError = checkTarget(target);
  if (targetError) throw invalid(`invalid tmpfs mount '${raw}': ${targetError}`);
  const user = data === '' ? [] : data.split(',');
  return { destination: cleanPath(target), options: mergeTmpfsOptions([...DEFAULT_TMPFS_OPTIONS, ...user]) };
}
