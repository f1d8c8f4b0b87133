/**
 * Image references, following Docker's grammar (github.com/distribution/reference):
 *   busybox                    -> docker.io/library/busybox:latest
 *   localhost:5000/a/b:tag     -> registry localhost:5000, repository a/b
 *   name@sha256:...            -> pinned by digest (no default tag)
 *   name:tag@sha256:...        -> both; the digest is what is fetched
 */
import { SkiffError } from '../errors.ts';
import { parseDigest, type Digest } from './digest.ts';

export interface ImageReference {
  /** Registry host[:port], e.g. "docker.io", "localhost:5000". */
  domain: string;
  /** Repository path without the domain, e.g. "library/busybox". */
  path: string;
  tag?: string;
  digest?: Digest;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar, piece by piece, as in distribution/reference regexp.go.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOMAIN_RE = new RegExp(`^${domainAndPort}$`);
const PATH_RE = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const ANCHORED_ID_RE = /^[a-f0-9]{64}$/;

function invalid(ref: string, why: string): never {
  throw new SkiffError('INVALID_ARGUMENT', `invalid reference "${ref}": ${why}`);
}

/**
 * Parse a user-facing reference into its normalized form. A reference with neither tag nor digest
 * gets the tag "latest" unless `defaultTag: false`.
 */
export function parseReference(ref: string, opts: { defaultTag?: boolean } = {}): ImageReference {
  if (typeof ref !== 'string' || ref === '') invalid(String(ref), 'empty reference');
  if (ANCHORED_ID_RE.test(ref)) invalid(ref, 'cannot specify 64-byte hexadecimal strings as a repository name');
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    try {
      digest = parseDigest(d, 'digest');
    } catch (e) {
      invalid(ref, (e as Error).message);
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  // A tag is after the last ':' that follows the last '/', so "localhost:5000/a" has none.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) invalid(ref, `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  if (rest === '') invalid(ref, 'repository name is empty');
  if (rest.length > NAME_TOTAL_LENGTH_MAX) invalid(ref, `repository name must not be longer than ${NAME_TOTAL_LENGTH_MAX} characters`);

  // splitDockerDomain: the first component is a registry if it has '.', ':' or is "localhost"
  // (or has uppercase, which a path component cannot).
  let domain: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;

  if (!DOMAIN_RE.test(domain)) invalid(ref, `registry "${domain}" is not a valid host[:port]`);
  if (path.toLowerCase() !== path && PATH_RE.test(path.toLowerCase())) invalid(ref, 'repository name must be lowercase');
  if (!PATH_RE.test(path)) {
    invalid(ref, `repository "${path}" must be lowercase components of [a-z0-9] joined by '.', '_', '__' or '-', separated by '/'`);
  }
  const out: ImageReference = { domain, path };
  if (tag !== undefined) out.tag = tag;
  else if (digest === undefined && opts.defaultTag !== false) out.tag = DEFAULT_TAG;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** "docker.io/library/busybox" */
export function referenceName(r: ImageReference): string {
  return `${r.domain}/${r.path}`;
}

/** Fully qualified: "docker.io/library/busybox:latest", "r/a@sha256:..", "r/a:t@sha256:..". */
export function formatReference(r: ImageReference): string {
  return referenceName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** The short form Docker shows: "busybox:latest", "user/app:1", "localhost:5000/a/b:t". */
export function familiarReference(r: ImageReference): string {
  return familiarName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

export function familiarName(r: ImageReference): string {
  if (r.domain !== DEFAULT_DOMAIN) return referenceName(r);
  const rest = r.path.slice(OFFICIAL_REPO_PREFIX.length);
  if (r.path.startsWith(OFFICIAL_REPO_PREFIX) && !rest.includes('/')) return rest;
  return r.path;
}

/** Parse then format: the canonical string used as a key in image stores. */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}
