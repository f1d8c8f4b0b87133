/** Builds src/runtime/spec/skiff-init.c for i386 with the project's clang-16 + lld (see its header). */
import { execFileSync } from 'node:child_process';
import { requireTool } from '../../helpers/peers.ts';

export const INIT_SOURCE = new URL('../../../src/runtime/spec/skiff-init.c', import.meta.url).pathname;

export function buildSkiffInit(out: string): void {
  execFileSync(requireTool('clang-16', 'clang-16'), [
    '--target=i386-linux-gnu', '-march=i686', '-O2', '-ffreestanding', '-fno-pic', '-fno-stack-protector',
    '-nostdlib', '-static', '-fuse-ld=lld', '-Wall', '-Werror', '-o', out, INIT_SOURCE,
  ]);
}
