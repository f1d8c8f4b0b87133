/**
 * The `wasi_snapshot_preview1` import object: @bjorn3/browser_wasi_shim's `WASI` with the calls it
 * gets wrong (0.4.2) or lacks replaced at the import level:
 * - args_sizes_get counted UTF-16 units, not UTF-8 bytes;
 * - fd_filestat_get / path_filestat_get wrote times at the wrong offsets;
 * - path_rename was unlink+link (loses the node on an overlay), path_symlink was NOTSUP,
 *   path_readlink failed instead of truncating;
 * - poll_oneoff never wrote `nevents`, read clock flags from the wrong offset, took one
 *   subscription and busy-waited;
 * - proc_raise and sock_* threw strings;
 * - fd_write to stdout/stderr is gathered into one chunk per call (the shim calls once per iovec).
 */
import { WASI, WASIProcExit, wasi, type Fd } from '@bjorn3/browser_wasi_shim';
import { wasiErrno } from './errno.ts';
import { writeFilestat, type WasiFilestat } from './filestat.ts';
import { FsDirFd } from './dir-fd.ts';
import { OutputStreamFd } from './stdio.ts';

export interface WasiContextOptions {
  args: readonly string[];
  /** "KEY=value" strings. */
  env: readonly string[];
  /** fd 0, 1, 2, then preopens. */
  fds: Fd[];
  /** Block the calling thread for `ms` (poll_oneoff, i.e. sleep()). */
  sleep: (ms: number) => void;
  /** Called on each WASI call; may throw to abort the module (kill without a worker). */
  checkpoint?: () => void;
  /** Log every WASI call as "name(args) = errno" (the shim's strace, but for our imports). */
  trace?: (line: string) => void;
}

