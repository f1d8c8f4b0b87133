/** Whole-tree walks over inodes: rare, linear, and kept out of the hot paths. */
import type { Inode } from './inode.ts';
import type { LayerTree } from './layer.ts';

/** Every path (as components) of each hard-linked inode of a tree. */
export function hardLinkPaths(tree: LayerTree): Map<Inode, string[][]> {
  const map = new Map<Inode, string[][]>();
  const links = tree.links;
  if (links.size === 0) return map;
  const stack: [Inode, string[]][] = [[tree.root, []]];
  while (stack.length > 0) {
    const [dir, prefix] = stack.pop()!;
    for (const [name, child] of dir.children!) {
      if (child.kind === 'directory') stack.push([child, [...prefix, name]]);
      else if (links.has(child)) {
        const list = map.get(child);
        if (list) list.push([...prefix, name]);
        else map.set(child, [[...prefix, name]]);
      }
    }
  }
  return map;
}

/** Bytes held privately (written or copied chunks) and inodes of a tree, hard links counted once. */
export function treeUsage(root: Inode): { bytes: number; inodes: number } {
  const seen = new Set<Inode>();
  let bytes = 0;
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node) || node.kind === 'whiteout') continue;
    seen.add(node);
    if (node.content) bytes += node.content.ownedBytes;
    if (node.children) for (const child of node.children.values()) stack.push(child);
  }
  return { bytes, inodes: seen.size };
}

/**
 * Holds in memory the image bytes of every file of a (container's upper) tree, so synchronous
 * readers (diffUpper for commit and build) never meet an asynchronous store's PendingIO. Only
 * files copied up from the image have such bytes; a no-op where the store reads synchronously.
 */
export async function materializeTree(root: Inode): Promise<void> {
  const seen = new Set<Inode>();
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (node.content) await node.content.materialize();
    if (node.children) for (const child of node.children.values()) stack.push(child);
  }
}
