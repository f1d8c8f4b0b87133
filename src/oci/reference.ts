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
// A digest as the reference grammar shapes it (algorithm ":" at least 32 hex); its validity is checked after.
const DIGEST_SHAPE_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const DOMAIN_RE = new RegExp(`^${domainAndPort}$`);
const PATH_RE = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const ANCHORED_ID_RE = /^[a-f0-9]{64}$/;

// Docker's own texts (distribution/reference, opencontainers/go-digest), so scripts and users matching
// on them see the same words: "invalid reference format", "repository name must be lowercase", ...
const INVALID_FORMAT = 'invalid reference format';

function invalid(message: string): never {
  throw new SkiffError('INVALID_ARGUMENT', message);
}

/** The digest checks go-digest makes once the reference grammar matched; skiff fetches sha256 only. */
function checkDigest(d: string): Digest {
  const colon = d.indexOf(':');
  const algo = d.slice(0, colon);
  const encoded = d.slice(colon + 1);
  if (algo !== 'sha256') throw new SkiffError('UNSUPPORTED', `unsupported digest algorithm: ${algo} (only sha256)`);
  if (encoded.length !== 64) invalid('invalid checksum digest length');
  if (!/^[0-9a-f]{64}$/.test(encoded)) invalid('invalid checksum digest format');
  return parseDigest(d, 'digest');
}

/**
 * Parse a user-facing reference into its normalized form. A reference with neither tag nor digest
 * gets the tag "latest" unless `defaultTag: false`. Checks run in the order Docker's
 * ParseNormalizedNamed runs them, so the same input gets the same error.
 */
export function parseReference(ref: string, opts: { defaultTag?: boolean } = {}): ImageReference {
  if (typeof ref !== 'string') invalid(INVALID_FORMAT);
  if (ANCHORED_ID_RE.test(ref)) invalid(`invalid repository name (${ref}), cannot specify 64-byte hexadecimal strings`);

  // splitDockerDomain: the first component is a registry if it has '.', ':' or is "localhost"
  // (or has uppercase, which a path component cannot).
  let domain: string;
  let remainder: string;
  const slash = ref.indexOf('/');
  const first = slash >= 0 ? ref.slice(0, slash) : '';
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = ref;
  } else {
    domain = first;
    remainder = ref.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  // Docker names the repository up to the first ':' of the remainder (a digest's ':' included).
  const remoteName = remainder.includes(':') ? remainder.slice(0, remainder.indexOf(':')) : remainder;
  if (remoteName.toLowerCase() !== remoteName) invalid(`${INVALID_FORMAT}: repository name (${remoteName}) must be lowercase`);

  let rest = remainder;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const path = rest;
  const matches = DOMAIN_RE.test(domain) && PATH_RE.test(path)
    && (tag === undefined || TAG_RE.test(tag)) && (digest === undefined || DIGEST_SHAPE_RE.test(digest));
  if (!matches) invalid(INVALID_FORMAT);
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const out: ImageReference = { domain, path };
  if (tag !== undefined) out.tag = tag;
  else if (digest === undefined && opts.defaultTag !== false) out.tag = DEFAULT_TAG;
  if (digest !== undefined) out.digest = checkDigest(digest);
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
