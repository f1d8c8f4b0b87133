/**
 * `--init`: like Docker, run a small init as PID 1 that forwards signals to the command and reaps
 * zombies, bind-mounted read-only at /sbin/docker-init (Docker's path, so scripts that look for it
 * still work). Busybox offers nothing suitable: its `init` is a sysvinit that reads /etc/inittab
 * and never exits with the child's status. The guest must carry a static i386 init (tini or
 * catatonit, or skiff-init.c in this folder: freestanding C with raw i386 system calls, built by
 * clang-16 + lld into a 2.5 KB static binary) and pass its guest path here.
 */
import { SkiffError } from '../../errors.ts';
import type { OciMount } from './types.ts';

export const INIT_DESTINATION = '/sbin/docker-init';

export interface InitBinary {
  /** Guest path of the init binary (e.g. /usr/libexec/skiff/skiff-init). */
  path: string;
}

export function initMount(init: InitBinary): OciMount {
  return { destination: INIT_DESTINATION, type: 'bind', source: init.path, options: ['rbind', 'ro', 'rprivate'] };
}

/** The process args with the init in front: `docker-init -- cmd args...`. */
export function wrapWithInit(args: readonly string[]): string[] {
  return [INIT_DESTINATION, '--', ...args];
}

export function requireInit(init: InitBinary | undefined): InitBinary {
  if (!init || init.path === '') {
    throw new SkiffError('UNSUPPORTED', '--init needs an init binary in the guest (none configured for this runtime)');
  }
  return init;
}
