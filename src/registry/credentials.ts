/**
 * Registry credentials: the interface the client asks, and the `auths` document format that Docker's
 * ~/.docker/config.json and skiff's own login file share ({"auths": {"<key>": {"auth": base64("user:password")}}}).
 * Secrets never reach a message: `redact` is what errors and logs may show of a credential.
 */
import { SkiffError } from '../errors.ts';
import { fromBase64, toBase64 } from '../util/base64.ts';
import { credentialKey, domainOfKey } from './hosts.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialStore {
  /** Credentials for a registry domain ("docker.io", "localhost:5000"), or undefined. */
  get(domain: string): Promise<Credentials | undefined>;
  /** Remember credentials (`login`); absent where the store is read-only. */
  set?(domain: string, creds: Credentials): Promise<void>;
  /** Forget them (`logout`); returns false when there was nothing to forget. */
  delete?(domain: string): Promise<boolean>;
}

export interface AuthsDocument {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  [other: string]: unknown;
}

export const noCredentials: CredentialStore = { get: async () => undefined };

/** Credentials for `domain` in an auths document; any key spelling of the same registry matches. */
export function findAuth(doc: AuthsDocument, domain: string): Credentials | undefined {
  const auths = doc.auths ?? {};
  const want = domainOfKey(domain);
  const exact = auths[credentialKey(domain)];
  const entry = exact ?? Object.entries(auths).find(([k]) => domainOfKey(k) === want)?.[1];
  if (!entry) return undefined;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    let text: string;
    try {
      text = new TextDecoder().decode(fromBase64(entry.auth));
    } catch {
      throw new SkiffError('INVALID_ARGUMENT', `stored credentials for ${want}: "auth" is not base64`);
    }
    const colon = text.indexOf(':');
    if (colon < 0) throw new SkiffError('INVALID_ARGUMENT', `stored credentials for ${want}: "auth" is not user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

export function encodeAuth(c: Credentials): string {
  return toBase64(new TextEncoder().encode(`${c.username}:${c.password}`));
}

/** The document with `domain`'s entry set (or removed when `creds` is undefined), other keys kept. */
export function withAuth(doc: AuthsDocument, domain: string, creds: Credentials | undefined): { doc: AuthsDocument; changed: boolean } {
  const auths = { ...(doc.auths ?? {}) };
  const want = domainOfKey(domain);
  let changed = false;
  for (const k of Object.keys(auths)) {
    if (domainOfKey(k) === want) { delete auths[k]; changed = true; }
  }
  if (creds) { auths[credentialKey(domain)] = { auth: encodeAuth(creds) }; changed = true; }
  return { doc: { ...doc, auths }, changed };
}

/** Several stores asked in order (skiff's own logins, then Docker's); writes go to the first. */
export function chainCredentials(...stores: CredentialStore[]): CredentialStore {
  const first = stores[0];
  return {
    async get(domain) {
      for (const s of stores) {
        const c = await s.get(domain);
        if (c) return c;
      }
      return undefined;
    },
    ...(first?.set ? { set: (d: string, c: Credentials) => first.set!(d, c) } : {}),
    ...(first?.delete ? { delete: (d: string) => first.delete!(d) } : {}),
  };
}

/** In memory (tests, a page that asks each time). */
export function memoryCredentials(initial: Record<string, Credentials> = {}): CredentialStore {
  const m = new Map(Object.entries(initial).map(([k, v]) => [domainOfKey(k), v]));
  return {
    get: async (d) => m.get(domainOfKey(d)),
    set: async (d, c) => { m.set(domainOfKey(d), c); },
    delete: async (d) => m.delete(domainOfKey(d)),
  };
}
