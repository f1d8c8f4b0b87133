/**
 * The distribution API's transport: one `fetch` (Node 20 and browsers alike), per-registry endpoint
 * discovery (`GET /v2/` tells the scheme and how to authenticate), Bearer tokens per repository
 * scope reused until they expire, Basic auth, and retries with backoff on 429/5xx and dropped
 * connections. Everything above it (manifests, blobs, pull, push) only names a path and a scope.
 *
 * Credentials travel in the Authorization header only: no message, log or error built here
 * contains them.
 */
import { SkiffError } from '../errors.ts';
import { formatScope, mergeScopes, parseChallenges, parseScope, type Challenge, type Scope } from './challenge.ts';
import { noCredentials, type CredentialStore, type Credentials } from './credentials.ts';
import { encodeAuth } from './credentials.ts';
import { domainOfKey, registryEndpoint, type HostOptions } from './hosts.ts';
import { backoffMs, DEFAULT_RETRY, isNetworkError, networkReason, retryableStatus, sleep, type RetryPolicy } from './retry.ts';
import { readLimited, registryError } from './errors.ts';
import { PROXY_ERROR_HEADER } from './proxy.ts';
import { toReadableStream } from '../util/streams.ts';

export interface RegistryClientOptions extends HostOptions {
  fetch?: typeof fetch;
  credentials?: CredentialStore;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds clock, for token expiry. */
  now?: () => number;
  /** Rewrites every URL before it is fetched (a browser's registry proxy). */
  rewriteUrl?: (url: string) => string;
  /** Called with one line per HTTP exchange (method, URL, status): never headers. */
  trace?: (line: string) => void;
  /**
   * fetch may send a request body as a stream (Node's undici does; browsers only over HTTP/2):
   * then a big blob goes up in one streamed PUT instead of PATCH chunks.
   */
  streamBodies?: boolean;
}

interface Endpoint {
  domain: string;
  /** "https://registry-1.docker.io" */
  base: string;
  /** From the ping: undefined when the registry needs no authentication. */
  challenge?: Challenge;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface RegistryRequest {
  domain: string;
  /** Scopes the request needs ("repository:library/alpine:pull"). */
  scopes: Scope[];
  method?: string;
  /** A path on the registry ("/v2/library/alpine/manifests/latest") or an absolute URL (an upload Location). */
  path: string;
  headers?: Record<string, string>;
  /** Bytes, or a stream made anew for every try (a retry re-reads it). */
  body?: Uint8Array | (() => AsyncIterable<Uint8Array>);
  signal?: AbortSignal;
  /** Retry 429/5xx/network failures (default true; a request whose body cannot be re-sent says false). */
  retry?: boolean;
}

const TOKEN_MARGIN_MS = 2_000;
const DEFAULT_TOKEN_SECONDS = 60;

export class RegistryClient {
  private readonly fetchFn: typeof fetch;
  readonly credentials: CredentialStore;
  private readonly policy: RetryPolicy;
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  private readonly tokens = new Map<string, CachedToken>();
  /** Token fetches in flight, so blobs pushed or pulled at once share one. */
  private readonly pending = new Map<string, Promise<string>>();
  get streamBodies(): boolean {
    return this.opts.streamBodies === true;
  }

  /** Token fetches made (tests check reuse). */
  tokenFetches = 0;

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.fetchFn = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.credentials = opts.credentials ?? noCredentials;
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
  }

