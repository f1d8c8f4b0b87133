/**
 * Networking (issue 16), on Node, each figure beside the same work between two processes on the
 * host's loopback in the same run:
 * - net.http_rps: small GETs (keep-alive off, 4 at a time, from a worker thread, after 2 s of
 *   warm-up) to busybox httpd in the guest through a published port; baseline: the same busybox
 *   httpd run as a host process on 127.0.0.1.
 * - net.tcp_mbps: 32 MB from a host server to the guest (via host-gateway), and 32 MB from the
 *   guest to a host server; the value is the slower direction. In the guest `nc -e dd bs=64k`
 *   moves the bytes: dd reads and writes the socket itself in 64 KiB calls, as real programs do;
 *   busybox nc's own copy loop goes 1 KiB per read/write/poll, which in the emulator costs more
 *   than the network (32 MB up: 340M guest instructions, 300M of them nc's syscalls). Baseline:
 *   the same `busybox nc -e dd` as a host process doing the download from the same server.
 * The guest runs the tools in its own namespace (test/net/vm-guest.ts); a container adds a veth
 * and a bridge hop inside the guest, a few percent of guest CPU.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { publishTcp } from '../src/net/node.ts';
import { bootNetGuest } from '../test/net/vm-guest.ts';
import type { Metric } from './run.ts';
import { transferServer } from './util.ts';

const MB = 1024 * 1024;
const TRANSFER = 32 * MB;
const HTTP_SECONDS = 6;
const BODY = 'hello from busybox httpd\n';
/** The guest's receiving end: dd on the socket (`nc -e`), 64 KiB reads. */
const DD_DOWN = 'dd of=/dev/null bs=64k 2>/dev/null';

/**
 * The HTTP client, in a worker thread of its own: a user's curl or browser is another process,
 * and in this one the emulator runs on the main thread (worker-inline.ts), where a client would
 * take its turns from the guest. Plain JavaScript (eval'd), so it needs no loader.
 */
const CLIENT = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { request } = require('node:http');
const get = () => new Promise((resolve, reject) => {
  const req = request({ host: '127.0.0.1', port: w.port, path: '/', agent: false }, (res) => {
    let n = 0;
    res.on('data', (c) => (n += c.length));
    res.on('error', reject);
    res.on('end', () => (n === w.bodyLength ? resolve() : reject(new Error('short body: ' + n + ' bytes'))));
  });
  req.on('error', reject);
  req.end();
});
const loop = async (ms) => {
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: w.parallel }, async () => { while (performance.now() < end) { await get(); done++; } }));
  return done;
};
(async () => {
  // Until the server listens (a refused connection is reset).
  for (let i = 0; ; i++) {
    try { await get(); break; } catch (err) { if (i > 100) throw err; await new Promise((r) => setTimeout(r, 100)); }
  }
  // Warm-up, discarded: the guest's first passes through fork and its network code are v86 JIT work.
  await loop(w.warmMs);
  const t0 = performance.now();
  const done = await loop(w.seconds * 1000);
  parentPort.postMessage(done / ((performance.now() - t0) / 1000));
})().catch((err) => parentPort.postMessage({ error: String(err) }));
`;

/** GETs for `seconds` after a warm-up, `parallel` at a time; requests per second. */
function rps(port: number, seconds = HTTP_SECONDS, parallel = 4, warmMs = 2000): Promise<number> {
  const w = new Worker(CLIENT, { eval: true, workerData: { port, seconds, parallel, warmMs, bodyLength: BODY.length } });
  return new Promise<number>((resolve, reject) => {
    w.once('message', (m: number | { error: string }) => (typeof m === 'number' ? resolve(m) : reject(new Error(m.error))));
    w.once('error', reject);
  }).finally(() => void w.terminate());
}

const mbps = (ms: number) => (TRANSFER / MB) / (ms / 1000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(cmd: string, args: string[]): ChildProcess {
  return spawn(cmd, args, { stdio: 'ignore' });
}

export async function run_(): Promise<Record<string, Metric>> {
  const www = mkdtempSync(join(tmpdir(), 'skiff-net-bench-'));
  writeFileSync(join(www, 'index.html'), BODY);
  const send = await transferServer('send', TRANSFER);
  const sink = await transferServer('sink', TRANSFER);
  const g = await bootNetGuest();
  try {
    // --- HTTP: busybox httpd on the host's loopback, then in the guest through a published port
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const hostHttpd = run('busybox', ['httpd', '-f', '-p', `127.0.0.1:${hostPort}`, '-h', www]);
    await new Promise((r) => setTimeout(r, 300));
    const baseRps = await rps(hostPort);
    hostHttpd.kill();
    await g.sh(`mkdir -p /run/www && printf '${BODY.replace('\n', '\\n')}' > /run/www/index.html`);
    const httpd = await g.background('exec httpd -f -p 10.0.2.15:8080 -h /run/www');
    const l = await publishTcp(g.network.peer!, { hostPort: 0, containerIp: '10.0.2.15', containerPort: 8080 });
    const guestRps = await rps(l.port);
    await l.close();
    await httpd.kill();

    // --- TCP: 32 MB down (host -> guest) and up (guest -> host), and the loopback baseline
    g.network.peer!.hostGatewaySources.add('10.0.2.15');
    const base: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = send.next();
      run('busybox', ['nc', '127.0.0.1', String(send.port), '-e', 'busybox', 'dd', 'of=/dev/null', 'bs=65536']);
      base.push(mbps(await t));
    }
    await g.sh(`dd if=/dev/zero of=/run/32m bs=65536 count=${TRANSFER / 65536} 2>/dev/null`, 300_000);
    // One discarded round first: the guest's first pass through its network code is v86 JIT warm-up.
    const warm = send.next();
    await g.sh(`nc 10.0.2.2 ${send.port} -e ${DD_DOWN}`, 300_000);
    await warm;
    const down: number[] = [];
    const up: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t = send.next();
      await g.sh(`nc 10.0.2.2 ${send.port} -e ${DD_DOWN}`, 300_000);
      down.push(mbps(await t));
      // From a file in the guest's tmpfs: a pipe (dd | nc) measures the emulated scheduler, not the network.
      const u = sink.next();
      await g.sh(`nc 10.0.2.2 ${sink.port} -e dd if=/run/32m bs=64k 2>/dev/null`, 300_000);
      up.push(mbps(await u));
    }
    await g.sh('rm -f /run/32m');
    const load = loadavg()[0].toFixed(2);
    return {
      'net.http_rps': { value: Math.round(guestRps), unit: 'req/s', baseline: Math.round(baseRps), note: `busybox httpd, keep-alive off, 4 parallel from a worker thread after 2 s warm-up; baseline: the same httpd on host loopback; load ${load}` },
      'net.tcp_mbps': {
        value: Math.round(Math.min(median(down), median(up)) * 10) / 10, unit: 'MB/s', baseline: Math.round(median(base) * 10) / 10,
        note: `32 MB, slower direction; down (host->guest) ${median(down).toFixed(1)}, up ${median(up).toFixed(1)} MB/s; baseline: busybox nc -e dd on host loopback; nc -e dd bs=64k in the guest; load ${load}`,
      },
    };
  } finally {
    await g.stop();
    send.server.close();
    sink.server.close();
    rmSync(www, { recursive: true, force: true });
  }
}

export { run_ as run };
