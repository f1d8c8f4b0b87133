/**
 * The Docker Engine API (issue 14):
 * - api.run_ms: `docker run --rm skiff/busybox true` by the real docker client through the API
 *   (served in this process, VM up and warm), wall clock from spawn to exit, median of RUNS.
 *   Baseline: Engine.runContainer of the same command in the same engine and VM, alternated with
 *   the docker runs, so the difference is what the API and the docker client add (target: 50 ms).
 *   The docker client is spawned by a small launcher process, as a shell would spawn it: a fork of
 *   this process (the emulator's guest memory mapped) costs the engine's thread ~15-20 ms a spawn.
 * - api.client_ms: `docker version` (client start, /_ping, /version, exit): the part of the gap
 *   the docker client's own process start takes.
 * - api.ping_ms: one `HEAD /_ping` round trip over the socket (the server's own overhead).
 */
import { execFileSync, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Metric } from './run.ts';
import { loadNote, median, quiet, withSkiffHome } from './util.ts';
import { openEngine } from '../src/node.ts';
import { createApiServer, listenOn } from '../src/api/index.ts';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 10);

function ping(sock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    request({ socketPath: sock, method: 'HEAD', path: '/_ping' }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject).end();
  });
}

/** A process that spawns commands on request and answers with their wall time in ms. */
const LAUNCHER = `
const { execFile } = require('node:child_process');
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const [file, ...args] = JSON.parse(line);
  const t0 = performance.now();
  execFile(file, args, (err, _out, stderr) => process.stdout.write(JSON.stringify(err ? { error: String(stderr || err) } : { ms: performance.now() - t0 }) + '\\n'));
});`;

function launcher(env: NodeJS.ProcessEnv): { time(argv: string[]): Promise<number>; close(): void } {
  const child = spawn(process.execPath, ['-e', LAUNCHER], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (l) => waiting.shift()?.(l));
  return {
    time: (argv) => new Promise((resolve, reject) => {
      waiting.push((l) => {
        const r = JSON.parse(l) as { ms?: number; error?: string };
        if (r.ms === undefined) reject(new Error(`${argv.join(' ')}: ${r.error}`));
        else resolve(r.ms);
      });
      child.stdin.write(`${JSON.stringify(argv)}\n`);
    }),
    close: () => child.stdin.end(),
  };
}

export async function run(): Promise<Record<string, Metric>> {
  let docker: string;
  try {
    docker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  } catch {
    return {};
  }
  return withSkiffHome('skiff-bench-api-', async (home) => {
    const engine = await openEngine({ home });
    const server = createApiServer({ engine, home });
    const sock = join(home, 'docker.sock');
    const l = launcher({ ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(home, 'docker-config') });
    try {
      await listenOn(server, { kind: 'unix', path: sock });
      const viaDocker = () => l.time([docker, 'run', '--rm', 'skiff/busybox', 'true']);
      const viaEngine = async () => {
        const t0 = performance.now();
        await engine.runContainer({ image: 'skiff/busybox', cmd: ['true'], run: { rm: true }, io: quiet });
        return performance.now() - t0;
      };
      // Warm-up: bundled image loaded, VM booted, guest code compiled (v86 compiles hot guest code).
      for (let i = 0; i < 5; i++) { await viaEngine(); await viaDocker(); }
      const api: number[] = [];
      const base: number[] = [];
      const client: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        api.push(await viaDocker());
        base.push(await viaEngine());
        client.push(await l.time([docker, 'version']));
      }
      const pings: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        await ping(sock);
        pings.push(performance.now() - t0);
      }
      const r = (x: number) => Math.round(x);
      const note = loadNote();
      return {
        'api.run_ms': {
          value: r(median(api)), unit: 'ms', baseline: r(median(base)),
          note: `docker run --rm skiff/busybox true through \`skiff system serve\`'s API (in-process server, VM warm, docker spawned by a launcher process), median of ${RUNS} (${api.map(r).join(', ')}); baseline Engine.runContainer alternated in the same engine (${base.map(r).join(', ')}); median of the pairs' differences ${r(median(api.map((a, i) => a - base[i]!)))} ms; includes the docker client's own start (api.client_ms); ${note}`,
        },
        'api.client_ms': { value: r(median(client)), unit: 'ms', note: `docker version through the API (client process start, HEAD /_ping, GET /version, exit), median of ${RUNS} (${client.map(r).join(', ')}); ${note}` },
        'api.ping_ms': { value: Math.round(median(pings) * 100) / 100, unit: 'ms', note: `HEAD /_ping over the Unix socket, median of 50; ${note}` },
      };
    } finally {
      l.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.shutdown();
    }
  });
}