  /**
   * A client that answers `creds` for `domain` before its own store, for one call (the Engine API's
   * X-Registry-Auth: the docker client's login, which this process may not see). Its tokens are its own.
   */
  withCredentials(domain: string, creds: Credentials): RegistryClient {
    const base = this.credentials;
    const want = domainOfKey(domain);
    return new RegistryClient({ ...this.opts, credentials: { get: async (d) => (domainOfKey(d) === want ? creds : base.get(d)) } });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** fetch with the URL rewrite, tracing, and a clear error when the connection itself fails. */
  private async send(url: string, init: RequestInit, domain: string): Promise<Response> {
    const target = this.opts.rewriteUrl ? this.opts.rewriteUrl(url) : url;
    try {
      const res = await this.fetchFn(target, { ...init, redirect: 'follow' });
      this.opts.trace?.(`${init.method ?? 'GET'} ${url} -> ${res.status}`);
      // Through a registry proxy, a registry that cannot be reached is a 502 saying so: the same
      // network error as without the proxy (retried, HTTPS falling back, "cannot reach ...").
      const proxyError = this.opts.rewriteUrl && res.status === 502 ? res.headers.get(PROXY_ERROR_HEADER) : null;
      if (proxyError !== null) {
        await res.body?.cancel().catch(() => {});
        throw new TypeError('fetch failed', { cause: new Error(proxyError) });
      }
      return res;
    } catch (err) {
      this.opts.trace?.(`${init.method ?? 'GET'} ${url} -> ${(err as Error).message}`);
      throw err;
    }
  }

  /** `GET /v2/` once per registry: which scheme answers, and the challenge to meet. */
  endpoint(domain: string): Promise<Endpoint> {
    let p = this.endpoints.get(domain);
    if (!p) {
      p = this.ping(domain);
      this.endpoints.set(domain, p);
      p.catch(() => this.endpoints.delete(domain));
    }
    return p;
  }

  private async ping(domain: string): Promise<Endpoint> {
    const ep = registryEndpoint(domain, this.opts);
    // What each scheme said, for the error when none worked (an HTTPS certificate problem
    // should not hide behind the HTTP fallback's "400").
    const tried: string[] = [];
    let lastErr: unknown;
    for (const [i, scheme] of ep.schemes.entries()) {
      const base = `${scheme}://${ep.host}`;
      const last = i === ep.schemes.length - 1;
      let res: Response;
      try {
        // HTTPS with HTTP behind it (loopback, insecure registries): one try, then fall back.
        res = await this.withRetry(() => this.send(`${base}/v2/`, { method: 'GET' }, domain), domain, last);
      } catch (err) {
        lastErr = err;
        tried.push(`${scheme}: ${networkReason(err)}`);
        continue;
      }
      await res.body?.cancel().catch(() => {});
      if (res.status === 200) return { domain, base };
      if (res.status === 401) {
        const ch = parseChallenges(res.headers.get('www-authenticate'));
        const challenge = ch.find((c) => c.scheme === 'bearer') ?? ch.find((c) => c.scheme === 'basic');
        if (!challenge) throw new SkiffError('REGISTRY', `registry ${domain} asks for authentication (HTTP 401) without a Bearer or Basic challenge`);
        return { domain, base, challenge };
      }
      // Through a proxy a failed HTTPS attempt is an answer (502), not an error: fall back the same.
      tried.push(`${scheme}: ${base}/v2/ answered HTTP ${res.status}`);
      lastErr = undefined;
    }
    if (tried.length === 1 && lastErr) throw unreachable(domain, lastErr);
    const answered = tried.some((t) => t.includes(' answered HTTP '));
    throw new SkiffError('REGISTRY', `${answered ? `registry ${domain} does not speak the distribution API (v2)` : `cannot reach registry ${domain}`}: ${tried.join('; ')}`, lastErr ? { cause: lastErr } : undefined);
  }

  /** Run `attempt`, retrying network failures and 429/5xx answers per the policy. */
  private async withRetry(attempt: () => Promise<Response>, domain: string, retry: boolean, signal?: AbortSignal): Promise<Response> {
    const wait = this.opts.sleep ?? sleep;
    for (let n = 1; ; n++) {
      let res: Response;
      try {
        res = await attempt();
      } catch (err) {
        if (!retry || !isNetworkError(err) || n >= this.policy.attempts || signal?.aborted) throw err;
        await wait(backoffMs(this.policy, n, null));
        continue;
      }
      if (!retry || !retryableStatus(res.status) || n >= this.policy.attempts) return res;
      await res.body?.cancel().catch(() => {});
      await wait(backoffMs(this.policy, n, res.headers.get('retry-after')));
    }
  }

  /** The Authorization header value for `scopes`, fetching a token when none is cached. */
  private async authorization(ep: Endpoint, scopes: Scope[], challenge = ep.challenge, fresh = false): Promise<string | undefined> {
    if (!challenge) return undefined;
    const creds = await this.credentials.get(ep.domain);
    if (challenge.scheme === 'basic') return creds ? `Basic ${encodeAuth(creds)}` : undefined;
    const token = await this.token(ep, challenge, scopes, creds, fresh);
    return `Bearer ${token}`;
  }

  private async token(ep: Endpoint, challenge: Challenge, scopes: Scope[], creds: Credentials | undefined, fresh: boolean): Promise<string> {
    const realm = challenge.params['realm'];
    if (!realm) throw new SkiffError('REGISTRY', `registry ${ep.domain}: Bearer challenge without a realm`);
    const service = challenge.params['service'];
    const all = mergeScopes(scopes);
    const key = [realm, service ?? '', creds?.username ?? '', ...all.map(formatScope)].join('|');
    const cached = this.tokens.get(key);
    if (cached && !fresh && cached.expiresAt > this.now()) return cached.token;
    const inflight = this.pending.get(key);
    if (inflight && !fresh) return inflight;
    const p = this.fetchToken(ep, realm, service, all, creds, key);
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      if (this.pending.get(key) === p) this.pending.delete(key);
    }
  }

