/**
 * The Docker Engine API driven by the real `docker` client (Debian's docker.io; its daemon is
 * never started) against `skiff system serve` in a child process over a temporary $SKIFF_HOME:
 * the request sequences docker run/logs/exec/stop/rm/ps/images/inspect/volume make, stdin, exit
 * codes, errors in Docker's words, and state shared with the skiff CLI.
 */
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/peers.ts';
import { runTool, useServe, type Result, type Served } from './serve-harness.ts';

const served = useServe();
// The harness fills `served` in beforeAll: these read it when called.
const d = (...a: string[]) => served.d(...a);
const dIn = (input: string, ...a: string[]) => served.dIn(input, ...a);
const skiff = (...a: string[]) => served.skiff(...a);
const api = (...a: Parameters<Served['api']>) => served.api(...a);

describe('skiff system serve', () => {
  it('listens on a socket only its user can use, and removes it on exit', () => {
    const st = statSync(served.sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('docker version negotiates API 1.43 with skiff', async () => {
    const r = await d('version', '--format', '{{.Server.Platform.Name}} {{.Server.APIVersion}} {{.Client.APIVersion}}');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^skiff \S+ 1\.43 1\.43$/);
  });
});

describe('docker run through the API', () => {
  it('runs the bundled WebAssembly image', async () => {
    const r = await d('run', '--rm', 'skiff/hello-wasm');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Hello from WebAssembly!');
  }, 120_000);

  it('runs busybox: output on the right streams, the exit code passed through, --rm removes it', async () => {
    const hi = await d('run', '--rm', 'skiff/busybox', 'echo', 'hi');
    expect(hi).toMatchObject({ code: 0, stdout: 'hi\n' });
    const r = await d('run', '--rm', '--name', 'streams', 'skiff/busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect((await d('ps', '-a', '--format', '{{.Names}}')).stdout).not.toContain('streams');
  }, 180_000);

  it('logs -f follows until the container exits', async () => {
    const id = (await d('run', '-d', 'skiff/busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.3; done')).stdout.trim();
    const f = await d('logs', '-f', id);
    expect(f).toMatchObject({ code: 0, stdout: 'line 1\nline 2\nline 3\n' });
    expect((await d('rm', id)).code).toBe(0);
  }, 120_000);

  it('a command that cannot start: Docker\'s exit statuses 127 and 126', async () => {
    const missing = await d('run', '--rm', 'skiff/busybox', 'nosuchcmd');
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('executable file not found in $PATH');
    expect((await d('run', '--rm', 'skiff/busybox', '/etc/passwd')).code).toBe(126);
  }, 120_000);

  it('passes stdin with -i', async () => {
    const r = await dIn('one\ntwo\n', 'run', '-i', '--rm', 'skiff/busybox', 'wc', '-l');
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout.trim()).toBe('2');
  }, 120_000);

  it('run -t on a terminal (through script(1)): a TTY in the container, raw output', async () => {
    requireTool('script', 'util-linux');
    const line = `${served.docker} run -t --rm skiff/busybox sh -c 'tty; echo $TERM'`;
    const r = await runTool('script', ['-qec', line, '/dev/null'], served.dockerEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
    expect(r.stdout).toMatch(/xterm\r*\n/);
  }, 120_000);

  it('run -d, logs, exec, top, stop, ps -a, rm', async () => {
    const started = await d('run', '-d', '--name', 'ticker', 'skiff/busybox', 'sh', '-c', 'echo first; echo warn >&2; while true; do sleep 1; done');
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // The output is there once the shell ran its first lines.
    let logs: Result | undefined;
    for (let i = 0; i < 50; i++) {
      logs = await d('logs', 'ticker');
      if (logs.stdout.includes('first') && logs.stderr.includes('warn')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(logs).toMatchObject({ code: 0, stdout: 'first\n', stderr: 'warn\n' });
    const stamped = await d('logs', '--timestamps', '--tail', '1', 'ticker');
    expect(stamped.stdout + stamped.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (first|warn)\n$/);
    expect((await d('ps', '--format', '{{.ID}} {{.Names}} {{.Status}}')).stdout).toMatch(new RegExp(`^${id.slice(0, 12)} ticker Up `, 'm'));
    const top = await d('top', 'ticker');
    expect(top.stdout).toMatch(/^PID\s+USER\s+.*COMMAND/);
    expect(top.stdout).toMatch(/^1\s+root\s+.*sh -c echo first/m);
    expect(top.stdout).not.toMatch(/ ps -ef$/m);
    const ex = await d('exec', 'ticker', 'sh', '-c', 'echo in-exec; exit 4');
    expect(ex).toMatchObject({ code: 4, stdout: 'in-exec\n' });
    // The skiff CLI sees the container the API runs.
    expect((await skiff('ps', '--format', '{{.Names}} {{.State}}')).stdout).toContain('ticker running');
    expect(await d('stop', '-t', '1', 'ticker')).toMatchObject({ code: 0, stdout: 'ticker\n' });
    const ps = await d('ps', '-a', '--filter', 'name=ticker', '--format', '{{.Names}} {{.Status}}');
    expect(ps.stdout).toMatch(/^ticker Exited \((137|143)\) /);
    expect(await d('rm', 'ticker')).toMatchObject({ code: 0, stdout: 'ticker\n' });
    expect((await d('ps', '-aq')).stdout).not.toContain(id.slice(0, 12));
  }, 180_000);

  it('records HostConfig: mounts, tmpfs, limits, restart policy, network mode', async () => {
    const c = await d('create', '--name', 'cfg', '-v', 'data:/data', '--tmpfs', '/scratch:size=1m', '-m', '64m', '--pids-limit', '50', '--cpus', '0.5',
      '--restart', 'on-failure:3', '--network', 'none', '-e', 'A=1', 'skiff/busybox', 'true');
    expect(c.code).toBe(0);
    const r = await d('inspect', '--format', '{{json .HostConfig}}|{{json .Mounts}}|{{.State.Status}}|{{.Name}}|{{json .Config.Env}}', 'cfg');
    const [host, mounts, status, name, env] = r.stdout.trim().split('|');
    expect(JSON.parse(host!)).toMatchObject({ Memory: 64 << 20, PidsLimit: 50, NanoCpus: 5e8, NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, Binds: ['data:/data'] });
    expect(JSON.parse(host!).Tmpfs['/scratch']).toContain('size=1m');
    expect(JSON.parse(mounts!)).toEqual(expect.arrayContaining([expect.objectContaining({ Type: 'volume', Name: 'data', Destination: '/data' }), expect.objectContaining({ Type: 'tmpfs', Destination: '/scratch' })]));
    expect([status, name]).toEqual(['created', '/cfg']);
    expect(JSON.parse(env!)).toContain('A=1');
    // docker ps -s asks for sizes (size=1) and lists the networks from the summary, as skiff ps shows them.
    const row = ['ps', '-a', '-s', '--filter', 'name=cfg', '--format', '{{.Networks}}|{{.Size}}'];
    const dockerRow = (await d(...row)).stdout;
    expect(dockerRow).toMatch(/^none\|0B \(virtual [\d.]+[kM]?B\)\n$/);
    expect((await skiff(...row)).stdout).toBe(dockerRow);
    // docker system df sums the lists /system/df gives: the volume counts as active while cfg uses it.
    const df = await d('system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}');
    expect(df.code).toBe(0);
    const types = Object.fromEntries(df.stdout.trim().split('\n').map((l) => { const [t, ...rest] = l.split('|'); return [t, rest]; }));
    expect(types['Local Volumes']!.slice(0, 2)).toEqual(['1', '1']);
    expect(Number(types['Images']![0])).toBeGreaterThan(0);
    expect(types['Images']![2]).toMatch(/^[\d.]+[kM]B$/);
    expect(Number(types['Containers']![0])).toBeGreaterThan(0);
    // Shared state: the skiff CLI sees and removes it; docker then does not find it.
    expect((await skiff('rm', 'cfg')).code).toBe(0);
    const gone = await d('inspect', 'cfg');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('No such object: cfg');
    expect((await d('volume', 'rm', 'data')).code).toBe(0);
  }, 120_000);
});

describe('docker run --link through the API', () => {
  it('HostConfig.Links: a legacy link to a container is recorded as Docker lists it; to no container, dockerd\'s error', async () => {
    expect((await d('create', '--name', 'lksrc', 'skiff/busybox', 'true')).code).toBe(0);
    expect((await d('create', '--name', 'lkuser', '--link', 'lksrc:db', 'skiff/busybox', 'true')).code).toBe(0);
    expect((await d('inspect', '--format', '{{json .HostConfig.Links}}', 'lkuser')).stdout).toBe('["/lksrc:/lkuser/db"]\n');
    const bad = await d('create', '--link', 'nosuch:x', 'skiff/busybox', 'true');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('could not get container for nosuch: No such container: nosuch');
    expect((await d('rm', 'lkuser', 'lksrc')).code).toBe(0);
  }, 120_000);

  it("docker run --link on the default bridge: the linked container's --expose, -p and env as Docker's legacy variables", async () => {
    expect((await d('run', '-d', '--name', 'lkenvsrc', '--expose', '5432', '-p', '127.0.0.1::8080', '-e', 'PGPASS=hunter2', 'skiff/busybox', 'sleep', '600')).code).toBe(0);
    const ip = (await d('inspect', '--format', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'lkenvsrc')).stdout.trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await d('inspect', '--format', '{{json .Config.ExposedPorts}}', 'lkenvsrc')).stdout).toBe('{"5432/tcp":{},"8080/tcp":{}}\n');
    const r = await d('run', '--rm', '--name', 'lkenvweb', '--link', 'lkenvsrc:pg-db', 'skiff/busybox', 'env');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('PG_DB_')).sort()).toEqual([
      'PG_DB_ENV_PGPASS=hunter2', 'PG_DB_NAME=/lkenvweb/pg-db', `PG_DB_PORT=tcp://${ip}:5432`,
      `PG_DB_PORT_5432_TCP=tcp://${ip}:5432`, `PG_DB_PORT_5432_TCP_ADDR=${ip}`, 'PG_DB_PORT_5432_TCP_PORT=5432', 'PG_DB_PORT_5432_TCP_PROTO=tcp',
      `PG_DB_PORT_8080_TCP=tcp://${ip}:8080`, `PG_DB_PORT_8080_TCP_ADDR=${ip}`, 'PG_DB_PORT_8080_TCP_PORT=8080', 'PG_DB_PORT_8080_TCP_PROTO=tcp',
    ]);
    // On a user network a link is an alias only: no variables.
    expect((await d('network', 'create', 'lknet')).code).toBe(0);
    expect((await d('run', '-d', '--name', 'lkusrc', '--network', 'lknet', '--expose', '80', 'skiff/busybox', 'sleep', '600')).code).toBe(0);
    const u = await d('run', '--rm', '--network', 'lknet', '--link', 'lkusrc:svc', 'skiff/busybox', 'env');
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout).not.toContain('SVC_');
    expect((await d('rm', '-f', 'lkenvsrc', 'lkusrc')).code).toBe(0);
    expect((await d('network', 'rm', 'lknet')).code).toBe(0);
  }, 300_000);
});

