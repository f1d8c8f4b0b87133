/** --init with skiff-init.c, built for i386 (freestanding, clang-16) and run by the real crun. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRuntimeSpec, type RuntimeSpecOptions } from '../../../src/runtime/spec/bundle.ts';
import { crunExec, crunRun, crunSignal, describeWithCrun, makeBundle, type Bundle } from './crun.ts';
import { buildSkiffInit } from './init-binary.ts';

describeWithCrun('--init under the real crun', () => {
  let bundle: Bundle;
  let initPath: string;

  beforeAll(() => {
    bundle = makeBundle();
    initPath = join(bundle.dir, 'skiff-init');
    buildSkiffInit(initPath);
    // Freestanding: a few KB, no libc to carry into the guest.
    expect(statSync(initPath).size).toBeLessThan(16 * 1024);
  });
  afterAll(() => bundle?.cleanup());

  const spec = (script: string, init: boolean) => {
    const o: RuntimeSpecOptions = {
      process: { user: { uid: 0, gid: 0 }, args: ['/bin/sh', '-c', script], env: ['PATH=/bin'], cwd: '/' },
      rootPath: bundle.rootfs,
      hostname: 'init-test',
      init,
      initBinary: { path: initPath },
    };
    return buildRuntimeSpec(o);
  };

  it('PID 1 is the init, the command is its child, and the exit code passes through', () => {
    const r = crunRun(bundle, spec('tr "\\0" " " < /proc/1/cmdline; echo; echo child=$$ parent=$PPID; exit 5', true));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(5);
    expect(r.stdout.split('\n')).toEqual(['/sbin/docker-init -- /bin/sh -c tr "\\0" " " < /proc/1/cmdline; echo; echo child=$$ parent=$PPID; exit 5 ', 'child=2 parent=1', '']);
  });

  it('a command killed by a signal exits 128 + signal', () => {
    expect(crunRun(bundle, spec('kill -9 $$', true)).status).toBe(137);
  });

  it('forwards SIGTERM to a command that, as PID 1, would ignore it', () => {
    expect(crunSignal(bundle, spec('exec sleep 30', true), 'TERM').stdout.trim()).toBe('exited 143');
    // Without the init, sleep is PID 1: the kernel drops SIGTERM (no handler), it keeps running.
    expect(crunSignal(bundle, spec('exec sleep 30', false), 'TERM').stdout.trim()).toBe('running');
  });

  it('reaps orphaned zombies', () => {
    // Orphans are reparented to PID 1 and exit after the command has become `sleep`, which never
    // waits: without the init they stay zombies, with it they are reaped. Counted from an exec.
    const script = 'for i in 1 2 3 4 5; do (sleep 0.2 &) ; done; exec sleep 30';
    const counter = (s: ReturnType<typeof spec>) => ({
      ...s.process,
      args: ['/bin/sh', '-c', "sleep 0.6; cat /proc/[0-9]*/stat 2>/dev/null | awk '{print $3}' | grep -c Z; true"],
    });
    const withInit = spec(script, true);
    expect(crunExec(bundle, withInit, counter(withInit)).stdout.trim()).toBe('0');
    const without = spec(script, false);
    expect(crunExec(bundle, without, counter(without)).stdout.trim()).toBe('5');
  });
});