  private async fetchToken(ep: Endpoint, realm: string, service: string | undefined, all: Scope[], creds: Credentials | undefined, key: string): Promise<string> {
    const url = new URL(realm, `${ep.base}/`);
    if (service) url.searchParams.set('service', service);
    for (const s of all) url.searchParams.append('scope', formatScope(s));
    const headers: Record<string, string> = { accept: 'application/json' };
    // A password goes to a token service over HTTPS only (or to one the user let use HTTP).
    if (creds && url.protocol !== 'https:' && !registryEndpoint(url.host, this.opts).schemes.includes('http')) {
      throw new SkiffError('REGISTRY', `registry ${ep.domain}: its token service ${url.origin} is not HTTPS; credentials are not sent over plain HTTP`);
    }
    if (creds) headers['authorization'] = `Basic ${encodeAuth(creds)}`;
    this.tokenFetches++;
    let res: Response;
    try {
      res = await this.withRetry(() => this.send(url.href, { method: 'GET', headers }, ep.domain), ep.domain, true);
    } catch (err) {
      throw unreachable(`${ep.domain} (token service ${url.origin})`, err);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      throw new SkiffError('REGISTRY', creds
        ? `registry ${ep.domain}: unauthorized: incorrect username or password`
        : `registry ${ep.domain}: the token service refused anonymous access (HTTP ${res.status}); log in first (skiff login ${ep.domain})`);
    }
    if (!res.ok) throw await registryError(res, `registry ${ep.domain}: fetching a token from ${url.origin}${url.pathname}`);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(await readLimited(res, 1 << 20, 'token response'))) as typeof body;
    } catch (err) {
      throw new SkiffError('REGISTRY', `registry ${ep.domain}: the token service answered something that is not JSON (${(err as Error).message})`);
    }
    const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) throw new SkiffError('REGISTRY', `registry ${ep.domain}: the token service answered without a token`);
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    // Expiry counted on our own clock from when the token arrived: the service's clock may be skewed.
    const start = this.now();
    this.tokens.set(key, { token, expiresAt: start + seconds * 1000 - TOKEN_MARGIN_MS });
    return token;
  }

  /**
   * One registry request, authenticated for its scopes. A 401 carrying a new challenge (expired
   * token, more scope wanted) gets one fresh token and one more try; the answer is the caller's.
   */
  async request(req: RegistryRequest): Promise<Response> {
    const ep = await this.endpoint(req.domain);
    const url = /^https?:\/\//.test(req.path) ? req.path : `${ep.base}${req.path}`;
    const method = req.method ?? 'GET';
    // An absolute URL comes from the registry (an upload's Location): credentials and tokens go
    // only to the registry's own origin, never to a host a Location names.
    const sameOrigin = new URL(url).origin === new URL(ep.base).origin;
    const attempt = async (auth: string | undefined): Promise<Response> => {
      const headers: Record<string, string> = { ...req.headers };
      if (auth && sameOrigin) headers['authorization'] = auth;
      const init: RequestInit = { method, headers };
      if (req.body instanceof Uint8Array) init.body = req.body as BodyInit;
      else if (req.body) {
        init.body = toReadableStream(req.body());
        (init as { duplex?: string }).duplex = 'half';
      }
      if (req.signal) init.signal = req.signal;
      try {
        return await this.withRetry(() => this.send(url, init, req.domain), req.domain, req.retry !== false, req.signal);
      } catch (err) {
        throw unreachable(req.domain, err);
      }
    };
    let res = await attempt(await this.authorization(ep, req.scopes));
    if (res.status !== 401) return res;
    // A registry may let `/v2/` through and ask for credentials per repository: the challenge
    // then comes with this answer.
    const chs = parseChallenges(res.headers.get('www-authenticate'));
    const ch = ep.challenge ? chs.find((c) => c.scheme === ep.challenge!.scheme) : chs.find((c) => c.scheme === 'bearer') ?? chs.find((c) => c.scheme === 'basic');
    if (!ch) return res;
    await res.body?.cancel().catch(() => {});
    const more = (ch.params['scope'] ?? '').split(' ').map(parseScope).filter((s): s is Scope => s !== undefined);
    const challenge = ep.challenge ? { ...ep.challenge, params: { ...ep.challenge.params, ...ch.params } } : ch;
    res = await attempt(await this.authorization(ep, [...req.scopes, ...more], challenge, true));
    return res;
  }

  /** Drop cached tokens and the endpoint of a registry (after `logout`, tokens got with old credentials go). */
  forget(domain: string): void {
    this.endpoints.delete(domain);
    this.tokens.clear();
  }

  /**
   * `login`: do these credentials open the registry? Basic: `/v2/` answers 200 with them. Bearer:
   * the token service grants a token for them (Docker asks with no scope, too).
   */
  async checkLogin(domain: string, creds: Credentials): Promise<void> {
    const ep = await this.endpoint(domain);
    if (!ep.challenge) return;
    if (ep.challenge.scheme === 'basic') {
      const res = await this.withRetry(() => this.send(`${ep.base}/v2/`, { method: 'GET', headers: { authorization: `Basic ${encodeAuth(creds)}` } }, domain), domain, true)
        .catch((err) => { throw unreachable(domain, err); });
      await res.body?.cancel().catch(() => {});
      if (res.status === 401 || res.status === 403) throw new SkiffError('REGISTRY', `registry ${domain}: unauthorized: incorrect username or password`);
      if (!res.ok) throw new SkiffError('REGISTRY', `registry ${domain}: logging in: HTTP ${res.status}`);
      return;
    }
    await this.token(ep, ep.challenge, [], creds, true);
  }
}

