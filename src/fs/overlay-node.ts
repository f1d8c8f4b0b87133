/**
 * The handle an Overlay gives out for a node (what 9P fids and WASI fds hold). One per inode, kept
 * across copy-up (`upper` gets set), rename (`parent`/`name` change) and unlink (`orphan`).
 */
import type { Inode } from './inode.ts';
import type { FsNode } from './types.ts';

export class OverlayNode implements FsNode {
  readonly ino: number;
  /** For directories the parent; for files, where a single-linked lower file gets copied up. */
  parent: OverlayNode;
  name: string;
  /** The lower inode (for directories: the lower directory merged under this one, if any). */
  lower: Inode | null;
  upper: Inode | null;
  version = 0;
  /** Unlinked from every name (still usable through handles held elsewhere). */
  orphan = false;

  constructor(ino: number, parent: OverlayNode | null, name: string, lower: Inode | null, upper: Inode | null) {
    this.ino = ino;
    this.parent = parent ?? this;
    this.name = name;
    this.lower = lower;
    this.upper = upper;
  }

  get inode(): Inode {
    return (this.upper ?? this.lower)!;
  }
}
