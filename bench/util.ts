/** Helpers the benches share: medians, the load note, and the fixtures' OCI image writer. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** For a metric's note: the emulator runs at whatever CPU other processes leave. */
export const loadNote = (): string => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;

/** Process io that drops the output. */
/**
 * This process's own peak RSS (MB), for benches that measure a child: VmHWM belongs to the address
 * space exec made, while getrusage's maxRSS keeps the parent's RSS across fork + exec (so a child of
 * a bench process that grew to 1 GB read ~1 GB whatever it did itself).
 */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS / 1024;
}

export const quiet = { onStdout: () => {}, onStderr: () => {} };

/**
 * `fn` over a fresh $SKIFF_HOME (set in the environment too, where child `skiff` processes and
 * the VM snapshot look), restored and removed after.
 */
export async function withSkiffHome<T>(prefix: string, fn: (home: string) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const savedHome = process.env.SKIFF_HOME;
  process.env.SKIFF_HOME = home;
  try {
    return await fn(home);
  } finally {
    if (savedHome === undefined) delete process.env.SKIFF_HOME;
    else process.env.SKIFF_HOME = savedHome;
    rmSync(home, { recursive: true, force: true });
  }
}

export interface LayerBlob { digest: string; size: number; diffId: string }

/**
 * A linux/386 image over gzip `layers` already in `layout`'s blobs/sha256: its config and
 * manifest written there, then oci-layout and an index.json naming the manifest with `annotations`.
 */
export function writeOciImage(layout: string, layers: LayerBlob[], annotations: Record<string, string>): { config: { digest: string; size: number }; manifest: { digest: string; size: number } } {
  const put = (obj: unknown): { digest: string; size: number } => {
    const b = Buffer.from(JSON.stringify(obj));
    const digest = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), b);
    return { digest, size: b.length };
  };
  const config = put({ architecture: '386', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } });
  const manifest = put({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations }] }));
  return { config, manifest };
}

/**
 * A loopback server that sends `bytes` to whoever connects (`send`), or takes them (`sink`).
 * `next()` resolves with one connection's ms: a send until the socket closes; a sink until the
 * peer's end (NaN if it sent fewer than `bytes`), or, with `sinkUntil: 'bytes'`, until `bytes`
 * arrived, when the server hangs up itself (for a path without half-close, such as Wisp v1).
 */
export async function transferServer(mode: 'send' | 'sink', bytes: number, o: { sinkUntil?: 'end' | 'bytes' } = {}): Promise<{ server: Server; port: number; next(): Promise<number> }> {
  const waiters: ((ms: number) => void)[] = [];
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const server = createServer((s: Socket) => {
    const t0 = performance.now();
    const done = () => waiters.shift()?.(performance.now() - t0);
    s.on('error', () => {});
    if (mode === 'send') {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      s.on('close', done);
      s.resume();
      pump();
    } else if (o.sinkUntil === 'bytes') {
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= bytes) { done(); s.destroy(); }
      });
    } else {
      let got = 0;
      s.on('data', (d: Buffer) => (got += d.length));
      s.on('end', () => { if (got < bytes) waiters.shift()?.(NaN); else done(); s.end(); });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, next: () => new Promise<number>((r) => waiters.push(r)) };
}