/**
 * What a browser's fetch throws for a request it blocked (CORS) or could not make: Chromium,
 * Firefox, Safari. Node's says "fetch failed". Told apart by the error, not by asking where we run.
 */
const BROWSER_FETCH_FAILURE = /^(Failed to fetch|NetworkError when attempting to fetch resource\.?|Load failed)$/;

/** A connection that could not be made: one clear error naming the registry (and CORS in a browser). */
export function unreachable(what: string, err: unknown): SkiffError {
  if (err instanceof SkiffError) return err;
  if ((err as Error)?.name === 'AbortError') return new SkiffError('CANCELLED', `registry ${what}: cancelled`);
  if ((err as Error)?.name === 'TypeError' && BROWSER_FETCH_FAILURE.test((err as Error).message)) {
    return new SkiffError('REGISTRY', `cannot reach registry ${what} from this page: the browser blocked the request. A registry must send CORS headers `
      + '(Docker Hub does not); give the engine a registry proxy URL (npm start serves one), see docs/browser.md', { cause: err });
  }
  const reason = networkReason(err);
  if (/ERR_SSL_WRONG_VERSION_NUMBER|wrong version number/.test(reason)) {
    // A plain-HTTP registry asked for HTTPS: say so, and the way out (as Docker does).
    return new SkiffError('REGISTRY', `cannot reach registry ${what}: http: server gave HTTP response to HTTPS client; `
      + `a registry served over plain HTTP must be listed in "insecure-registries" (skiff's config.json, $SKIFF_HOME/config.json on Node)`, { cause: err });
  }
  return new SkiffError('REGISTRY', `cannot reach registry ${what}: ${reason}`, { cause: err });
}
