/**
 * The registry proxy a page uses (npm start / npm run preview mount it at /registry-proxy/): a
 * client whose every URL is rewritten through it pulls and pushes against the real registry, the
 * token realm included; anything but the distribution API and token requests is refused.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { memoryCredentials } from '../../src/registry/credentials.ts';
import { proxyTarget, viaProxy } from '../../src/registry/proxy.ts';
import { REGISTRY_PROXY_PATH, registryProxyMiddleware } from '../../src/registry/proxy-node.ts';
import { pullImage } from '../../src/registry/pull.ts';
import { pushImage } from '../../src/registry/push.ts';
import { DIST } from './fixtures.ts';
import { skopeoCopy, startRegistry, startTokenServer, type Running, type TokenServer } from './servers.ts';

let reg: Running;
let tok: TokenServer;
let authReg: Running;
let server: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  reg = await startRegistry();
  skopeoCopy(`oci-archive:${DIST}/hello-wasm.tar`, `docker://${reg.host}/seed/hello:latest`);
  tok = await startTokenServer();
  tok.users.set('bob', 'bobs-secret');
  authReg = await startRegistry({ token: { realm: tok.realm, service: tok.service, issuer: tok.issuer, certFile: tok.certFile } });
  const mw = registryProxyMiddleware();
  // As connect mounts it: the path under the mount.
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (!req.url?.startsWith(`${REGISTRY_PROXY_PATH}/`)) return void res.writeHead(404).end();
    req.url = req.url.slice(REGISTRY_PROXY_PATH.length);
    mw(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${REGISTRY_PROXY_PATH}/`;
}, 60_000);
afterAll(async () => {
  await new Promise((r) => { server?.closeAllConnections(); server?.close(r); });
  await reg?.stop();
  await authReg?.stop();
  await tok?.stop();
});

function engine(): Engine {
  return new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(DIST) });
}

describe('registry proxy', () => {
  it('rewrites URLs and says what passes', () => {
    expect(viaProxy('http://x/registry-proxy/')('https://registry-1.docker.io/v2/library/alpine/manifests/latest')).toBe('http://x/registry-proxy/https/registry-1.docker.io/v2/library/alpine/manifests/latest');
    expect(viaProxy('http://x/p')('https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Falpine%3Apull')).toBe('http://x/p/https/auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Falpine%3Apull');
    expect(proxyTarget('/https/auth.docker.io/token?service=s', 'GET')).toEqual({ url: 'https://auth.docker.io/token?service=s', kind: 'token' });
    expect(proxyTarget('/https/h/v2/a/blobs/uploads/', 'POST')).toEqual({ url: 'https://h/v2/a/blobs/uploads/', kind: 'api' });
    expect(proxyTarget('/https/h/token?service=s', 'POST')).toHaveProperty('refused');
    expect(proxyTarget('/https/h/admin', 'GET')).toHaveProperty('refused');
    expect(proxyTarget('/https/h/v2/../admin', 'GET')).toHaveProperty('refused');
    expect(proxyTarget('/file/h/v2/', 'GET')).toHaveProperty('refused');
    expect(proxyTarget('/https/user@h/v2/', 'GET')).toHaveProperty('refused');
  });

  it('a pull through it, and a push with a token fetched through it', async () => {
    const client = new RegistryClient({ rewriteUrl: viaProxy(base) });
    const e = engine();
    const r = await pullImage({ ctx: Engine.contextOf(e), client, ref: `${reg.host}/seed/hello` });
    expect(r.platform).toBe('wasi/wasm');
    expect(seen.some((l) => l.includes(`/https/${reg.host}/v2/`))).toBe(true); // HTTPS tried first, as for any loopback registry
    expect(seen.some((l) => l.startsWith(`GET ${REGISTRY_PROXY_PATH}/http/${reg.host}/v2/seed/hello/blobs/sha256:`))).toBe(true);

    await e.resolveImage({ ref: 'skiff/hello-wasm' });
    await e.tag({ source: 'skiff/hello-wasm', target: `${authReg.host}/bob/app:1` });
    const bob = new RegistryClient({ rewriteUrl: viaProxy(base), credentials: memoryCredentials({ [authReg.host]: { username: 'bob', password: 'bobs-secret' } }) });
    seen.length = 0;
    const pushed = await pushImage({ ctx: Engine.contextOf(e), client: bob, ref: `${authReg.host}/bob/app:1` });
    expect(seen.some((l) => l.startsWith(`GET ${REGISTRY_PROXY_PATH}/http/${tok.host}/token?`))).toBe(true);
    expect(seen.some((l) => l.startsWith(`PUT ${REGISTRY_PROXY_PATH}/http/${authReg.host}/v2/bob/app/manifests/1`))).toBe(true);
    const back = await pullImage({ ctx: Engine.contextOf(engine()), client: bob, ref: `${authReg.host}/bob/app:1` });
    expect(back.image.digest).toBe(pushed.digest);
  });

  it('a registry the proxy cannot reach is the same "cannot reach" error as without it', async () => {
    const { freePort } = await import('./servers.ts');
    const port = await freePort();
    const client = new RegistryClient({ rewriteUrl: viaProxy(base), retry: { attempts: 2, baseMs: 1, maxMs: 2 } });
    const err = await pullImage({ ctx: Engine.contextOf(engine()), client, ref: `127.0.0.1:${port}/x/y:1` }).then(() => new Error('pulled'), (e: unknown) => e as Error);
    expect(err.message).toMatch(new RegExp(`^pulling 127\\.0\\.0\\.1:${port}/x/y:1: cannot reach registry 127\\.0\\.0\\.1:${port}: https: .*ECONNREFUSED.*; http: .*ECONNREFUSED`));
  });

  it('refuses anything else with 403', async () => {
    const res = await fetch(`${base}http/${reg.host}/debug/vars`);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/only the distribution API/);
    const post = await fetch(`${base}http/${tok.host}/token?service=x`, { method: 'POST' });
    expect(post.status).toBe(403);
  });
});

describe('the servers that mount it', () => {
  it('`npm start` (the vite dev server, same config as `npm run preview`) serves it at /registry-proxy/', async () => {
    const { createServer: createViteServer } = await import('vite');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const cacheDir = await mkdtemp(join(tmpdir(), 'skiff-vite-cache-'));
    const vite = await createViteServer({ configFile: join(import.meta.dirname, '../../vite.config.ts'), cacheDir, logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
    try {
      await vite.listen();
      const url = vite.resolvedUrls!.local[0]!;
      const client = new RegistryClient({ rewriteUrl: viaProxy(`${url}registry-proxy/`) });
      const r = await pullImage({ ctx: Engine.contextOf(engine()), client, ref: `${reg.host}/seed/hello` });
      expect(r.platform).toBe('wasi/wasm');
      expect((await fetch(`${url}registry-proxy/http/${reg.host}/debug/vars`)).status).toBe(403);
    } finally {
      await vite.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  }, 120_000);
});