describe('state shared with the skiff CLI, events', () => {
  it('a container `skiff run -d` started (another process) is listed, logged and stopped through the API', async () => {
    const started = await skiff('run', '-d', '--name', 'fromcli', 'skiff/busybox', 'sh', '-c', 'echo cli-says-hi; while true; do sleep 1; done');
    expect(started.code).toBe(0);
    expect((await d('ps', '--format', '{{.Names}} {{.State}}')).stdout).toContain('fromcli running');
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('cli-says-hi'); i++) {
      logs = (await d('logs', 'fromcli')).stdout;
      if (!logs.includes('cli-says-hi')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(logs).toBe('cli-says-hi\n');
    expect(await d('exec', 'fromcli', 'echo', 'exec-across')).toMatchObject({ code: 0, stdout: 'exec-across\n' });
    expect((await d('stop', '-t', '1', 'fromcli')).code).toBe(0);
    expect((await skiff('ps', '-a', '--format', '{{.Names}} {{.State}}')).stdout).toContain('fromcli exited');
    expect((await d('rm', 'fromcli')).code).toBe(0);
  }, 120_000);

  it('docker events replays what happened through the API (since/until)', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    expect((await d('run', '--rm', '--name', 'evt', 'skiff/busybox', 'true')).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const ev = await d('events', '--since', String(t0), '--until', String(Math.ceil(Date.now() / 1000)), '--filter', 'container=evt', '--format', '{{.Action}} {{.Actor.Attributes.name}}');
    expect(ev.code).toBe(0);
    expect(ev.stdout.trim().split('\n')).toEqual(['create evt', 'attach evt', 'start evt', 'die evt', 'destroy evt']);
  }, 60_000);
});

describe('files, changes and lifecycle verbs through the API', () => {
  it('docker cp both ways (tar semantics), diff, export', async () => {
    const { mkdirSync, readFileSync, writeFileSync, existsSync } = await import('node:fs');
    const src = join(served.dir, 'cp-src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'one\n');
    writeFileSync(join(src, 'sub', 'b.txt'), 'two\n');
    expect((await d('create', '--name', 'cp', 'skiff/busybox', 'cat', '/dst/a.txt', '/dst/sub/b.txt', '/etc/f.txt')).code).toBe(0);
    // A directory to a path that does not exist: it becomes that path (as docker cp does).
    expect(await d('cp', src, 'cp:/dst')).toMatchObject({ code: 0 });
    expect(await d('cp', join(src, 'a.txt'), 'cp:/etc/f.txt')).toMatchObject({ code: 0 });
    const run = await d('start', '-a', 'cp');
    expect(run).toMatchObject({ code: 0, stdout: 'one\ntwo\none\n' });
    expect(await d('cp', 'cp:/etc/passwd', join(served.dir, 'passwd'))).toMatchObject({ code: 0 });
    expect(readFileSync(join(served.dir, 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
    expect(await d('cp', 'cp:/dst', join(served.dir, 'back'))).toMatchObject({ code: 0 });
    expect(readFileSync(join(served.dir, 'back', 'sub', 'b.txt'), 'utf8')).toBe('two\n');
    const missing = await d('cp', 'cp:/nosuch', served.dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Could not find the file /nosuch in container');
    expect(existsSync(join(served.dir, 'nosuch'))).toBe(false);
    const diff = await d('diff', 'cp');
    expect(diff.stdout).toMatch(/^A \/dst\/sub\/b\.txt$/m);
    expect(diff.stdout).toMatch(/^C \/etc$/m);
    expect(await d('export', '-o', join(served.dir, 'cp.tar'), 'cp')).toMatchObject({ code: 0 });
    const { readTar } = await import('../../src/archive/index.ts');
    const names = readTar(new Uint8Array(readFileSync(join(served.dir, 'cp.tar')))).map((e) => e.header.name);
    expect(names).toEqual(expect.arrayContaining(['dst/a.txt', 'etc/f.txt', 'bin/busybox']));
    expect((await d('rm', 'cp')).code).toBe(0);
  }, 120_000);

  it('kill, restart, wait, container prune', async () => {
    expect((await d('run', '-d', '--name', 'lc', 'skiff/busybox', 'sleep', '1000')).code).toBe(0);
    expect(await d('kill', '--signal', 'KILL', 'lc')).toMatchObject({ code: 0, stdout: 'lc\n' });
    expect(await d('wait', 'lc')).toMatchObject({ code: 0, stdout: '137\n' });
    expect((await d('restart', '-t', '1', 'lc')).code).toBe(0);
    expect((await d('inspect', '--format', '{{.State.Running}}', 'lc')).stdout.trim()).toBe('true');
    expect((await d('kill', 'lc')).code).toBe(0);
    expect((await d('wait', 'lc')).stdout).toBe('137\n');
    const again = await d('kill', 'lc');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not running');
    const pruned = await d('container', 'prune', '-f');
    expect(pruned.stdout).toContain('Deleted Containers:');
    expect((await d('ps', '-a', '--format', '{{.Names}}')).stdout).not.toMatch(/^lc$/m);
  }, 120_000);
});

describe('images and volumes through the API', () => {
  it('docker build (classic builder), save, rmi, load, history', async () => {
    const { mkdirSync, writeFileSync, statSync: st } = await import('node:fs');
    const ctx = join(served.dir, 'build-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM skiff/busybox AS base\nRUN echo built > /built.txt\nFROM skiff/busybox\nCOPY --from=base /built.txt /b.txt\nCOPY hello.txt /h.txt\nCMD ["cat", "/b.txt", "/h.txt"]\n');
    writeFileSync(join(ctx, 'hello.txt'), 'hello\n');
    const b = await d('build', '-t', 'multi:1', ctx);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/Successfully built [0-9a-f]{12}/);
    expect(b.stdout).toContain('Successfully tagged multi:1');
    expect(await d('run', '--rm', 'multi:1')).toMatchObject({ code: 0, stdout: 'built\nhello\n' });
    expect((await d('history', '--format', '{{.CreatedBy}}', 'multi:1')).stdout).toContain('COPY hello.txt /h.txt');
    expect((await d('save', '-o', join(served.dir, 'multi.tar'), 'multi:1')).code).toBe(0);
    expect(st(join(served.dir, 'multi.tar')).size).toBeGreaterThan(1000);
    expect((await d('rmi', 'multi:1')).stdout).toContain('Untagged: multi:1');
    const loaded = await d('load', '-i', join(served.dir, 'multi.tar'));
    expect(loaded).toMatchObject({ code: 0, stdout: 'Loaded image: multi:1\n' });
    expect(await d('run', '--rm', 'multi:1')).toMatchObject({ code: 0, stdout: 'built\nhello\n' });
    // -q prints the image ID only, as with dockerd.
    const quiet = await d('build', '-q', '-t', 'multi:1', ctx);
    expect(quiet).toMatchObject({ code: 0, stdout: `${(await d('image', 'inspect', '-f', '{{.Id}}', 'multi:1')).stdout.trim()}\n` });
    expect(quiet.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const broken = await d('build', '-t', 'bad', '-f', 'Nope', ctx);
    expect(broken.code).not.toBe(0);
  }, 240_000);

  it('docker images and image inspect', async () => {
    await d('run', '--rm', 'skiff/busybox', 'true');
    const r = await d('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}');
    expect(r.stdout).toMatch(/^skiff\/busybox:latest [0-9a-f]{12}$/m);
    const i = await d('image', 'inspect', '--format', '{{.Os}} {{index .RepoTags 0}}', 'skiff/busybox');
    expect(i.stdout.trim()).toBe('linux skiff/busybox:latest');
    expect((await d('tag', 'skiff/busybox', 'mine:v1')).code).toBe(0);
    expect((await d('images', '--format', '{{.Repository}}:{{.Tag}}')).stdout).toContain('mine:v1');
    expect((await d('rmi', 'mine:v1')).stdout).toContain('Untagged: mine:v1');
  }, 120_000);

  it('docker volume create, ls, inspect, rm', async () => {
    expect(await d('volume', 'create', '--label', 'k=v', 'vol1')).toMatchObject({ code: 0, stdout: 'vol1\n' });
    expect((await d('volume', 'ls', '--format', '{{.Driver}} {{.Name}}')).stdout).toContain('local vol1');
    expect((await d('volume', 'inspect', '--format', '{{.Labels.k}}', 'vol1')).stdout.trim()).toBe('v');
    expect(await d('volume', 'rm', 'vol1')).toMatchObject({ code: 0, stdout: 'vol1\n' });
    const again = await d('volume', 'inspect', 'vol1');
    expect(again.code).toBe(1);
  }, 60_000);
});

describe('errors in Docker\'s shape', () => {
  it('docker inspect of nothing: exit 1, "No such object"', async () => {
    const r = await d('inspect', 'nosuch');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: No such object: nosuch');
  });

  it('docker rm of a missing container: Docker\'s "No such container"', async () => {
    const r = await d('rm', 'nosuch');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No such container: nosuch');
  });

  it('an endpoint skiff does not implement: 501 JSON naming it', async () => {
    const r = await api('POST', '/v1.43/swarm/init', '{}');
    expect(r).toEqual({ status: 501, json: { message: 'skiff does not implement POST /swarm/init' } });
    const c = await d('swarm', 'init');
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('skiff does not implement');
  });

  it('a malformed body: 400 naming the field', async () => {
    const r = await api('POST', '/v1.43/containers/create', JSON.stringify({ Image: 'skiff/busybox', HostConfig: { Memory: 'lots' } }));
    expect(r.status).toBe(400);
    expect(r.json.message).toContain('HostConfig.Memory');
    const noImage = await api('POST', '/containers/create', JSON.stringify({ Cmd: ['true'] }));
    expect(noImage.status).toBe(400);
    expect(noImage.json.message).toContain('Image');
    const bad = await api('POST', '/containers/create', '{"Image":');
    expect(bad.status).toBe(400);
  });

  it('an API version out of range is refused; /_ping carries the headers', async () => {
    expect((await api('GET', '/v1.99/info')).status).toBe(400);
    expect((await api('GET', '/v1.12/info')).status).toBe(400);
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      request({ socketPath: served.sock, method: 'HEAD', path: '/_ping' }, (res) => { res.resume(); resolve(res.headers); }).on('error', reject).end();
    });
    expect(headers).toMatchObject({ 'api-version': '1.43', ostype: 'linux', 'docker-experimental': 'false' });
  });

  it('docker builder prune and docker system prune (whose last step is /build/prune) run to the end', async () => {
    const b = await d('builder', 'prune', '-f');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('Total reclaimed space');
    const s = await d('system', 'prune', '-f');
    expect(s.stderr).not.toContain('does not implement');
    expect(s.code).toBe(0);
    expect((await api('POST', '/build/prune?filters=%7B%22until%22%3A%5B%221h%22%5D%7D')).status).toBe(400);
  });
});
