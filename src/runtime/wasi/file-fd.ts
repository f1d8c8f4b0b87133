/** An open regular file (or device node) of a mounted `FileSystem`: offset, append, rights. */
import { Fd, wasi } from '@bjorn3/browser_wasi_shim';
import { wasiErrno } from './errno.ts';
import { filestatOf, RIGHTS, timesFromFlags, type WasiFilestat } from './filestat.ts';
import type { Loc } from './namespace.ts';
import { appendAtEnd, RemoteFileSystem } from './remote-fs.ts';

export interface FileFdFlags {
  read: boolean;
  write: boolean;
  append: boolean;
}

export class FsFileFd extends Fd {
  private pos = 0;

  constructor(readonly loc: Loc, private flags: FileFdFlags) {
    super();
  }

  private get fs() {
    return this.loc.mount.fs;
  }

  wasiFilestat(): WasiFilestat {
    return filestatOf(this.fs.stat(this.loc.node), this.loc.mount.dev);
  }

  override fd_fdstat_get() {
    const st = new wasi.Fdstat(wasi.FILETYPE_REGULAR_FILE, this.flags.append ? wasi.FDFLAGS_APPEND : 0);
    st.fs_rights_base = RIGHTS.ALL;
    st.fs_rights_inherited = RIGHTS.ALL;
    return { ret: wasi.ERRNO_SUCCESS, fdstat: st };
  }

  override fd_fdstat_set_flags(flags: number): number {
    this.flags.append = (flags & wasi.FDFLAGS_APPEND) !== 0;
    return wasi.ERRNO_SUCCESS;
  }

  override fd_read(size: number) {
    const r = this.fd_pread(size, BigInt(this.pos));
    this.pos += r.data.length;
    return r;
  }

  override fd_pread(size: number, offset: bigint) {
    if (!this.flags.read) return { ret: wasi.ERRNO_BADF, data: new Uint8Array() };
    try {
      return { ret: wasi.ERRNO_SUCCESS, data: this.fs.read(this.loc.node, Number(offset), size) };
    } catch (e) {
      return { ret: wasiErrno(e), data: new Uint8Array() };
    }
  }

  override fd_write(data: Uint8Array) {
    if (this.flags.append) return this.append(data);
    const r = this.fd_pwrite(data, BigInt(this.pos));
    this.pos += r.nwritten;
    return r;
  }

  /** O_APPEND: a worker's shared volume appends in one host call (RemoteFileSystem.append). */
  private append(data: Uint8Array) {
    if (!this.flags.write) return { ret: wasi.ERRNO_BADF, nwritten: 0 };
    if (this.loc.mount.readOnly) return { ret: wasi.ERRNO_ROFS, nwritten: 0 };
    try {
      const fs = this.fs;
      const { offset, written } = fs instanceof RemoteFileSystem ? fs.append(this.loc.node, data) : appendAtEnd(fs, this.loc.node, data);
      this.pos = offset + written;
      return { ret: wasi.ERRNO_SUCCESS, nwritten: written };
    } catch (e) {
      return { ret: wasiErrno(e), nwritten: 0 };
    }
  }

  override fd_pwrite(data: Uint8Array, offset: bigint) {
    if (!this.flags.write) return { ret: wasi.ERRNO_BADF, nwritten: 0 };
    if (this.loc.mount.readOnly) return { ret: wasi.ERRNO_ROFS, nwritten: 0 };
    try {
      return { ret: wasi.ERRNO_SUCCESS, nwritten: this.fs.write(this.loc.node, Number(offset), data) };
    } catch (e) {
      return { ret: wasiErrno(e), nwritten: 0 };
    }
  }

  override fd_seek(offset: bigint, whence: number) {
    let base: number;
    try {
      base = whence === wasi.WHENCE_SET ? 0 : whence === wasi.WHENCE_CUR ? this.pos : whence === wasi.WHENCE_END ? this.fs.stat(this.loc.node).size : NaN;
    } catch (e) {
      return { ret: wasiErrno(e), offset: 0n };
    }
    if (Number.isNaN(base)) return { ret: wasi.ERRNO_INVAL, offset: 0n };
    const next = base + Number(offset);
    if (next < 0) return { ret: wasi.ERRNO_INVAL, offset: 0n };
    this.pos = next;
    return { ret: wasi.ERRNO_SUCCESS, offset: BigInt(next) };
  }

  override fd_tell() {
    return { ret: wasi.ERRNO_SUCCESS, offset: BigInt(this.pos) };
  }

  /**
   * fsync and fdatasync: a writable layer or volume saves now. Through a worker's channel the call
   * returns after the save (remote-fs.ts); a module run inline cannot wait, so the save runs behind it.
   */
  override fd_sync(): number {
    try {
      const saving = this.fs.sync?.();
      if (saving) saving.catch(() => {});
      return wasi.ERRNO_SUCCESS;
    } catch (e) {
      return wasiErrno(e);
    }
  }

  override fd_filestat_set_size(size: bigint): number {
    if (this.loc.mount.readOnly) return wasi.ERRNO_ROFS;
    try {
      this.fs.setattr(this.loc.node, { size: Number(size) });
      return wasi.ERRNO_SUCCESS;
    } catch (e) {
      return wasiErrno(e);
    }
  }

  override fd_allocate(offset: bigint, len: bigint): number {
    try {
      const want = Number(offset + len);
      if (this.fs.stat(this.loc.node).size < want) return this.fd_filestat_set_size(BigInt(want));
      return wasi.ERRNO_SUCCESS;
    } catch (e) {
      return wasiErrno(e);
    }
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    const times = timesFromFlags(atim, mtim, fstFlags, Date.now());
    if (!times) return wasi.ERRNO_INVAL;
    if (this.loc.mount.readOnly) return wasi.ERRNO_ROFS;
    try {
      this.fs.setattr(this.loc.node, times);
      return wasi.ERRNO_SUCCESS;
    } catch (e) {
      return wasiErrno(e);
    }
  }
}
