/** What the tar reader yields and the tar writer takes. Sans-IO: no streams here. */
export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'chardev'
  | 'blockdev'
  | 'directory'
  | 'fifo';

export interface TarHeader {
  /** Path as stored, after pax/GNU long-name resolution; never normalized by the reader. */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  size: number;
  /** Seconds since the epoch, fractional when pax says so. */
  mtime: number;
  atime?: number;
  ctime?: number;
  /** Target for symlink and hardlink entries. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* values, raw bytes. */
  xattrs?: Record<string, Uint8Array>;
  /** Other pax records, verbatim. */
  pax?: Record<string, string>;
}

export interface TarEntry {
  header: TarHeader;
  /** File body (size bytes); empty for everything else. */
  data: Uint8Array;
}

/**
 * A byte transform as `pipeThrough` drives it: the web-standard (De)CompressionStream pair, or
 * Node's zlib stream (zlib-node.ts), behind one shape so that one pump serves both.
 */
export interface ByteTransform {
  /** Resolves when the transform takes more. */
  write(chunk: Uint8Array): Promise<void>;
  end(): Promise<void>;
  abort(err: unknown): void;
  output: AsyncIterator<Uint8Array>;
  /** The consumer stopped early. */
  cancel(): Promise<void>;
}
