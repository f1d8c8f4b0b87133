/**
 * The real `skiff` bin against docker-registry: pull (progress lines, -q), run pulling a missing
 * image (and --pull never refusing to), push, and login/logout against a token-auth registry with
 * the credentials written 0600 under $SKIFF_HOME, or read from Docker's config.json.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLayouts, DIST, wasmIndexLayout, type Layouts } from './fixtures.ts';
import { skopeoCopy, skopeoInspect, startRegistry, startTokenServer, type Running, type TokenServer } from './servers.ts';

const HELLO_DIGEST = 'sha256:74b06934ada51674219d2c2a4857ce7da179894a02437c8919610749b708bb64';
const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
let dir: string;
let reg: Running;
let tok: TokenServer;
let authReg: Running;
let wasmIndex: ReturnType<typeof wasmIndexLayout>;
let layouts: Layouts;

interface Result { code: number; stdout: string; stderr: string }

function skiff(home: string, args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home, DOCKER_CONFIG: join(dir, 'no-docker'), ...o.env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr });
    });
    child.stdin!.end(o.input ?? '');
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-registry-cli-'));
  reg = await startRegistry();
  for (const repo of ['seed/hello', 'seed/hello2', 'seed/hello3', 'seed/tags']) skopeoCopy(`oci-archive:${DIST}/hello-wasm.tar`, `docker://${reg.host}/${repo}:latest`);
  skopeoCopy(`oci-archive:${DIST}/hello-wasm.tar`, `docker://${reg.host}/seed/tags:v1`);
  wasmIndex = wasmIndexLayout();
  skopeoCopy(`oci:${wasmIndex.dir}:latest`, `docker://${reg.host}/seed/index:latest`, ['--all']);
  layouts = buildLayouts();
  skopeoCopy(`oci:${layouts.layered}:latest`, `docker://${reg.host}/seed/layered:latest`);
  tok = await startTokenServer();
  tok.users.set('alice', 'alice-secret');
  authReg = await startRegistry({ token: { realm: tok.realm, service: tok.service, issuer: tok.issuer, certFile: tok.certFile } });
}, 60_000);
afterAll(async () => {
  await reg?.stop();
  await authReg?.stop();
  await tok?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('skiff pull, push, run --pull, login, logout', () => {
  it('pull prints Docker\'s lines and the reference; -q only the reference', async () => {
    const home = join(dir, 'h1');
    const r = await skiff(home, ['pull', `${reg.host}/seed/hello`]);
    expect(r.code).toBe(0);
    const id = 'sha256:918950d96c25c55b65678ff774d985234cf9bece7c3b5e54bc1697ceb1a1cd61'.slice(7, 19);
    expect(r.stdout).toBe(`latest: Pulling from seed/hello\n${id}: Pull complete\nDigest: ${HELLO_DIGEST}\nStatus: Downloaded newer image for ${reg.host}/seed/hello:latest\n${reg.host}/seed/hello:latest\n`);
    const again = await skiff(home, ['pull', `${reg.host}/seed/hello`]);
    expect(again.stdout).toContain(`Status: Image is up to date for ${reg.host}/seed/hello:latest\n`);
    expect(await skiff(home, ['pull', '-q', `${reg.host}/seed/hello@${HELLO_DIGEST}`])).toMatchObject({ code: 0, stdout: `${reg.host}/seed/hello@${HELLO_DIGEST}\n` });
    const images = await skiff(home, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.Platform}}']);
    expect(images.stdout).toBe(`${reg.host}/seed/hello:latest wasi/wasm\n`);
    const missing = await skiff(home, ['pull', `${reg.host}/seed/nope:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: pulling .*seed\/nope:1: manifest for .*seed\/nope:1 not found: manifest unknown\n$/);
  }, 60_000);

  it('on a terminal, a bar per layer redrawn in place under the done lines, as Docker draws', async () => {
    const home = join(dir, 'h10');
    // `script` gives the pull a pseudo-terminal; what it drew comes back raw.
    const raw = await new Promise<string>((resolve, reject) => {
      execFile('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} pull ${reg.host}/seed/layered`, '/dev/null'],
        { env: { ...process.env, SKIFF_HOME: home, DOCKER_CONFIG: join(dir, 'no-docker') } }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    const ids = layouts.layeredLayers.map((d) => d.slice(7, 19));
    // The three layers' rows, drawn as one block...
    expect(raw).toContain(`${ids[0]}: Pulling fs layer\r\r\n${ids[1]}: Pulling fs layer\r\r\n${ids[2]}: Pulling fs layer`);
    // ... redrawn from its first line (up two lines, erase down) ...
    expect(raw).toContain('\r\x1b[2A\x1b[J');
    // ... and each layer's line once it is done, in the order they finish.
    const done = [...raw.matchAll(/([0-9a-f]{12}): Pull complete/g)].map((m) => m[1]);
    expect(done.sort()).toEqual([...ids].sort());
    expect(raw).toContain(`Status: Downloaded newer image for ${reg.host}/seed/layered:latest`);
  }, 60_000);

  it('pull -a pulls every tag of the repository', async () => {
    const home = join(dir, 'h7');
    const r = await skiff(home, ['pull', '-a', '-q', `${reg.host}/seed/tags`]);
    expect(r).toMatchObject({ code: 0, stdout: `${reg.host}/seed/tags:latest\n${reg.host}/seed/tags:v1\n` });
    const tagged = await skiff(home, ['pull', '-a', `${reg.host}/seed/tags:v1`]);
    expect(tagged).toMatchObject({ code: 1, stderr: "Error: tag can't be used with --all-tags/-a\n" });
  }, 60_000);

  it('run pulls a missing image (stderr says so); --pull never does not', async () => {
    const home = join(dir, 'h2');
    const r = await skiff(home, ['run', '--rm', `${reg.host}/seed/hello2`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Unable to find image '${reg.host}/seed/hello2:latest' locally\nlatest: Pulling from seed/hello2\n`);
    expect(r.stdout).toContain('GREETING=hello from skiff');
    const never = await skiff(home, ['run', '--rm', '--pull', 'never', `${reg.host}/seed/hello3`]);
    expect(never.code).toBe(125);
    expect(never.stderr).toContain(`No such image: ${reg.host}/seed/hello3`);
    const bad = await skiff(home, ['create', '--pull', 'sometimes', `${reg.host}/seed/hello3`]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid pull option');
    // Present: no pull (nothing printed about one).
    const present = await skiff(home, ['create', `${reg.host}/seed/hello2`]);
    expect(present).toMatchObject({ code: 0, stderr: '' });
    // --pull always asks the registry even so.
    const always = await skiff(home, ['create', '--pull', 'always', `${reg.host}/seed/hello2`]);
    expect(always.code).toBe(0);
    expect(always.stderr).toBe(`latest: Pulling from seed/hello2\nDigest: ${HELLO_DIGEST}\nStatus: Image is up to date for ${reg.host}/seed/hello2:latest\n`);
  }, 60_000);

  it('run by an index\'s digest runs the platform manifest it pulled (wasi/wasm out of amd64 + wasm)', async () => {
    const home = join(dir, 'h8');
    const r = await skiff(home, ['run', '--rm', `${reg.host}/seed/index@${wasmIndex.indexDigest}`]);
    expect(r.stderr).toContain(`Digest: ${wasmIndex.indexDigest}`);
    expect(r.stdout).toContain('GREETING=hello from skiff');
    expect(r.code).toBe(0);
    const c = await skiff(home, ['create', `${reg.host}/seed/index@${wasmIndex.indexDigest}`]);
    expect(c.code).toBe(0);
    const ps = await skiff(home, ['ps', '-a', '--format', '{{.Image}}']);
    expect(ps.stdout).toBe(`${reg.host}/seed/index@${wasmIndex.wasmManifest}\n`);
  }, 60_000);

  it('push prints the digest skopeo sees', async () => {
    const home = join(dir, 'h3');
    expect((await skiff(home, ['tag', 'skiff/hello-wasm', `${reg.host}/cli/hello:1`])).code).toBe(0);
    const r = await skiff(home, ['push', `${reg.host}/cli/hello:1`]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`The push refers to repository [${reg.host}/cli/hello]`);
    expect(r.stdout).toContain(`1: digest: ${HELLO_DIGEST} size: 456\n`);
    expect(JSON.parse(skopeoInspect(`${reg.host}/cli/hello:1`)).Digest).toBe(HELLO_DIGEST);
  }, 60_000);

  it('login checks and stores credentials 0600; push uses them; logout removes them; Docker\'s config.json is read', async () => {
    const home = join(dir, 'h4');
    expect((await skiff(home, ['tag', 'skiff/hello-wasm', `${authReg.host}/team/app:1`])).code).toBe(0);
    const denied = await skiff(home, ['push', `${authReg.host}/team/app:1`]);
    expect(denied.code).toBe(1);
    const wrong = await skiff(home, ['login', '-u', 'alice', '--password-stdin', authReg.host], { input: 'not-her-password\n' });
    expect(wrong).toMatchObject({ code: 1, stderr: `Error: registry ${authReg.host}: unauthorized: incorrect username or password\n` });
    const ok = await skiff(home, ['login', '-u', 'alice', '--password-stdin', authReg.host], { input: 'alice-secret\n' });
    expect(ok).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    const file = join(home, 'auth.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: { [authReg.host]: { auth: Buffer.from('alice:alice-secret').toString('base64') } } });
    const pushed = await skiff(home, ['push', `${authReg.host}/team/app:1`]);
    expect(pushed.code).toBe(0);
    expect(pushed.stdout + pushed.stderr).not.toContain('alice-secret');
    expect(await skiff(home, ['logout', authReg.host])).toMatchObject({ code: 0, stdout: `Removing login credentials for ${authReg.host}\n` });
    expect(await skiff(home, ['logout', authReg.host])).toMatchObject({ code: 0, stdout: `Not logged in to ${authReg.host}\n` });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: {} });
    // Docker's own file, as `docker login` writes it.
    const docker = join(dir, 'docker');
    mkdirSync(docker, { recursive: true });
    writeFileSync(join(docker, 'config.json'), JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from('alice:alice-secret').toString('base64') } } }));
    expect((await skiff(home, ['tag', 'skiff/hello-wasm', `${authReg.host}/team/app:2`])).code).toBe(0);
    const viaDocker = await skiff(home, ['push', '-q', `${authReg.host}/team/app:2`], { env: { DOCKER_CONFIG: docker } });
    expect(viaDocker).toMatchObject({ code: 0, stdout: `${authReg.host}/team/app:2\n` });
  }, 60_000);
});

describe('htpasswd Basic auth over TLS (a test CA through NODE_EXTRA_CA_CERTS)', () => {
  it('login, push, pull back; without the CA the certificate error is named', async () => {
    const { makeHtpasswd, makeTls } = await import('./servers.ts');
    const tlsDir = join(dir, 'tls');
    mkdirSync(tlsDir);
    const tls = makeTls(tlsDir);
    makeHtpasswd(join(tlsDir, 'htpasswd'), { carol: 'carols-secret' });
    const basic = await startRegistry({ tls: { certFile: tls.certFile, keyFile: tls.keyFile }, htpasswd: join(tlsDir, 'htpasswd') });
    try {
      const env = { NODE_EXTRA_CA_CERTS: tls.caFile };
      const home = join(dir, 'h5');
      const noCa = await skiff(home, ['pull', `${basic.host}/x/y:1`]);
      expect(noCa.code).toBe(1);
      expect(noCa.stderr).toMatch(/https: .*(certificate|self.signed)/i);
      expect(await skiff(home, ['login', '-u', 'carol', '--password-stdin', basic.host], { input: 'nope', env })).toMatchObject({ code: 1, stderr: `Error: registry ${basic.host}: unauthorized: incorrect username or password\n` });
      expect(await skiff(home, ['login', '-u', 'carol', '--password-stdin', basic.host], { input: 'carols-secret\n', env })).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
      expect((await skiff(home, ['tag', 'skiff/hello-wasm', `${basic.host}/carol/hello:1`], { env })).code).toBe(0);
      const pushed = await skiff(home, ['push', `${basic.host}/carol/hello:1`], { env });
      expect(pushed).toMatchObject({ code: 0 });
      expect(pushed.stdout).toContain(`1: digest: ${HELLO_DIGEST} size: 456`);
      expect((await skiff(home, ['rmi', `${basic.host}/carol/hello:1`, 'skiff/hello-wasm'], { env })).code).toBe(0);
      const pulled = await skiff(home, ['pull', '-q', `${basic.host}/carol/hello@${HELLO_DIGEST}`], { env });
      expect(pulled).toMatchObject({ code: 0, stdout: `${basic.host}/carol/hello@${HELLO_DIGEST}\n` });
      // Basic auth sends the password with every request: none of it shows in the trace of a pull,
      // in inspect, in a saved archive, or in an error.
      const secrets = ['carols-secret', Buffer.from('carol:carols-secret').toString('base64')];
      const traced = await skiff(home, ['pull', `${basic.host}/carol/hello:1`], { env: { ...env, SKIFF_TRACE: 'registry' } });
      expect(traced.code).toBe(0);
      expect(traced.stderr).toContain(`[skiff registry] GET https://${basic.host}/v2/carol/hello/manifests/1 -> 200`);
      const inspected = await skiff(home, ['image', 'inspect', `${basic.host}/carol/hello:1`], { env });
      expect(inspected.code).toBe(0);
      expect(inspected.stdout).toContain(`${basic.host}/carol/hello:1`);
      const archive = join(dir, 'carol.tar');
      expect((await skiff(home, ['save', '-o', archive, `${basic.host}/carol/hello:1`], { env })).code).toBe(0);
      const saved = readFileSync(archive).toString('latin1');
      expect(saved).toContain(`${basic.host}/carol/hello:1`);
      const missing = await skiff(home, ['pull', `${basic.host}/carol/nothing:1`], { env });
      expect(missing.code).toBe(1);
      for (const s of secrets) {
        for (const text of [traced.stdout, traced.stderr, inspected.stdout, saved, missing.stderr]) expect(text).not.toContain(s);
      }
      // Logged out: the registry refuses.
      await skiff(home, ['logout', basic.host], { env });
      const denied = await skiff(join(dir, 'h6'), ['pull', `${basic.host}/carol/hello:1`], { env });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/access denied for carol\/hello/);
    } finally {
      await basic.stop();
    }
  }, 90_000);
});

describe('insecure-registries ($SKIFF_HOME/config.json, Docker\'s daemon.json key)', () => {
  it('a plain-HTTP registry on a non-loopback address is refused until the config lists it', async () => {
    const ip = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal)?.address;
    if (!ip) throw new Error('this test needs a non-loopback IPv4 address on the machine');
    const lan = await startRegistry({ addr: ip });
    try {
      skopeoCopy(`oci-archive:${DIST}/hello-wasm.tar`, `docker://${lan.host}/seed/hello:latest`);
      const home = join(dir, 'h9');
      const https = await skiff(home, ['pull', `${lan.host}/seed/hello`]);
      expect(https.code).toBe(1);
      expect(https.stderr).toBe(`Error: pulling ${lan.host}/seed/hello:latest: cannot reach registry ${lan.host}: http: server gave HTTP response to HTTPS client; a registry served over plain HTTP must be listed in "insecure-registries" (skiff's config.json, $SKIFF_HOME/config.json on Node)\n`);
      mkdirSync(home, { recursive: true });
      writeFileSync(join(home, 'config.json'), JSON.stringify({ 'insecure-registries': [lan.host] }));
      expect(await skiff(home, ['pull', '-q', `${lan.host}/seed/hello`])).toMatchObject({ code: 0, stdout: `${lan.host}/seed/hello:latest\n` });
      // The host alone (any port) is listed as Docker allows too; a malformed list is named and ignored.
      writeFileSync(join(home, 'config.json'), JSON.stringify({ 'insecure-registries': [ip] }));
      expect(await skiff(home, ['pull', '-q', `${lan.host}/seed/hello`])).toMatchObject({ code: 0 });
      writeFileSync(join(home, 'config.json'), JSON.stringify({ 'insecure-registries': 'nope' }));
      const bad = await skiff(home, ['pull', '-q', `${lan.host}/seed/hello`]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('skiff: ignoring insecure-registries: ');
    } finally {
      await lan.stop();
    }
  }, 60_000);
});