export interface WasiContext {
  wasi: WASI;
  imports: Record<string, (...args: never[]) => unknown>;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

interface StatFd {
  wasiFilestat(): WasiFilestat;
}
function hasFilestat(fd: unknown): fd is StatFd {
  return typeof (fd as Partial<StatFd> | undefined)?.wasiFilestat === 'function';
}

export function createWasiContext(opts: WasiContextOptions): WasiContext {
  const w = new WASI([...opts.args], [...opts.env], opts.fds, { debug: false });
  const mem = () => w.inst.exports.memory.buffer;
  const view = () => new DataView(mem());
  const str = (ptr: number, len: number) => utf8d.decode(new Uint8Array(mem(), ptr, len));
  const fd = (n: number) => w.fds[n];

  const overrides: Record<string, (...a: never[]) => unknown> = {
    args_sizes_get(argcPtr: number, sizePtr: number) {
      const v = view();
      v.setUint32(argcPtr, w.args.length, true);
      v.setUint32(sizePtr, w.args.reduce((n, a) => n + utf8.encode(a).length + 1, 0), true);
      return wasi.ERRNO_SUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, timePtr: number) {
      let ns: bigint;
      if (id === wasi.CLOCKID_REALTIME) ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      else if (id === wasi.CLOCKID_MONOTONIC || id === 2 || id === 3) ns = BigInt(Math.round(performance.now() * 1e6));
      else return wasi.ERRNO_INVAL;
      view().setBigUint64(timePtr, ns, true);
      return wasi.ERRNO_SUCCESS;
    },
    fd_filestat_get(n: number, ptr: number) {
      const f = fd(n);
      if (!f) return wasi.ERRNO_BADF;
      if (!hasFilestat(f)) return wasi.ERRNO_NOTSUP;
      try {
        writeFilestat(view(), ptr, f.wasiFilestat());
        return wasi.ERRNO_SUCCESS;
      } catch (e) {
        return wasiErrno(e);
      }
    },
    fd_write(n: number, iovs: number, iovsLen: number, nwrittenPtr: number) {
      const f = fd(n);
      // One message per write(2) to stdout/stderr, not one per iovec (stdio writes two).
      if (!(f instanceof OutputStreamFd)) return (w.wasiImport['fd_write'] as (...a: number[]) => number)(n, iovs, iovsLen, nwrittenPtr);
      const v = view();
      let total = 0;
      for (let i = 0; i < iovsLen; i++) total += v.getUint32(iovs + i * 8 + 4, true);
      const data = new Uint8Array(total);
      const mem8 = new Uint8Array(mem());
      let at = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + i * 8, true);
        const len = v.getUint32(iovs + i * 8 + 4, true);
        data.set(mem8.subarray(ptr, ptr + len), at);
        at += len;
      }
      const { ret, nwritten } = f.fd_write(data);
      view().setUint32(nwrittenPtr, nwritten, true);
      return ret;
    },
    path_filestat_get(n: number, flags: number, pathPtr: number, pathLen: number, ptr: number) {
      const f = fd(n);
      if (!f) return wasi.ERRNO_BADF;
      if (!(f instanceof FsDirFd)) return wasi.ERRNO_NOTDIR;
      try {
        writeFilestat(view(), ptr, f.pathFilestat(flags, str(pathPtr, pathLen)));
        return wasi.ERRNO_SUCCESS;
      } catch (e) {
        return wasiErrno(e);
      }
    },
    path_rename(n: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number) {
      const a = fd(n);
      const b = fd(newFd);
      if (!a || !b) return wasi.ERRNO_BADF;
      if (!(a instanceof FsDirFd) || !(b instanceof FsDirFd)) return wasi.ERRNO_NOTDIR;
      return a.pathRename(str(oldPtr, oldLen), b, str(newPtr, newLen));
    },
    path_symlink(targetPtr: number, targetLen: number, n: number, pathPtr: number, pathLen: number) {
      const f = fd(n);
      if (!f) return wasi.ERRNO_BADF;
      if (!(f instanceof FsDirFd)) return wasi.ERRNO_NOTDIR;
      return f.pathSymlink(str(targetPtr, targetLen), str(pathPtr, pathLen));
    },
    path_readlink(n: number, pathPtr: number, pathLen: number, buf: number, bufLen: number, nreadPtr: number) {
      const f = fd(n);
      if (!f) return wasi.ERRNO_BADF;
      const { ret, data } = f.path_readlink(str(pathPtr, pathLen));
      if (ret !== wasi.ERRNO_SUCCESS || data === null) return ret;
      const bytes = utf8.encode(data).subarray(0, bufLen);
      new Uint8Array(mem()).set(bytes, buf);
      view().setUint32(nreadPtr, bytes.length, true);
      return wasi.ERRNO_SUCCESS;
    },
    poll_oneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number) {
      return pollOneoff(view, w, opts.sleep, inPtr, outPtr, nsubs, neventsPtr);
    },
    proc_raise(sig: number) {
      throw new WASIProcExit(128 + sig);
    },
    sched_yield() {
      return wasi.ERRNO_SUCCESS;
    },
    sock_accept: () => wasi.ERRNO_NOTSUP,
    sock_recv: () => wasi.ERRNO_NOTSUP,
    sock_send: () => wasi.ERRNO_NOTSUP,
    sock_shutdown: () => wasi.ERRNO_NOTSUP,
  };

  const imports: Record<string, (...args: never[]) => unknown> = { ...w.wasiImport, ...overrides };
  const { checkpoint, trace } = opts;
  if (checkpoint || trace) {
    for (const [name, f] of Object.entries(imports)) {
      imports[name] = (...a: never[]) => {
        checkpoint?.();
        if (!trace) return (f as (...x: never[]) => unknown)(...a);
        try {
          const ret = (f as (...x: never[]) => unknown)(...a);
          trace(`${name}(${a.join(', ')}) = ${String(ret)}`);
          return ret;
        } catch (e) {
          trace(`${name}(${a.join(', ')}) threw ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
      };
    }
  }
  return { wasi: w, imports };
}

const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;

function pollOneoff(view: () => DataView, w: WASI, sleep: (ms: number) => void, inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
  if (nsubs === 0) return wasi.ERRNO_INVAL;
  const v = view();
  const ready: { userdata: bigint; error: number; type: number }[] = [];
  const clocks: { userdata: bigint; waitMs: number }[] = [];
  for (let i = 0; i < nsubs; i++) {
    const p = inPtr + i * SUBSCRIPTION_SIZE;
    const userdata = v.getBigUint64(p, true);
    const type = v.getUint8(p + 8);
    if (type === wasi.EVENTTYPE_CLOCK) {
      const clock = v.getUint32(p + 16, true);
      const timeout = v.getBigUint64(p + 24, true);
      const abs = (v.getUint16(p + 40, true) & wasi.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
      const timeoutMs = Number(timeout) / 1e6;
      const nowMs = clock === wasi.CLOCKID_REALTIME ? performance.timeOrigin + performance.now() : performance.now();
      clocks.push({ userdata, waitMs: abs ? timeoutMs - nowMs : timeoutMs });
    } else if (type === wasi.EVENTTYPE_FD_READ || type === wasi.EVENTTYPE_FD_WRITE) {
      // Files and our streams never report "not ready": a read blocks until data or EOF instead.
      const fdNum = v.getUint32(p + 16, true);
      ready.push({ userdata, error: w.fds[fdNum] ? wasi.ERRNO_SUCCESS : wasi.ERRNO_BADF, type });
    } else {
      ready.push({ userdata, error: wasi.ERRNO_INVAL, type });
    }
  }
  if (ready.length === 0 && clocks.length > 0) {
    const wait = Math.min(...clocks.map((c) => c.waitMs));
    if (wait > 0) sleep(wait);
    for (const c of clocks) if (c.waitMs <= wait) ready.push({ userdata: c.userdata, error: wasi.ERRNO_SUCCESS, type: wasi.EVENTTYPE_CLOCK });
  }
  const out = view();
  ready.forEach((e, i) => {
    const p = outPtr + i * EVENT_SIZE;
    for (let b = 0; b < EVENT_SIZE; b += 8) out.setBigUint64(p + b, 0n, true);
    out.setBigUint64(p, e.userdata, true);
    out.setUint16(p + 8, e.error, true);
    out.setUint8(p + 10, e.type);
  });
  out.setUint32(neventsPtr, ready.length, true);
  return wasi.ERRNO_SUCCESS;
}

