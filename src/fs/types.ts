/**
 * The filesystem contract shared by the overlay (fs/overlay.ts), the 9P server (p9/server.ts), the
 * WASI adapter (runtime/wasi/) and export/diff. Operations take node handles, not paths, so a 9P fid
 * or a WASI fd stays valid across renames and copy-ups, as on a real overlayfs mount.
 * Every operation throws `FsError` (fs/errno.ts) on failure and nothing else.
 */
export type FileKind = 'file' | 'directory' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';

/** S_IFMT values, for 9P's mode field and tar. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export interface Stat {
  /** Stable for the node's lifetime within one filesystem (9P qid.path, WASI ino). */
  ino: number;
  kind: FileKind;
  /** Permission bits only (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  /** (major << 8 | minor) style is lossy: keep both. */
  rdevMajor: number;
  rdevMinor: number;
  /** Milliseconds since the epoch (fractional allowed). */
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Bumped on every change to the node's content or attributes (9P qid.version). */
  version: number;
}

export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atimeMs?: number;
  mtimeMs?: number;
  ctimeMs?: number;
}

export interface CreateAttr {
  mode: number;
  uid: number;
  gid: number;
}

export interface DirEntry {
  name: string;
  ino: number;
  kind: FileKind;
}

export interface StatFs {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  files: number;
  filesFree: number;
  nameMax: number;
}

/** Opaque handle to a node. Identity is stable: the same node always gives the same object. */
export interface FsNode {
  readonly ino: number;
}

export interface FileSystem {
  readonly readOnly: boolean;
  root(): FsNode;
  /** One path component; '.' and '..' are handled by callers (they know their export root). */
  lookup(dir: FsNode, name: string): FsNode;
  /** Parent of a directory node (root's parent is root). */
  parent(dir: FsNode): FsNode;
  stat(node: FsNode): Stat;
  setattr(node: FsNode, attr: SetAttr): void;
  readdir(dir: FsNode): DirEntry[];
  read(node: FsNode, offset: number, length: number): Uint8Array;
  write(node: FsNode, offset: number, data: Uint8Array): number;
  create(dir: FsNode, name: string, attr: CreateAttr): FsNode;
  mkdir(dir: FsNode, name: string, attr: CreateAttr): FsNode;
  mknod(dir: FsNode, name: string, kind: 'chardev' | 'blockdev' | 'fifo' | 'socket', major: number, minor: number, attr: CreateAttr): FsNode;
  symlink(dir: FsNode, name: string, target: string, attr: Omit<CreateAttr, 'mode'>): FsNode;
  link(dir: FsNode, name: string, target: FsNode): void;
  readlink(node: FsNode): string;
  /** Removes a non-directory; with `directory: true` removes an empty directory (rmdir). */
  unlink(dir: FsNode, name: string, options?: { directory?: boolean }): void;
  /** POSIX rename(2): replaces a compatible target, EXDEV never (one filesystem). */
  rename(oldDir: FsNode, oldName: string, newDir: FsNode, newName: string): void;
  getxattr(node: FsNode, name: string): Uint8Array;
  setxattr(node: FsNode, name: string, value: Uint8Array, flags?: { create?: boolean; replace?: boolean }): void;
  listxattr(node: FsNode): string[];
  removexattr(node: FsNode, name: string): void;
  statfs(): StatFs;
  /**
   * fsync(2): every change made so far is durable once the promise settles (it rejects when saving
   * failed). Absent, or settled at once, where writes are durable as they land (a host
   * directory: the host's kernel holds them when this process dies).
   */
  sync?(): Promise<void> | void;
  /**
   * Image file sharing (src/p9/share.ts): for a regular file that is still its image layer's file
   * (never changed here, one name), a key naming those bytes and attributes, the same in every
   * process for the same file of the same layer copy; null otherwise. `lower`: the key of the
   * image file the node started as, even if it was changed (copied up) since.
   */
  imageFileKey?(node: FsNode, options?: { lower?: boolean }): string | null;
  /** The bytes of the image file the node started as (before any change here), for readers opened while it was shared. */
  readImageFile?(node: FsNode, offset: number, length: number): Uint8Array;
  /** Gives the node its own copy now (an open for writing of a shared image file: its key goes). */
  copyUpFile?(node: FsNode): void;
}
