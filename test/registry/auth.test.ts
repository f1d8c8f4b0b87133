/**
 * The Bearer flow against the real registry configured with `auth: token`, behind a token server
 * that behaves like Docker Hub's: anonymous pulls of a public repository, authenticated pushes,
 * per-repository scopes, one token reused until it expires, Docker's errors for a bad password and
 * for a private repository, and no secret in any message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { memoryCredentials } from '../../src/registry/credentials.ts';
import { pullImage } from '../../src/registry/pull.ts';
import { pushImage } from '../../src/registry/push.ts';
import { DIST } from './fixtures.ts';
import { startRegistry, startTokenServer, type Running, type TokenServer } from './servers.ts';

const PASSWORD = 'pa55-w0rd-never-shown';
let tok: TokenServer;
let reg: Running;

function engine(): Engine {
  return new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(DIST) });
}

beforeAll(async () => {
  tok = await startTokenServer();
  reg = await startRegistry({ token: { realm: tok.realm, service: tok.service, issuer: tok.issuer, certFile: tok.certFile } });
  tok.users.set('alice', PASSWORD);
  tok.publicRepos.add('pub/hello');
}, 30_000);
afterAll(async () => {
  await reg?.stop();
  await tok?.stop();
});

describe('Bearer tokens (a Docker Hub-like token server)', () => {
  it('pushes with credentials, pulls anonymously, one token per scope reused until it expires', async () => {
    const e = engine();
    await e.resolveImage({ ref: 'skiff/hello-wasm' });
    await e.tag({ source: 'skiff/hello-wasm', target: `${reg.host}/pub/hello:1` });
    const alice = new RegistryClient({ credentials: memoryCredentials({ [reg.host]: { username: 'alice', password: PASSWORD } }) });
    tok.requests.length = 0;
    const pushed = await pushImage({ ctx: Engine.contextOf(e), client: alice, ref: `${reg.host}/pub/hello:1` });
    expect(tok.requests).toEqual([{ scopes: ['repository:pub/hello:pull,push'], user: 'alice' }]);
    expect(alice.tokenFetches).toBe(1);

    let clock = Date.now();
    const anon = new RegistryClient({ now: () => clock });
    tok.requests.length = 0;
    const fresh = engine();
    const pulled = await pullImage({ ctx: Engine.contextOf(fresh), client: anon, ref: `${reg.host}/pub/hello:1` });
    expect(pulled.image.digest).toBe(pushed.digest);
    // Manifest, config and layer requests: one token, asked for anonymously, pull only.
    expect(tok.requests).toEqual([{ scopes: ['repository:pub/hello:pull'] }]);
    await pullImage({ ctx: Engine.contextOf(engine()), client: anon, ref: `${reg.host}/pub/hello:1` });
    expect(anon.tokenFetches).toBe(1);
    // Past its expiry (300 s), a new one.
    clock += 301_000;
    await pullImage({ ctx: Engine.contextOf(engine()), client: anon, ref: `${reg.host}/pub/hello:1` });
    expect(anon.tokenFetches).toBe(2);
  });

  it('a private repository anonymously: access denied, with the way out', async () => {
    const e = engine();
    const err = await pullImage({ ctx: Engine.contextOf(e), client: new RegistryClient(), ref: `${reg.host}/priv/app:1` }).then(() => { throw new Error("expected a failure"); }, (x: unknown) => x as Error);
    expect(err).toMatchObject({ code: 'REGISTRY' });
    expect(err.message).toMatch(/access denied for priv\/app, repository does not exist or may require 'skiff login' \(HTTP 401\)/);
  });

  it('a wrong password is refused by name, and no message holds a secret', async () => {
    const e = engine();
    await e.resolveImage({ ref: 'skiff/hello-wasm' });
    await e.tag({ source: 'skiff/hello-wasm', target: `${reg.host}/priv/app:1` });
    const wrong = 'wr0ng-secret-value';
    const client = new RegistryClient({ credentials: memoryCredentials({ [reg.host]: { username: 'alice', password: wrong } }) });
    const err = await pushImage({ ctx: Engine.contextOf(e), client, ref: `${reg.host}/priv/app:1` }).then(() => { throw new Error("expected a failure"); }, (x: unknown) => x as Error);
    expect(err.message).toBe(`pushing ${reg.host}/priv/app:1: registry ${reg.host}: unauthorized: incorrect username or password`);
    const login = await client.checkLogin(reg.host, { username: 'alice', password: wrong }).then(() => { throw new Error("expected a failure"); }, (x: unknown) => x as Error);
    expect(login?.message).toMatch(/incorrect username or password/);
    await expect(new RegistryClient().checkLogin(reg.host, { username: 'alice', password: PASSWORD })).resolves.toBeUndefined();
    for (const m of [err.message, JSON.stringify(err), String(err.stack), login?.message ?? '']) {
      expect(m).not.toContain(wrong);
      expect(m).not.toContain(btoa(`alice:${wrong}`));
    }
  });
});
