/**
 * `docker ps --filter` / `GET /containers/json?filters=`: Docker's container filters over records,
 * one table for the CLI, the page's terminal and the Engine API. Within a key the values are
 * alternatives (label: all must hold); across keys all must hold. Unknown keys and bad health
 * values are refused with the daemon's wording (daemon/list.go).
 */
import { SkiffError } from '../errors.ts';
import type { ContainerRecord } from './types.ts';

/** Docker's ps health filter value for a record: "none" without a healthcheck state. */
export function healthStatusOf(c: ContainerRecord): string {
  return c.health?.Status ?? 'none';
}

const HEALTHS = ['none', 'starting', 'healthy', 'unhealthy'];

function label(c: ContainerRecord, l: string): boolean {
  const eq = l.indexOf('=');
  const k = eq < 0 ? l : l.slice(0, eq);
  // Own keys only: `label=constructor` must not match every record through Object's prototype.
  return Object.hasOwn(c.labels, k) && (eq < 0 || c.labels[k] === l.slice(eq + 1));
}

const TESTS: Record<string, (c: ContainerRecord, v: string) => boolean> = {
  status: (c, v) => c.state === v,
  name: (c, v) => c.name.includes(v.replace(/^\//, '')),
  id: (c, v) => c.id.startsWith(v),
  label,
  ancestor: (c, v) => c.imageRef === v || c.imageId === v || c.imageId.startsWith(`sha256:${v}`),
  exited: (c, v) => c.state === 'exited' && String(c.exitCode ?? 0) === v,
  health: (c, v) => healthStatusOf(c) === v,
};

/** Whether the filters ask for stopped containers too (Docker lists all for status= and exited=). */
export function filtersWantAll(f: Record<string, string[]>): boolean {
  return Boolean(f['status']?.length || f['exited']?.length);
}

/** The rows the filters keep. Throws INVALID_ARGUMENT naming an unknown key or health value. */
export function filterContainers(rows: ContainerRecord[], f: Record<string, string[]>): ContainerRecord[] {
  for (const v of f['health'] ?? []) {
    if (!HEALTHS.includes(v)) throw new SkiffError('INVALID_ARGUMENT', `invalid filter 'health=${v}': invalid value for health (${v}): must be one of ${HEALTHS.join(', ')}`);
  }
  let out = rows;
  for (const [k, values] of Object.entries(f)) {
    const t = TESTS[k];
    if (!t) throw new SkiffError('INVALID_ARGUMENT', `invalid filter '${k}'`);
    out = out.filter((c) => (k === 'label' ? values.every((v) => t(c, v)) : values.some((v) => t(c, v))));
  }
  return out;
}
