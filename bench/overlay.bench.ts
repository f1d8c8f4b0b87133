/**
 * Writable layer:
 * - overlay.write_mbps: sequential 128 KiB Twrite messages of a 256 MiB file through P9Server.handle
 *   into an Overlay export with a quota on (1 GiB, 1M inodes), host only, median of 5. What `dd` in
 *   a container costs the engine per byte before the guest's own time. Baseline: the same without
 *   a quota. The note says whether a write past the quota was refused with ENOSPC.
 */
import type { Metric } from './run.ts';
import { Errno } from '../src/fs/errno.ts';
import { Overlay } from '../src/fs/overlay.ts';
import { decode, encode } from '../src/p9/codec.ts';
import { NOFID, OpenFlags, type RMessage } from '../src/p9/messages.ts';
import { P9Server } from '../src/p9/server.ts';

const FILE = 256 << 20;
const BLOCK = 128 << 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Milliseconds to write FILE bytes; `past` is the errno of one more write at the quota's end (0: accepted). */
function writeOnce(quota: boolean): { ms: number; past: number } {
  const fs = new Overlay({ lower: null, ...(quota ? { quota: { bytes: FILE, inodes: 1 << 20 } } : {}) });
  const server = new P9Server();
  server.addExport('w', fs);
  const send = (m: Parameters<typeof encode>[0]) => decode(server.handle(encode(m))) as RMessage;
  send({ type: 'Tversion', tag: 0xffff, msize: BLOCK + 4096, version: '9P2000.L' });
  send({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'root', aname: 'w', nUname: 0 });
  send({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: [] });
  send({ type: 'Tlcreate', tag: 1, fid: 1, name: 'dd.out', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 });
  const data = new Uint8Array(BLOCK).fill(0x5a);
  const t0 = performance.now();
  for (let off = 0; off < FILE; off += BLOCK) {
    const r = send({ type: 'Twrite', tag: 1, fid: 1, offset: off, data });
    if (r.type !== 'Rwrite') throw new Error(`write at ${off}: ${JSON.stringify(r)}`);
  }
  const ms = performance.now() - t0;
  const r = send({ type: 'Twrite', tag: 1, fid: 1, offset: FILE, data });
  return { ms, past: r.type === 'Rlerror' ? r.ecode : 0 };
}

export async function run(): Promise<Record<string, Metric>> {
  const withQuota: number[] = [];
  const without: number[] = [];
  let past = 0;
  for (let k = 0; k < 5; k++) {
    const q = writeOnce(true);
    withQuota.push(q.ms);
    past = q.past;
    without.push(writeOnce(false).ms);
  }
  const mbps = (ms: number) => Number(((FILE / 2 ** 20) / (ms / 1000)).toFixed(1));
  return {
    'overlay.write_mbps': {
      value: mbps(median(withQuota)), unit: 'MB/s', baseline: mbps(median(without)),
      note: `256 MiB in 128 KiB Twrites into an Overlay export with a 256 MiB quota, host only; one more write ${past === Errno.ENOSPC ? 'was refused with ENOSPC' : `got errno ${past}`}. Baseline: no quota.`,
    },
  };
}
