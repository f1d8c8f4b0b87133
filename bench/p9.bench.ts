/**
 * 9P server:
 * - p9.read_mbps: `cat` of a 32 MB file in the guest from a P9Server export (msize 131072, cache=none,
 *   the agent's defaults), timed in the guest (/proc/uptime, 10 ms resolution), median of 5.
 *   Baseline: the same file read by `cat` from the guest's own tmpfs (no 9P at all).
 * - p9.find_files_per_s: `find /` over the skiff/tools image (vm-images/images/dist/tools.tar, its
 *   layers applied by fs/) exported by the server, median of 3. Baseline: the same tree copied
 *   into the guest's tmpfs.
 * Both are measured twice: with the emulator in the caller's thread (worker-inline.ts, how
 *   VmRuntime runs it on Node, so 9P requests reach the overlays by a call) and in a worker (each
 *   request and reply a postMessage); the metric is the inline figure, the note has the worker's.
 * - p9.server_us_per_msg: host only, no VM: one Twalk+Tgetattr+Tclunk cycle through handle(),
 *   per message, median of 5 x 20000 cycles. What the server itself adds to every round trip.
 */
import type { Metric } from './run.ts';
import { applyLayer } from '../src/fs/layer.ts';
import { Overlay } from '../src/fs/overlay.ts';
import { encode } from '../src/p9/codec.ts';
import { NOFID } from '../src/p9/messages.ts';
import { P9Server } from '../src/p9/server.ts';
import { Machine } from '../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../src/node.ts';
import type { TarEntry, TarHeader } from '../src/archive/types.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decompress } from '../src/archive/compression.ts';
import { readTar } from '../src/archive/tar-reader.ts';
import type { LayerTree } from '../src/fs/layer.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function entry(name: string, type: TarHeader['type'], data = new Uint8Array(0)): TarEntry {
  return {
    header: { name, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, linkname: '', devmajor: 0, devminor: 0 },
    data,
  };
}

/** A 32 MB file and a small tree, for the host-only figure and the read test. */
function image(): Overlay {
  const big = new Uint8Array(32 << 20);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  const entries = [entry('big', 'file', big), entry('tree', 'directory')];
  for (let d = 0; d < 4; d++) {
    entries.push(entry(`tree/d${d}`, 'directory'));
    for (let f = 0; f < 10; f++) entries.push(entry(`tree/d${d}/f${f}`, 'file', new Uint8Array([f])));
  }
  return new Overlay({ lower: applyLayer(null, entries) });
}

/** The bundled skiff/tools image (an OCI archive), its layers applied in order. */
async function toolsImage(): Promise<Overlay> {
  const path = fileURLToPath(new URL('../vm-images/images/dist/tools.tar', import.meta.url));
  const files = new Map(readTar(new Uint8Array(readFileSync(path))).map((e) => [e.header.name, e.data]));
  const json = (name: string) => JSON.parse(new TextDecoder().decode(files.get(name)!)) as Record<string, unknown>;
  const blob = (digest: string) => `blobs/${digest.replace(':', '/')}`;
  const index = json('index.json') as { manifests: { digest: string }[] };
  const manifest = json(blob(index.manifests[0]!.digest)) as { layers: { digest: string }[] };
  let lower: LayerTree | null = null;
  for (const l of manifest.layers) lower = applyLayer(lower, readTar(await decompress(files.get(blob(l.digest))!)));
  return new Overlay({ lower });
}

function serverOverhead(): number {
  const server = new P9Server();
  server.addExport('x', image());
  server.handle(encode({ type: 'Tversion', tag: 0xffff, msize: 131072, version: '9P2000.L' }));
  server.handle(encode({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: '', aname: 'x', nUname: 0 }));
  const walk = encode({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['tree', 'd7', 'f9'] });
  const getattr = encode({ type: 'Tgetattr', tag: 2, fid: 1, requestMask: 0x7ff });
  const clunk = encode({ type: 'Tclunk', tag: 3, fid: 1 });
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 20000; i++) {
      server.handle(walk);
      server.handle(getattr);
      server.handle(clunk);
    }
    runs.push(((performance.now() - t0) * 1000) / 60000);
  }
  return median(runs);
}

