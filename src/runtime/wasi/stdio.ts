/**
 * stdin / stdout / stderr as byte streams. Output is passed on unbuffered, byte for byte: the shim's
 * `ConsoleStdout.lineBuffered` drops a last line without a newline, and decoding is the caller's.
 */
import { Fd, wasi } from '@bjorn3/browser_wasi_shim';
import { RIGHTS, type WasiFilestat } from './filestat.ts';

/**
 * wasi-libc's isatty() is "a character device without seek/tell rights"; a container started
 * without `-t` has pipes, so we keep those rights unless a tty was asked for.
 */
function streamFdstat(tty: boolean, flags = 0): wasi.Fdstat {
  const st = new wasi.Fdstat(wasi.FILETYPE_CHARACTER_DEVICE, flags);
  st.fs_rights_base = tty ? RIGHTS.FD_READ | RIGHTS.FD_WRITE : RIGHTS.FD_READ | RIGHTS.FD_WRITE | RIGHTS.FD_SEEK | RIGHTS.FD_TELL;
  return st;
}

function streamFilestat(): WasiFilestat {
  return { dev: 0, ino: 0, filetype: wasi.FILETYPE_CHARACTER_DEVICE, nlink: 1, size: 0, atimNs: 0n, mtimNs: 0n, ctimNs: 0n };
}

/** Reads up to `max` bytes, blocking; an empty array is end of input. */
export type SyncReader = (max: number) => Uint8Array;
export type SyncWriter = (data: Uint8Array) => void;

export class InputStreamFd extends Fd {
  private eof = false;
  constructor(private readonly readSync: SyncReader, private readonly tty = false) {
    super();
  }
  wasiFilestat(): WasiFilestat {
    return streamFilestat();
  }
  override fd_fdstat_get() {
    return { ret: wasi.ERRNO_SUCCESS, fdstat: streamFdstat(this.tty) };
  }
  override fd_fdstat_set_flags(): number {
    return wasi.ERRNO_SUCCESS;
  }
  override fd_read(size: number) {
    if (this.eof || size === 0) return { ret: wasi.ERRNO_SUCCESS, data: new Uint8Array() };
    const data = this.readSync(size);
    if (data.length === 0) this.eof = true;
    return { ret: wasi.ERRNO_SUCCESS, data };
  }
  override fd_seek() {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n };
  }
  override fd_tell() {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n };
  }
}

export class OutputStreamFd extends Fd {
  constructor(private readonly writeSync: SyncWriter, private readonly tty = false) {
    super();
  }
  wasiFilestat(): WasiFilestat {
    return streamFilestat();
  }
  override fd_fdstat_get() {
    return { ret: wasi.ERRNO_SUCCESS, fdstat: streamFdstat(this.tty, wasi.FDFLAGS_APPEND) };
  }
  override fd_fdstat_set_flags(): number {
    return wasi.ERRNO_SUCCESS;
  }
  override fd_write(data: Uint8Array) {
    this.writeSync(data);
    return { ret: wasi.ERRNO_SUCCESS, nwritten: data.length };
  }
  override fd_seek() {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n };
  }
  override fd_tell() {
    return { ret: wasi.ERRNO_SPIPE, offset: 0n };
  }
}

/** A reader over bytes known up front (the inline runner, where nothing can block). */
export function bufferReader(bytes: Uint8Array): SyncReader {
  let pos = 0;
  return (max) => {
    const out = bytes.subarray(pos, pos + max);
    pos += out.length;
    return out.slice();
  };
}
