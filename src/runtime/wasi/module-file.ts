/** Reading the module a container runs out of its root filesystem (platform and compat images). */
import { SkiffError } from '../../errors.ts';
import { FsError } from '../../fs/errno.ts';
import { PendingIO } from '../../fs/pending-io.ts';
import type { FileSystem } from '../../fs/types.ts';
import { Namespace } from './namespace.ts';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** Check the `\0asm` header; `what` names the module in the error. */
export function assertWasmModule(bytes: Uint8Array, what: string): void {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new SkiffError('INVALID_ARGUMENT', `${what} is not a WebAssembly module (starts with ${head || 'nothing'}, expected 00 61 73 6d)`);
  }
}

/**
 * The bytes of `path` in `fs`, symlinks followed from the container root. A bare name ("lua.wasm")
 * is looked up in `searchPath` (the container's PATH) like execvp does, then in `cwd`.
 */
export function readModuleFile(opts: { fs: FileSystem; path: string; cwd?: string; searchPath?: string }): Uint8Array {
  if (!opts.path.includes('/') && opts.searchPath) {
    for (const dir of opts.searchPath.split(':').filter((d) => d.startsWith('/'))) {
      try {
        return readModuleFile({ fs: opts.fs, path: `${dir.replace(/\/+$/, '')}/${opts.path}` });
      } catch (e) {
        if (!(e instanceof SkiffError && e.code === 'NOT_FOUND')) throw e;
      }
    }
  }
  const ns = new Namespace([{ path: '/', fs: opts.fs }]);
  const path = opts.path.startsWith('/') ? opts.path : `${opts.cwd ?? '/'}/${opts.path}`;
  try {
    const walk = ns.resolve(ns.rootWalk(), path, true);
    const loc = walk[walk.length - 1]!;
    const st = opts.fs.stat(loc.node);
    if (st.kind !== 'file') throw new FsError('EISDIR', 'not a regular file');
    const bytes = opts.fs.read(loc.node, 0, st.size);
    assertWasmModule(bytes, `entrypoint ${opts.path}`);
    return bytes;
  } catch (e) {
    // Bytes still on their way from an asynchronous store: the caller waits and reads again.
    if (e instanceof PendingIO) throw e;
    if (e instanceof FsError) throw new SkiffError(e.code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `entrypoint ${opts.path}: ${e.message}`, { cause: e });
    throw e;
  }
}
