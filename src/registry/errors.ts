/** Registry answers that are errors, as SkiffErrors: the distribution spec's `{"errors": [{code, message}]}` body, by status. */
import { SkiffError } from '../errors.ts';

/** The body, refusing more than `max` bytes (a registry does not get to fill memory). */
export async function readLimited(res: Response, max: number, what: string): Promise<Uint8Array> {
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(len) && len > max) {
    await res.body?.cancel().catch(() => {});
    throw new SkiffError('REGISTRY', `${what}: ${len} bytes is more than the ${max} allowed`);
  }
  if (!res.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let n = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw new SkiffError('REGISTRY', `${what}: more than the ${max} bytes allowed`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}

interface SpecError { code?: unknown; message?: unknown }

/** What the registry said, in one line: "MANIFEST_UNKNOWN: manifest unknown". */
async function describe(res: Response): Promise<{ codes: string[]; text: string }> {
  let body: Uint8Array;
  try {
    body = await readLimited(res, 64 << 10, 'error body');
  } catch {
    return { codes: [], text: '' };
  }
  try {
    const doc = JSON.parse(new TextDecoder().decode(body)) as { errors?: SpecError[] };
    const errs = Array.isArray(doc.errors) ? doc.errors : [];
    const codes = errs.map((e) => String(e.code ?? '')).filter(Boolean);
    // Printable characters only: an error body is untrusted text going to a terminal.
    const text = errs.map((e) => `${String(e.code ?? '')}: ${String(e.message ?? '')}`).join('; ').replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
    return { codes, text };
  } catch {
    return { codes: [], text: '' };
  }
}

/**
 * The error for a non-2xx answer: NOT_FOUND for unknown manifests, blobs and repositories,
 * REGISTRY for the rest, with Docker's wording for access denied.
 */
export async function registryError(res: Response, what: string, repo?: string): Promise<SkiffError> {
  const { codes, text } = await describe(res);
  const detail = text ? `: ${text}` : '';
  if (res.status === 404 || codes.some((c) => c === 'MANIFEST_UNKNOWN' || c === 'BLOB_UNKNOWN' || c === 'NAME_UNKNOWN')) {
    return new SkiffError('NOT_FOUND', `${what}: not found (HTTP ${res.status})${detail}`);
  }
  if (res.status === 401 || res.status === 403) {
    return new SkiffError('REGISTRY', `${what}: access denied${repo ? ` for ${repo}, repository does not exist or may require 'skiff login'` : ''} (HTTP ${res.status})${detail}`);
  }
  return new SkiffError('REGISTRY', `${what}: HTTP ${res.status}${detail}`);
}
