/**
 * The registry client's sans-IO pieces: WWW-Authenticate parsing, scopes, Docker's host rules,
 * the auths document format shared with Docker, backoff, platform choice in an index; and the
 * client's retry and token logic over a scripted fetch.
 */
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatScope, mergeScopes, parseChallenges, parseScope } from '../../src/registry/challenge.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { findAuth, memoryCredentials, withAuth } from '../../src/registry/credentials.ts';
import { fileCredentials, nodeCredentials } from '../../src/registry/credentials-node.ts';
import { credentialKey, domainOfKey, isLoopback, loginDomain, registryEndpoint } from '../../src/registry/hosts.ts';
import { chooseFromIndex } from '../../src/registry/manifests.ts';
import { backoffMs, retryableStatus } from '../../src/registry/retry.ts';
import { parseIndex } from '../../src/oci/manifest.ts';

describe('WWW-Authenticate', () => {
  it('parses Docker Hub\'s Bearer challenge, commas inside quotes included', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
    ]);
  });
  it('parses several challenges, spaces, escapes and unquoted values', () => {
    expect(parseChallenges('Basic realm="Registry \\"R\\"", Bearer realm=https://x/t , error="insufficient_scope"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry "R"' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', error: 'insufficient_scope' } },
    ]);
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges(null)).toEqual([]);
  });
  it('scopes: parsed, merged per resource, stable', () => {
    expect(parseScope('repository:library/alpine:pull,push')).toEqual({ type: 'repository', name: 'library/alpine', actions: ['pull', 'push'] });
    expect(parseScope('repository:localhost:5000/a:pull')).toEqual({ type: 'repository', name: 'localhost:5000/a', actions: ['pull'] });
    expect(parseScope('nonsense')).toBeUndefined();
    const m = mergeScopes([{ type: 'repository', name: 'b', actions: ['push'] }, { type: 'repository', name: 'a', actions: ['pull'] }, { type: 'repository', name: 'b', actions: ['pull'] }]);
    expect(m.map(formatScope)).toEqual(['repository:a:pull', 'repository:b:pull,push']);
  });
});

describe('hosts', () => {
  it('docker.io is served by registry-1.docker.io over HTTPS only; loopback may fall back to HTTP', () => {
    expect(registryEndpoint('docker.io')).toEqual({ domain: 'docker.io', host: 'registry-1.docker.io', schemes: ['https'] });
    expect(registryEndpoint('ghcr.io').schemes).toEqual(['https']);
    expect(registryEndpoint('localhost:5000').schemes).toEqual(['https', 'http']);
    expect(registryEndpoint('127.1.2.3:80').schemes).toEqual(['https', 'http']);
    expect(registryEndpoint('[::1]:5000').schemes).toEqual(['https', 'http']);
    expect(registryEndpoint('10.0.0.5:5000').schemes).toEqual(['https']);
    expect(registryEndpoint('10.0.0.5:5000', { insecure: ['10.0.0.5:5000'] }).schemes).toEqual(['https', 'http']);
    expect(registryEndpoint('myreg.lan', { insecure: ['myreg.lan'] }).schemes).toEqual(['https', 'http']);
    expect(isLoopback('127.evil.com')).toBe(false);
    expect(isLoopback('localhost.evil.com')).toBe(false);
  });
  it('credential keys as Docker writes them', () => {
    expect(credentialKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(credentialKey('localhost:5000')).toBe('localhost:5000');
    expect(domainOfKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(domainOfKey('https://ghcr.io')).toBe('ghcr.io');
    expect(loginDomain(undefined)).toBe('docker.io');
    expect(loginDomain('registry-1.docker.io')).toBe('docker.io');
  });
});

describe('credentials', () => {
  it('reads Docker\'s auths under any key spelling; keeps other keys when writing', () => {
    const doc = { auths: { 'https://index.docker.io/v1/': { auth: btoa('me:p:w') }, 'https://ghcr.io': { auth: btoa('gh:tok') } }, credsStore: 'desktop' };
    expect(findAuth(doc, 'docker.io')).toEqual({ username: 'me', password: 'p:w' });
    expect(findAuth(doc, 'ghcr.io')).toEqual({ username: 'gh', password: 'tok' });
    expect(findAuth(doc, 'quay.io')).toBeUndefined();
    expect(() => findAuth({ auths: { x: { auth: btoa('nocolon') } } }, 'x')).toThrow(/not user:password/);
    const { doc: next } = withAuth(doc, 'ghcr.io', { username: 'n', password: 'q' });
    expect(next).toEqual({ auths: { 'https://index.docker.io/v1/': { auth: btoa('me:p:w') }, 'ghcr.io': { auth: btoa('n:q') } }, credsStore: 'desktop' });
  });
  it('skiff\'s file is written 0600 (even over a laxer one) and read before Docker\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-creds-'));
    const file = join(dir, 'auth.json');
    writeFileSync(file, '{"auths":{}}');
    chmodSync(file, 0o644);
    const store = fileCredentials(file);
    await store.set!('localhost:5000', { username: 'u', password: 's3' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: { 'localhost:5000': { auth: btoa('u:s3') } } });
    writeFileSync(join(dir, 'docker.json'), JSON.stringify({ auths: { 'localhost:5000': { auth: btoa('docker:d') }, 'other:1': { auth: btoa('o:p') } } }));
    const chain = nodeCredentials(dir, join(dir, 'docker.json'));
    expect(await chain.get('localhost:5000')).toEqual({ username: 'u', password: 's3' });
    expect(await chain.get('other:1')).toEqual({ username: 'o', password: 'p' });
    expect(await chain.delete!('localhost:5000')).toBe(true);
    expect(await chain.get('localhost:5000')).toEqual({ username: 'docker', password: 'd' });
    expect(await chain.delete!('localhost:5000')).toBe(false);
  });
});

