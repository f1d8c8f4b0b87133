/**
 * The directory an attach with an empty aname gets when no export is named "": a walk from it
 * into a name switches the fid to that export (see namespace.ts walk). The guest agent mounts the
 * 9P device once this way; containers name their exports under it (vm-images/agent/PROTOCOL.md).
 * It is read-only.
 *
 * Every container's exports share this one server, and whoever speaks raw 9P (a compromised guest
 * kernel) can attach or walk to any name. So a container's exports carry a secret in their name
 * (`secretName`: 128 random bits, passed to the guest only in that container's config.json), and
 * the listing shows only names without one: an export is reachable by whoever was told its name.
 */
import { fsError } from '../fs/errno.ts';
import type { DirEntry, FileSystem, FsNode, Stat, StatFs } from '../fs/types.ts';

const SECRET = /\.[0-9a-f]{32}$/;

/** `label` plus an unguessable suffix: the export name to give one container and no one else. */
export function secretName(label: string): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return `${label}.${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** True for a name made by `secretName`: never listed. */
export function isSecretName(name: string): boolean {
  return SECRET.test(name);
}

const ROOT: FsNode = Object.freeze({ ino: 0 });

export class ExportsRoot implements FileSystem {
  readonly readOnly = true;
  private readonly created = Date.now();

  constructor(private readonly names: () => string[]) {}

  root(): FsNode {
    return ROOT;
  }

  private check(node: FsNode): void {
    if (node !== ROOT) throw fsError('EBADF', 'not a node of the exports root');
  }

  lookup(dir: FsNode): FsNode {
    this.check(dir);
    // Names are resolved by the server's walk, which switches export.
    throw fsError('ENOENT');
  }

  parent(dir: FsNode): FsNode {
    this.check(dir);
    return ROOT;
  }

  stat(node: FsNode): Stat {
    this.check(node);
    return {
      ino: 0, kind: 'directory', mode: 0o555, uid: 0, gid: 0, nlink: 2 + this.readdir(ROOT).length, size: 0,
      rdevMajor: 0, rdevMinor: 0, atimeMs: this.created, mtimeMs: this.created, ctimeMs: this.created, version: 0,
    };
  }

  readdir(dir: FsNode): DirEntry[] {
    this.check(dir);
    return this.names().filter((n) => n !== '' && !isSecretName(n)).map((name) => ({ name, ino: 0, kind: 'directory' as const }));
  }

  statfs(): StatFs {
    return { blockSize: 4096, blocks: 0, blocksFree: 0, files: 0, filesFree: 0, nameMax: 255 };
  }

  getxattr(): Uint8Array {
    throw fsError('ENODATA');
  }

  listxattr(): string[] {
    return [];
  }

  readlink(): string {
    throw fsError('EINVAL', 'not a symlink');
  }

  read(): Uint8Array {
    throw fsError('EISDIR');
  }

  setattr(): void { throw fsError('EROFS'); }
  write(): number { throw fsError('EROFS'); }
  create(): FsNode { throw fsError('EROFS'); }
  mkdir(): FsNode { throw fsError('EROFS'); }
  mknod(): FsNode { throw fsError('EROFS'); }
  symlink(): FsNode { throw fsError('EROFS'); }
  link(): void { throw fsError('EROFS'); }
  unlink(): void { throw fsError('EROFS'); }
  rename(): void { throw fsError('EROFS'); }
  setxattr(): void { throw fsError('EROFS'); }
  removexattr(): void { throw fsError('EROFS'); }
}
