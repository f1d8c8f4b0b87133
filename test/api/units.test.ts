/**
 * The API's sans-IO parts: routing and versions, the create body's mapping and its 400s naming
 * fields, stream framing (re-chunked), log lines, `ps` parsing, and where `serve` may listen.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logLines, nanoTime } from '../../src/api/container-streams.ts';
import { parseTop } from '../../src/api/containers.ts';
import { createOptions } from '../../src/api/create-body.ts';
import { withoutOwnPs } from '../../src/cli/present/top.ts';
import { errorResponse } from '../../src/api/errors.ts';
import { registryAuth } from '../../src/api/images.ts';
import { listenOn, parseListenAddress } from '../../src/api/listen.ts';
import { Router } from '../../src/api/router.ts';
import { frame, FrameReader } from '../../src/api/stream.ts';
import { SkiffError } from '../../src/errors.ts';

const noop = async () => {};

describe('router', () => {
  const r = new Router().add('GET /containers/{id}/json', noop).add('GET /images/{name*}/json', noop).add('POST /containers/{id}/start', noop);

  it('strips the version prefix within 1.24..1.43 and refuses others', () => {
    expect(Router.version('/v1.43/info')).toEqual({ path: '/info', version: '1.43' });
    expect(Router.version('/v1.24/info').version).toBe('1.24');
    expect(Router.version('/info')).toEqual({ path: '/info', version: '1.43' });
    expect(() => Router.version('/v1.44/info')).toThrow(/too new. Maximum supported API version is 1.43/);
    expect(() => Router.version('/v1.23/info')).toThrow(/too old/);
  });

  it('matches parameters (image names keep their slashes), HEAD by GET', () => {
    expect(r.match('GET', '/containers/abc/json').params).toEqual({ id: 'abc' });
    expect(r.match('GET', '/images/localhost:5000/a/b:1/json').params).toEqual({ name: 'localhost:5000/a/b:1' });
    expect(r.match('HEAD', '/containers/abc/json').params).toEqual({ id: 'abc' });
  });

  it('501 names an endpoint Docker has and skiff does not; 404 for paths Docker does not have', () => {
    const status = (m: string, p: string) => { try { r.match(m, p); return 0; } catch (e) { return errorResponse(e); } };
    expect(status('POST', '/swarm/init')).toEqual({ status: 501, message: 'skiff does not implement POST /swarm/init' });
    expect(status('DELETE', '/containers/abc/start')).toEqual({ status: 501, message: 'skiff does not implement DELETE /containers/abc/start' });
    expect(status('GET', '/nothing')).toEqual({ status: 404, message: 'page not found' });
  });

  it('maps engine errors to Docker statuses', () => {
    expect(errorResponse(new SkiffError('NOT_FOUND', 'No such container: x')).status).toBe(404);
    expect(errorResponse(new SkiffError('CONFLICT', 'in use')).status).toBe(409);
    expect(errorResponse(new SkiffError('INVALID_ARGUMENT', 'bad')).status).toBe(400);
    expect(errorResponse(new Error('boom'))).toEqual({ status: 500, message: 'boom' });
  });
});

describe('create body', () => {
  it('maps Config and HostConfig onto the engine\'s run options', () => {
    const o = createOptions({
      Image: 'skiff/busybox', Cmd: ['sh', '-c', 'true'], Entrypoint: '', Env: ['A=1'], Tty: true, OpenStdin: true, StdinOnce: true, Labels: { k: 'v' },
      Volumes: { '/anon': {} },
      HostConfig: {
        Binds: ['data:/data:ro', '/host:/h'], Tmpfs: { '/t': 'size=1m' }, Memory: 67108864, PidsLimit: 50, NanoCpus: 500000000, AutoRemove: true,
        Mounts: [{ Type: 'volume', Source: 'v2', Target: '/v2' }, { Type: 'tmpfs', Target: '/t2', TmpfsOptions: { SizeBytes: 1024 } }],
        NetworkMode: 'none', PortBindings: { '80/tcp': [{ HostPort: '8080' }] }, ConsoleSize: [30, 100],
      },
    }, '/named');
    expect(o).toMatchObject({ image: 'skiff/busybox', tty: true, openStdin: true });
    expect(o.run).toMatchObject({ cmd: ['sh', '-c', 'true'], entrypoint: [], env: ['A=1'], memory: 67108864, pidsLimit: 50, cpus: 500000000, rm: true, name: 'named', labels: { k: 'v' } });
    expect(o.run!.volumes!.map((v) => v.destination)).toEqual(['/data', '/h', '/v2', '/anon']);
    expect(o.run!.tmpfs!.map((t) => t.destination)).toEqual(['/t', '/t2']);
    expect(o.runtimeData!['dockerApi']).toMatchObject({ networkMode: 'none', portBindings: { '80/tcp': [{ HostPort: '8080' }] }, consoleSize: { rows: 30, cols: 100 }, stdinOnce: true, restartPolicy: { Name: 'no' } });
  });

  it('400s name the field', () => {
    const msg = (body: unknown) => { try { createOptions(body as Record<string, unknown>, undefined); return ''; } catch (e) { return `${errorResponse(e).status} ${errorResponse(e).message}`; } };
    expect(msg({ Image: 'x', HostConfig: { Memory: '1g' } })).toMatch(/^400 .*HostConfig\.Memory/);
    expect(msg({ Image: 'x', Env: 'A=1' })).toMatch(/^400 .*Config\.Env/);
    expect(msg({ Image: 'x', HostConfig: { Mounts: [{ Type: 'bind', Target: '/x' }] } })).toMatch(/^400 .*HostConfig\.Mounts\[0\]\.Source/);
    expect(msg({ Image: 'x', HostConfig: { Mounts: [{ Type: 'npipe', Target: '/x' }] } })).toMatch(/^400 .*HostConfig\.Mounts\[0\]\.Type/);
    expect(msg({ Image: 'x', HostConfig: { RestartPolicy: { Name: 'sometimes' } } })).toMatch(/^400 .*RestartPolicy\.Name/);
    expect(msg({ Cmd: ['true'] })).toMatch(/^400 .*Image/);
    expect(msg([1])).toMatch(/^400 /);
    expect(msg({ Image: 'x', HostConfig: { Binds: ['relative:/x:zz'] } })).toMatch(/^400 /);
    expect(msg({ Image: 'x', ExposedPorts: { '80/icmp': {} } })).toBe('400 invalid value for field Config.ExposedPorts: invalid protocol "icmp" for --expose: 80/icmp (tcp, udp or sctp)');
    expect(msg({ Image: 'x', ExposedPorts: { 'http': {} } })).toBe('400 invalid value for field Config.ExposedPorts: "http" is not a port ("80/tcp")');
  });

  it('Config.Volumes under a bind or mount of the same destination is no second mount (docker-compose v1 sends both)', () => {
    const o = createOptions({ Image: 'x', Volumes: { '/www': {}, '/data/': {}, '/anon': {} }, HostConfig: { Binds: ['site:/www:rw'], Mounts: [{ Type: 'volume', Source: 'dd', Target: '/data' }] } }, undefined);
    expect(o.run!.volumes!.map((v) => [v.type === 'volume' ? v.name ?? '' : v.source, v.destination])).toEqual([['site', '/www'], ['dd', '/data'], ['', '/anon']]);
  });

  it('Config.ExposedPorts (docker run --expose and -p) become the exposed ports', () => {
    const o = createOptions({ Image: 'x', ExposedPorts: { '5432/tcp': {}, '53/udp': {}, '7/sctp': {} } }, undefined);
    expect(o.run!.expose).toEqual(['5432/tcp', '53/udp', '7/sctp']);
  });
});

describe('stream framing', () => {
  it('frames stdout/stderr with 8-byte headers and reads them back at any chunking', () => {
    const enc = new TextEncoder();
    const bytes = new Uint8Array([...frame('stdout', enc.encode('hello\n')), ...frame('stderr', enc.encode('oops')), ...frame('stdout', new Uint8Array(7000).fill(97))]);
    expect([...bytes.subarray(0, 8)]).toEqual([1, 0, 0, 0, 0, 0, 0, 6]);
    for (const width of [1, 3, 7, 8, 9, 4096, bytes.length]) {
      const r = new FrameReader();
      const got: string[] = [];
      for (let o = 0; o < bytes.length; o += width) for (const f of r.push(bytes.subarray(o, o + width))) got.push(`${f.kind}:${f.data.length}`);
      expect(got).toEqual(['stdout:6', 'stderr:4', 'stdout:7000']);
    }
  });

  it('splits log chunks into lines; timestamps with nanoseconds', () => {
    const enc = new TextEncoder();
    const lines = logLines([{ time: '2026-01-01T00:00:00.123Z', stream: 'stdout', data: enc.encode('a\nb\nc') }]);
    expect(lines.map((l) => new TextDecoder().decode(l.data))).toEqual(['a\n', 'b\n', 'c']);
    expect(nanoTime('2026-01-01T00:00:00.123Z')).toBe('2026-01-01T00:00:00.123000000Z');
    expect(nanoTime('2026-01-01T00:00:00Z')).toBe('2026-01-01T00:00:00.000000000Z');
  });

  it('parses ps output as top\'s Titles and Processes', () => {
    expect(parseTop('PID   USER     TIME  COMMAND\n    1 root      0:00 sleep 100\n')).toEqual({ Titles: ['PID', 'USER', 'TIME', 'COMMAND'], Processes: [['1', 'root', '0:00', 'sleep 100']] });
  });

  it('X-Registry-Auth: base64url JSON, username/password or auth; "{}" is no login; garbage is a 400', () => {
    const h = (v: string) => ({ headers: { 'x-registry-auth': v } });
    const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(registryAuth(h(b64url({ username: 'al?ce>', password: 'p~w', serveraddress: 'r:5000' })))).toEqual({ username: 'al?ce>', password: 'p~w' });
    expect(registryAuth(h(Buffer.from(JSON.stringify({ username: 'a', password: 'b' })).toString('base64')))).toEqual({ username: 'a', password: 'b' });
    expect(registryAuth(h(b64url({ auth: Buffer.from('bob:s:e').toString('base64') })))).toEqual({ username: 'bob', password: 's:e' });
    expect(registryAuth(h('e30='))).toBeUndefined();
    expect(registryAuth({ headers: {} })).toBeUndefined();
    expect(() => registryAuth(h('%%%'))).toThrow(/X-Registry-Auth/);
  });

  it('top leaves out the ps that listed the processes (Docker runs it on the host, where it is not in the container)', () => {
    const ps = 'PID   USER     COMMAND\n    1 root     sh -c ps -ef; sleep 1d\n    7 root     ps -ef\n   12 root     ps -ef\n';
    expect(withoutOwnPs(ps, ['ps', '-ef'])).toBe('PID   USER     COMMAND\n    1 root     sh -c ps -ef; sleep 1d\n    7 root     ps -ef\n');
    expect(withoutOwnPs('PID COMMAND\n  1 sleep 9\n', ['ps', '-o', 'pid,comm'])).toBe('PID COMMAND\n  1 sleep 9\n');
  });
});

describe('where serve listens', () => {
  it('TCP on loopback only', () => {
    expect(parseListenAddress('tcp://127.0.0.1:2375')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
    expect(parseListenAddress('tcp://[::1]:2375')).toEqual({ kind: 'tcp', host: '::1', port: 2375 });
    expect(() => parseListenAddress('tcp://0.0.0.0:2375')).toThrow(/loopback only/);
    expect(() => parseListenAddress('tcp://192.168.1.5:2375')).toThrow(/loopback only/);
    expect(() => parseListenAddress('unix://relative.sock')).toThrow(/absolute/);
    expect(parseListenAddress('unix:///run/x.sock')).toEqual({ kind: 'unix', path: '/run/x.sock' });
  });

  it('a Unix socket: mode 0600, never replacing a file or a live server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-listen-'));
    const path = join(dir, 'sub', 'docker.sock');
    const a = createServer();
    const b = createServer();
    try {
      expect(await listenOn(a, { kind: 'unix', path })).toBe(`unix://${path}`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
      await expect(listenOn(b, { kind: 'unix', path })).rejects.toThrow(/another server is listening/);
      writeFileSync(join(dir, 'file.sock'), 'not a socket');
      await expect(listenOn(b, { kind: 'unix', path: join(dir, 'file.sock') })).rejects.toThrow(/not a socket/);
    } finally {
      a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
