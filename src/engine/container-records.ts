/**
 * Container records as the state store holds them: found by id, name or unique id prefix, and
 * migrated on read when an older skiff wrote them. Below both the container store and networks,
 * which each read records (a network's members, a `container:NAME` mode's owner).
 */
import { SkiffError } from '../errors.ts';
import { resolveContainerSpec, type ContainerSpec } from '../runtime/spec/container-spec.ts';
import type { RunOptions } from '../runtime/spec/options.ts';
import type { StateReader } from './state/store.ts';
import type { ContainerRecord } from './types.ts';

export async function findContainer(state: StateReader, ref: string): Promise<ContainerRecord> {
  if (!ref) throw new SkiffError('INVALID_ARGUMENT', 'container name or ID is empty');
  const byId = await state.get<ContainerRecord>('containers', ref);
  if (byId) return fromStored(byId);
  const all = await state.list<ContainerRecord>('containers');
  const name = ref.replace(/^\//, '');
  const named = all.find((c) => c.name === name);
  if (named) return fromStored(named);
  if (/^[0-9a-f]+$/.test(ref)) {
    const hits = all.filter((c) => c.id.startsWith(ref));
    if (hits.length === 1) return fromStored(hits[0]!);
    if (hits.length > 1) throw new SkiffError('INVALID_ARGUMENT', `container ID prefix "${ref}" is ambiguous: it matches ${hits.length} containers`);
  }
  throw new SkiffError('NOT_FOUND', `No such container: ${ref}`);
}

/** What records written before container specs held (skiff <= 986eef9). */
interface LegacyContainerRecord {
  process: { entrypoint: string[]; cmd: string[]; env: string[]; workdir: string; user: string; tty: boolean; openStdin: boolean };
  hostname?: string;
  run?: RunOptions;
  mounts?: Array<{ type: 'volume'; name: string; destination: string; readOnly: boolean; anonymous: boolean; copyData?: boolean } | { type: 'bind'; source: string; destination: string; readOnly: boolean }>;
}

/**
 * A record as stored, migrated on read: an older record (a `process` and the saved run options,
 * no spec) gets its spec resolved from what it stored, by the same rules as a create. The image's
 * Env was merged into `process.env` then (with a PATH default, which then stays in Config.Env); its StopSignal was read at stop time and is not kept
 * (such a container stops with its `--stop-signal` or SIGTERM).
 */
export function fromStored(raw: ContainerRecord): ContainerRecord {
  if ((raw as Partial<ContainerRecord>).spec) return raw;
  const old = raw as unknown as ContainerRecord & LegacyContainerRecord;
  const { process: p, hostname, run, mounts, ...rest } = old;
  if (!p) throw new SkiffError('INVALID_ARGUMENT', `container ${raw.name ?? raw.id}: its record has neither a spec nor a process: remove it (skiff rm ${raw.id})`);
  const { volumes: _v, rm, ...runRest } = run ?? {};
  let spec: ContainerSpec;
  try {
    spec = resolveContainerSpec({
      id: raw.id, image: {},
      run: {
        ...runRest, entrypoint: p.entrypoint, cmd: p.cmd, env: p.env, workdir: p.workdir, user: p.user,
        ...(hostname ? { hostname } : {}), tty: p.tty, interactive: p.openStdin,
      },
    });
  } catch (err) {
    throw SkiffError.wrap(err, `container ${raw.name}: converting its record from an older skiff (remove it with skiff rm ${raw.name})`);
  }
  spec.mounts = (mounts ?? []).map((m) => m.type === 'volume'
    ? { type: 'volume', name: m.name, destination: m.destination, readOnly: m.readOnly, anonymous: m.anonymous, copyData: m.copyData ?? false }
    : { type: 'bind', source: m.source, destination: m.destination, readOnly: m.readOnly, propagation: 'rprivate' });
  return { ...rest, spec, ...(rm ? { autoRemove: true } : {}) } as ContainerRecord;
}