interface ThreadFigures { read: number[]; local: number[]; finds: number[]; localFinds: number[]; entries: number }

/** The guest reading over 9P with the emulator in `thread` ('inline': the VM runtime's Node default). */
async function measure(thread: 'inline' | 'worker'): Promise<ThreadFigures> {
  const server = new P9Server();
  server.addExport('c1', image());
  server.addExport('tools', await toolsImage());
  const m = await Machine.start({ ...nodeMachineOptions({ thread, snapshots: null }), handle9p: (r) => server.handle(r) });
  try {
    await m.agent.mount({ export: 'c1', target: '/mnt/c1' });
    await m.agent.mount({ export: 'tools', target: '/mnt/tools' });
    const shOut = async (script: string): Promise<string> => {
      const p = await m.agent.spawn({ args: ['/bin/busybox', 'sh', '-c', script] });
      const [out, err, st] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
      if (st.exitCode !== 0) throw new Error(`guest: ${script}: exit ${st.exitCode}: ${err}`);
      return out;
    };
    /** Guest-side duration of `script` in ms, from /proc/uptime (10 ms ticks; 0 counts as 5). */
    const sh = async (script: string): Promise<number> => {
      const out = await shOut(`read a _ < /proc/uptime; ${script}; read b _ < /proc/uptime; echo $a $b`);
      const [a, b] = out.trim().split('\n').pop()!.split(' ').map(Number);
      return Math.max(5, (b! - a!) * 1000);
    };
    await shOut('cp /mnt/c1/big /tmp/big && cp -a /mnt/tools /tmp/tools');
    const entries = Number((await shOut('find /mnt/tools | wc -l')).trim());
    const f: ThreadFigures = { read: [], local: [], finds: [], localFinds: [], entries };
    for (let i = 0; i < 5; i++) {
      f.read.push(await sh('cat /mnt/c1/big > /dev/null'));
      f.local.push(await sh('cat /tmp/big > /dev/null'));
    }
    for (let i = 0; i < 3; i++) {
      f.finds.push(await sh('find /mnt/tools > /dev/null'));
      f.localFinds.push(await sh('find /tmp/tools > /dev/null'));
    }
    return f;
  } finally {
    await m.shutdown();
  }
}

export async function run(): Promise<Record<string, Metric>> {
  const usPerMsg = serverOverhead();
  const inline = await measure('inline');
  const worker = await measure('worker');
  const mbps = (ms: number) => Number((32 / (ms / 1000)).toFixed(1));
  const fps = (ms: number, n: number) => Math.round(n / (ms / 1000));
  return {
    'p9.read_mbps': {
      value: mbps(median(inline.read)), unit: 'MB/s', baseline: mbps(median(inline.local)),
      note: `guest cat of 32 MB over 9P (msize 128 KiB, cache=none), emulator in the engine's thread as VmRuntime runs it on Node; with the emulator in a worker: ${mbps(median(worker.read))} MB/s. Baseline: from guest tmpfs. Bound by one Tread round trip per 128 KiB plus the guest's copy, on one emulated CPU.`,
    },
    'p9.find_files_per_s': {
      value: fps(median(inline.finds), inline.entries), unit: 'files/s', baseline: fps(median(inline.localFinds), inline.entries),
      note: `find over skiff/tools (${inline.entries} entries), emulator inline; in a worker: ${fps(median(worker.finds), worker.entries)} files/s. Baseline: the same tree in guest tmpfs. cache=none costs Twalk + 2 Tgetattr + Tclunk per entry, each a round trip`,
    },
    'p9.server_us_per_msg': { value: Number(usPerMsg.toFixed(2)), unit: 'us', note: 'host-only Twalk/Tgetattr/Tclunk through P9Server.handle' },
  };
}
