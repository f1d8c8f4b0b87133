/**
 * The Docker Engine API (issue 14):
 * - api.run_ms: `docker run --rm skiff/busybox true` by the real docker client through the API
 *   (served in this process, VM up and warm), wall clock from spawn to exit, median of RUNS.
 *   Baseline: Engine.runContainer of the same command in the same engine and VM, alternated with
 *   the docker runs, so the difference is what the API and the docker client add (target: 50 ms).
 * - api.ping_ms: one `HEAD /_ping` round trip over the socket (the server's own overhead).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metric } from './run.ts';
import { openEngine } from '../src/node.ts';
import { createApiServer, listenOn } from '../src/api/index.ts';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
const quiet = { onStdout: () => {}, onStderr: () => {} };

function ping(sock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    request({ socketPath: sock, method: 'HEAD', path: '/_ping' }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject).end();
  });
}

export async function run(): Promise<Record<string, Metric>> {
  let docker: string;
  try {
    docker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  } catch {
    return {};
  }
  const home = mkdtempSync(join(tmpdir(), 'skiff-bench-api-'));
  const savedHome = process.env.SKIFF_HOME;
  process.env.SKIFF_HOME = home;
  const engine = await openEngine({ home });
  const server = createApiServer({ engine, home });
  const sock = join(home, 'docker.sock');
  try {
    await listenOn(server, { kind: 'unix', path: sock });
    const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(home, 'docker-config') };
    const viaDocker = () => {
      const t0 = performance.now();
      // Async spawn: the server answering runs on this process's event loop.
      return new Promise<number>((resolve, reject) => {
        import('node:child_process').then(({ execFile }) => execFile(docker, ['run', '--rm', 'skiff/busybox', 'true'], { env }, (err) => (err ? reject(err) : resolve(performance.now() - t0))));
      });
    };
    const viaEngine = async () => {
      const t0 = performance.now();
      await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
      return performance.now() - t0;
    };
    // Warm-up: bundled image loaded, VM booted, guest code compiled.
    for (let i = 0; i < 3; i++) { await viaEngine(); await viaDocker(); }
    const api: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      api.push(await viaDocker());
      base.push(await viaEngine());
    }
    const pings: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await ping(sock);
      pings.push(performance.now() - t0);
    }
    const r = (x: number) => Math.round(x);
    const note = `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
    return {
      'api.run_ms': {
        value: r(median(api)), unit: 'ms', baseline: r(median(base)),
        note: `docker run --rm skiff/busybox true through \`skiff system serve\`'s API (in-process server, VM warm), median of ${RUNS} (${api.map(r).join(', ')}); baseline Engine.runContainer alternated in the same engine (${base.map(r).join(', ')}); includes the docker client's own start (~20-40 ms of Go runtime); ${note}`,
      },
      'api.ping_ms': { value: Math.round(median(pings) * 100) / 100, unit: 'ms', note: `HEAD /_ping over the Unix socket, median of 50; ${note}` },
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await engine.shutdown();
    if (savedHome === undefined) delete process.env.SKIFF_HOME;
    else process.env.SKIFF_HOME = savedHome;
    rmSync(home, { recursive: true, force: true });
  }
}
