/**
 * From what a user typed to an image record, by Docker's rules: a reference names a tag
 * ("busybox" is docker.io/library/busybox:latest) or a digest ("name@sha256:..."); otherwise a
 * full or short image ID (hex prefix of the config digest, or of the manifest digest).
 */
import { SkiffError } from '../errors.ts';
import { normalizeReference, parseReference } from '../oci/reference.ts';
import type { StateReader } from './state/store.ts';
import type { ImageRecord, TagRecord } from './types.ts';

const HEX_PREFIX = /^(?:sha256:)?([0-9a-f]{1,64})$/;

export interface Resolved {
  image: ImageRecord;
  /** The tag record when the user named a tag. */
  tag?: TagRecord;
}

export async function findImage(state: StateReader, ref: string): Promise<Resolved | undefined> {
  if (typeof ref !== 'string' || ref === '') throw new SkiffError('INVALID_ARGUMENT', 'image reference is empty');
  let parsed: ReturnType<typeof parseReference> | undefined;
  try {
    parsed = parseReference(ref);
  } catch {
    parsed = undefined;
  }
  if (parsed?.digest) {
    const image = await state.get<ImageRecord>('images', parsed.digest);
    if (image) return { image };
  } else if (parsed) {
    const tag = await state.get<TagRecord>('tags', normalizeReference(ref));
    if (tag) {
      const image = await state.get<ImageRecord>('images', tag.digest);
      if (image) return { image, tag };
    }
  }
  const hex = HEX_PREFIX.exec(ref);
  if (!hex) {
    if (!parsed) parseReference(ref); // rethrow the reference's own error
    return undefined;
  }
  const prefix = `sha256:${hex[1]}`;
  const all = await state.list<ImageRecord>('images');
  const byId = all.filter((i) => i.id.startsWith(prefix));
  const ids = new Set(byId.map((i) => i.id));
  if (ids.size > 1) throw new SkiffError('INVALID_ARGUMENT', `image ID prefix "${ref}" is ambiguous: it matches ${ids.size} images`);
  if (byId.length >= 1) return { image: byId[0]! };
  const byDigest = all.filter((i) => i.digest.startsWith(prefix));
  if (byDigest.length > 1) throw new SkiffError('INVALID_ARGUMENT', `digest prefix "${ref}" is ambiguous: it matches ${byDigest.length} images`);
  return byDigest[0] ? { image: byDigest[0] } : undefined;
}

export function noSuchImage(ref: string): SkiffError {
  return new SkiffError('NOT_FOUND', `No such image: ${ref}`);
}

/** Tags pointing at an image, in order. */
export async function tagsOf(state: StateReader, digest: string): Promise<TagRecord[]> {
  return (await state.list<TagRecord>('tags')).filter((t) => t.digest === digest);
}
