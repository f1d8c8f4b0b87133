/**
 * The worker's side of a run: build proxied filesystems over the channel, run the module, report
 * how it ended. Environment-free: workers/wasi-worker.ts hands in the message endpoint.
 */
import { SkiffError } from '../../errors.ts';
import { ChannelClient } from './channel.ts';
import type { HostMessage, StartMessage, WorkerMessage } from './protocol.ts';
import { RemoteFileSystem } from './remote-fs.ts';
import { runModule } from './run-module.ts';
import { UsageMeter } from './usage.ts';

/** Bytes of output the module may write before it waits for the host's sink to catch up. */
export const OUTPUT_SYNC_BYTES = 256 * 1024;

export interface WorkerEndpoint {
  post(msg: WorkerMessage): void;
  onMessage(cb: (msg: HostMessage) => void): void;
}

export function serveWasiWorker(ep: WorkerEndpoint): void {
  ep.onMessage((msg) => {
    if (msg.t === 'start') {
      run(ep, msg).catch((e: unknown) => {
        const code = e instanceof SkiffError ? e.code : 'RUNTIME';
        ep.post({ t: 'fail', code, message: e instanceof Error ? e.message : String(e) });
      });
    }
  });
  ep.post({ t: 'ready' });
}

async function run(ep: WorkerEndpoint, msg: StartMessage): Promise<void> {
  const meter = msg.usage ? new UsageMeter(msg.usage) : undefined;
  const channel = new ChannelClient(msg.sab, (m) => {
    if (msg.trace) ep.post({ t: 'trace', line: `fs ${m.fs}.${m.op}(${m.args.map((a) => (a instanceof Uint8Array ? `<${a.length} bytes>` : JSON.stringify(a))).join(', ')})` });
    ep.post(m);
  }, meter);
  const fss = new Map<number, RemoteFileSystem>();
  const mounts = msg.mounts.map((m) => {
    let fs = fss.get(m.fs);
    if (!fs) fss.set(m.fs, (fs = new RemoteFileSystem(channel, m.fs, m.fsReadOnly)));
    return { path: m.path, fs, readOnly: m.readOnly };
  });
  const nap = new Int32Array(new SharedArrayBuffer(4));
  // Output is posted without waiting; every OUTPUT_SYNC_BYTES the module waits until the host's
  // sink took it all, so a reader slower than the module bounds what is queued (backpressure).
  let unsynced = 0;
  const out = (fd: 1 | 2, data: Uint8Array): void => {
    ep.post({ t: 'out', fd, data });
    if ((unsynced += data.byteLength) >= OUTPUT_SYNC_BYTES) {
      unsynced = 0;
      channel.call(-1, 'drain', []);
    }
  };
  const outcome = await runModule({
    module: msg.module,
    args: msg.args,
    env: msg.env,
    cwd: msg.cwd,
    mounts,
    tty: msg.tty,
    stdin: (max) => channel.call(-1, 'stdin', [max]) as Uint8Array,
    // fd_write hands us a fresh copy of the module's bytes: post it as is.
    stdout: (data) => out(1, data),
    stderr: (data) => out(2, data),
    sleep: (ms) => {
      meter?.pause();
      Atomics.wait(nap, 0, 0, ms);
      meter?.resume();
    },
    ...(meter ? { usage: meter } : {}),
    onStart: () => ep.post({ t: 'started' }),
    trace: msg.trace ? (line) => ep.post({ t: 'trace', line: `wasi ${line}` }) : undefined,
  });
  ep.post({ t: 'done', outcome });
}
