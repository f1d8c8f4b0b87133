/**
 * docker push and docker pull through the API against the real registry (Debian's
 * docker-registry on loopback): what `POST /images/{name}/push` and `POST /images/create` stream.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireTool } from '../helpers/peers.ts';
import { startRegistry, startTokenServer, type Running, type TokenServer } from '../registry/servers.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
let dir: string;
let serve: ChildProcess;
let reg: Running;
let tok: TokenServer;
let authReg: Running;
let docker: string;

function d(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return dIn(undefined, ...args);
}

function dIn(input: string | undefined, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return dConfig(join(dir, 'docker-config'), input, ...args);
}

function dConfig(config: string, input: string | undefined, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(docker, args, { env: { ...process.env, DOCKER_HOST: `unix://${join(dir, 'home', 'docker.sock')}`, DOCKER_CONFIG: config }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

beforeAll(async () => {
  docker = requireTool('docker', 'docker.io');
  reg = await startRegistry();
  tok = await startTokenServer();
  tok.users.set('alice', 'alice-secret');
  authReg = await startRegistry({ token: { realm: tok.realm, service: tok.service, issuer: tok.issuer, certFile: tok.certFile } });
  dir = mkdtempSync(join(tmpdir(), 'skiff-api-reg-'));
  // One user's Docker config for both, as ~/.docker/config.json is: the client writes logins there, skiff reads them.
  serve = spawn(process.execPath, [bin, 'system', 'serve'], { env: { ...process.env, SKIFF_HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker-config') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    serve.stdout!.on('data', (c: Buffer) => { said += c.toString(); if (said.includes('Serving')) resolve(); });
    serve.stderr!.on('data', (c: Buffer) => (said += c.toString()));
    serve.on('exit', (code) => reject(new Error(`skiff system serve exited (${code}): ${said}`)));
  });
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve.once('exit', r));
    serve.kill('SIGTERM');
    await exited;
  }
  await reg?.stop();
  await authReg?.stop();
  await tok?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('docker push, rmi, pull, run against the loopback registry', async () => {
  const ref = `${reg.host}/api/busybox:1`;
  expect((await d('tag', 'skiff/busybox', ref)).code).toBe(0);
  const pushed = await d('push', ref);
  expect(pushed.stderr).toBe('');
  expect(pushed.code).toBe(0);
  expect((await d('rmi', ref)).code).toBe(0);
  expect((await d('images', '--format', '{{.Repository}}')).stdout).not.toContain(`${reg.host}/api/busybox`);
  const pulled = await d('pull', ref);
  expect(pulled.code).toBe(0);
  expect((await d('run', '--rm', ref, 'echo', 'pulled')).stdout).toBe('pulled\n');
  // docker run of an image that is not here: create says 404, the client pulls, creates again.
  expect((await d('rmi', ref)).code).toBe(0);
  const implicit = await d('run', '--rm', ref, 'echo', 'implicit');
  expect(implicit.stdout).toBe('implicit\n');
  expect(implicit.stderr).toContain(`Unable to find image '${ref}' locally`);
  const missing = await d('pull', `${reg.host}/api/nosuch:1`);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/not found|unknown/i);
}, 180_000);

it('docker login: the credentials are checked against the registry (a wrong one named), the client keeps them, push uses them', async () => {
  const ref = `${authReg.host}/team/box:1`;
  expect((await d('tag', 'skiff/busybox', ref)).code).toBe(0);
  const denied = await d('push', ref);
  expect(denied.code).toBe(1);
  const wrong = await dIn('not-her-password\n', 'login', '-u', 'alice', '--password-stdin', authReg.host);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/unauthorized: incorrect username or password/);
  const ok = await dIn('alice-secret\n', 'login', '-u', 'alice', '--password-stdin', authReg.host);
  expect(ok.stdout).toContain('Login Succeeded');
  expect(ok.code).toBe(0);
  // Nothing kept by skiff itself: `docker logout` is the client's alone.
  expect(existsSync(join(dir, 'home', 'auth.json'))).toBe(false);
  const pushed = await d('push', ref);
  expect(pushed.stderr).toBe('');
  expect(pushed.code).toBe(0);
}, 180_000);

it('docker push and pull with a login only the client has (its own DOCKER_CONFIG): X-Registry-Auth carries it', async () => {
  const own = join(dir, 'client-only-config');
  const ref = `${authReg.host}/solo/box:1`;
  expect((await d('tag', 'skiff/busybox', ref)).code).toBe(0);
  const ok = await dConfig(own, 'alice-secret\n', 'login', '-u', 'alice', '--password-stdin', authReg.host);
  expect(ok.code).toBe(0);
  // The serving process reads another config.json, where alice is not logged in to this registry...
  const pushed = await dConfig(own, undefined, 'push', ref);
  expect(pushed.stderr).toBe('');
  expect(pushed.code).toBe(0);
  expect((await d('rmi', ref)).code).toBe(0);
  const pulled = await dConfig(own, undefined, 'pull', ref);
  expect(pulled.code).toBe(0);
  // ...and without the client's login the registry still says no.
  expect((await dConfig(join(dir, 'nobody-config'), undefined, 'push', `${authReg.host}/solo/other:1`)).code).not.toBe(0);
}, 180_000);