describe('retries and platform choice', () => {
  it('retries 429 and 5xx but not 501 or 4xx; honours Retry-After', () => {
    expect([429, 500, 502, 503, 504, 408].every(retryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 501].some(retryableStatus)).toBe(false);
    const p = { attempts: 5, baseMs: 100, maxMs: 1000 };
    expect(backoffMs(p, 1, '2')).toBe(2000);
    expect(backoffMs(p, 1, null, () => 0)).toBe(50);
    expect(backoffMs(p, 10, null, () => 1)).toBe(1000);
  });
  it('chooses linux/386, then wasi/wasm, then a Wasm artifact; lists the offer otherwise', () => {
    const d = (platform: object | undefined, extra: object = {}) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(Math.random()).slice(2).padEnd(64, '0').slice(0, 64)}`, size: 1, ...(platform ? { platform } : {}), ...extra });
    const amd = d({ os: 'linux', architecture: 'amd64' });
    const arm = d({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    const i386 = d({ os: 'linux', architecture: '386' });
    const wasi = d({ os: 'wasi', architecture: 'wasm' });
    const att = d({ os: 'unknown', architecture: 'unknown' });
    const art = d(undefined, { artifactType: 'application/vnd.wasm.config.v0+json' });
    const idx = (...m: object[]) => parseIndex({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: m });
    expect(chooseFromIndex(idx(amd, wasi, i386, att), 'x').digest).toBe(i386.digest);
    expect(chooseFromIndex(idx(amd, wasi), 'x').digest).toBe(wasi.digest);
    expect(chooseFromIndex(idx(amd, art), 'x').digest).toBe(art.digest);
    expect(() => chooseFromIndex(idx(amd, arm, att), 'alpine:latest')).toThrow('alpine:latest offers linux/amd64, linux/arm64; skiff runs linux/386 and wasi/wasm (choose one with --platform)');
    expect(chooseFromIndex(idx(amd, arm, i386), 'x', { os: 'linux', architecture: 'arm64' }).digest).toBe(arm.digest);
  });
});

describe('RegistryClient over a scripted fetch', () => {
  it('retries a dropped connection and 503s, gives up after its attempts with the registry named', async () => {
    let calls = 0;
    const fetchFn = (async (url: string) => {
      calls++;
      if (String(url).endsWith('/v2/')) return new Response('{}', { status: 200 });
      if (calls < 4) throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
      return new Response('{}', { status: 503 });
    }) as typeof fetch;
    const c = new RegistryClient({ fetch: fetchFn, retry: { attempts: 5, baseMs: 0, maxMs: 0 }, sleep: async () => {} });
    const res = await c.request({ domain: 'reg.example', scopes: [], path: '/v2/a/manifests/1' });
    expect(res.status).toBe(503);
    expect(calls).toBe(6); // ping + 5 tries
    const down = new RegistryClient({ fetch: (async () => { throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }) }); }) as typeof fetch, retry: { attempts: 2, baseMs: 0, maxMs: 0 }, sleep: async () => {} });
    await expect(down.request({ domain: 'reg.example', scopes: [], path: '/v2/' })).rejects.toThrow('cannot reach registry reg.example: connect ECONNREFUSED 10.0.0.1:443');
  });
});

describe('where credentials go', () => {
  const basicRegistry = (seen: Array<{ url: string; auth: string | null }>, location: string) => (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const auth = new Headers(init?.headers).get('authorization');
    seen.push({ url, auth });
    if (url.endsWith('/v2/') && !auth) return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } });
    if (url.includes('/blobs/uploads/') && init?.method === 'POST') return new Response('', { status: 202, headers: { location } });
    return new Response('', { status: 201 });
  }) as typeof fetch;

  it('an upload Location on another host gets no Authorization header', async () => {
    const seen: Array<{ url: string; auth: string | null }> = [];
    const c = new RegistryClient({ fetch: basicRegistry(seen, 'https://evil.example/steal?x=1'), credentials: memoryCredentials({ 'reg.example': { username: 'u', password: 'secret' } }) });
    const post = await c.request({ domain: 'reg.example', scopes: [], method: 'POST', path: '/v2/a/blobs/uploads/' });
    expect(post.status).toBe(202);
    await c.request({ domain: 'reg.example', scopes: [], method: 'PUT', path: new URL(post.headers.get('location')!).href });
    expect(seen.find((s) => s.url.startsWith('https://evil.example/'))).toEqual({ url: 'https://evil.example/steal?x=1', auth: null });
    expect(seen.find((s) => s.url.endsWith('/blobs/uploads/'))?.auth).toBe(`Basic ${btoa('u:secret')}`);
  });

  it('a password is not sent to a plain-HTTP token service of an HTTPS registry', async () => {
    const seen: string[] = [];
    const fetchFn = (async (input: string | URL | Request) => {
      seen.push(String(input));
      return new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="http://auth.example/token",service="s"' } });
    }) as typeof fetch;
    const c = new RegistryClient({ fetch: fetchFn, credentials: memoryCredentials({ 'reg.example': { username: 'u', password: 'secret' } }) });
    await expect(c.request({ domain: 'reg.example', scopes: [], path: '/v2/a/manifests/1' })).rejects.toThrow('its token service http://auth.example is not HTTPS; credentials are not sent over plain HTTP');
    expect(seen.some((u) => u.startsWith('http://auth.example'))).toBe(false);
  });
});

describe('progress across a boundary', () => {
  it('waits for callbacks in flight, and sends byte counts at most every interval per layer', async () => {
    const { progressEmitter } = await import('../../src/registry/progress.ts');
    const delivered: string[] = [];
    let t = 0;
    const slow = (e: { status: string; current?: number }) => new Promise<void>((r) => setTimeout(() => { delivered.push(`${e.status}${e.current ?? ''}`); r(); }, 20));
    const p = progressEmitter(slow, 100, () => t);
    p.emit({ id: 'a', status: 'Downloading', current: 1, total: 10 });
    t = 50;
    p.emit({ id: 'a', status: 'Downloading', current: 5, total: 10 }); // dropped: within 100 ms
    t = 60;
    p.emit({ id: 'a', status: 'Downloading', current: 10, total: 10 }); // the last one always goes
    p.emit({ status: 'Status: done' });
    expect(delivered).toEqual([]);
    await p.drain();
    expect(delivered.sort()).toEqual(['Downloading1', 'Downloading10', 'Status: done']);
  });
});

describe('a challenge that comes with a repository request', () => {
  it('is met even when /v2/ asked for nothing', async () => {
    const seen: Array<string | null> = [];
    const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      const auth = new Headers(init?.headers).get('authorization');
      if (url.endsWith('/v2/')) return new Response('{}', { status: 200 });
      if (url.startsWith('https://auth.example/token')) return Response.json({ token: 'tok-1', expires_in: 300 });
      seen.push(auth);
      return auth === 'Bearer tok-1' ? new Response('{}', { status: 200 }) : new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.example/token",service="s",scope="repository:a:pull"' } });
    }) as typeof fetch;
    const c = new RegistryClient({ fetch: fetchFn });
    const res = await c.request({ domain: 'reg.example', scopes: [], path: '/v2/a/manifests/1' });
    expect(res.status).toBe(200);
    expect(seen).toEqual([null, 'Bearer tok-1']);
  });
});
