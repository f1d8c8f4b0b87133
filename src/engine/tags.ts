/** Tag documents with history: moving a tag remembers where it pointed, so it can be rolled back. */
import { SkiffError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { StateTx } from './state/store.ts';
import type { ImageRecord, TagRecord } from './types.ts';

/** Keep this many earlier targets per tag. */
export const TAG_HISTORY_LIMIT = 20;

export async function setTag(tx: StateTx, ref: string, digest: Digest, at: string): Promise<TagRecord> {
  const cur = await tx.get<TagRecord>('tags', ref);
  let history = cur?.history ?? [];
  if (cur && cur.digest !== digest) history = [...history, { digest: cur.digest, at: cur.updatedAt }].slice(-TAG_HISTORY_LIMIT);
  if (cur && cur.digest === digest) return cur;
  const rec: TagRecord = { ref, digest, history, updatedAt: at };
  await tx.put('tags', ref, rec);
  return rec;
}

/**
 * Point a tag back at its previous target that still exists (or at `to`, which must be in its
 * history). The abandoned target is dropped from the history.
 */
export async function rollbackTag(tx: StateTx, ref: string, at: string, to?: Digest): Promise<{ from: Digest; to: Digest }> {
  const cur = await tx.get<TagRecord>('tags', ref);
  if (!cur) throw new SkiffError('NOT_FOUND', `No such image: ${ref}`);
  const history = [...cur.history];
  while (history.length > 0) {
    const prev = history.pop()!;
    if (to !== undefined && prev.digest !== to) continue;
    if (prev.digest === cur.digest) continue;
    if (!(await tx.get<ImageRecord>('images', prev.digest))) continue;
    await tx.put('tags', ref, { ref, digest: prev.digest, history, updatedAt: at } satisfies TagRecord);
    return { from: cur.digest, to: prev.digest };
  }
  throw new SkiffError('NOT_FOUND', to !== undefined
    ? `rolling back ${ref}: ${to} is not in its history (or the image was removed)`
    : `rolling back ${ref}: no earlier image in its history is still present`);
}
