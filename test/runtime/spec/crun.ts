/**
 * Runs a generated bundle with the real crun 1.8.1 (Debian's i386 build) on this machine, with a
 * static i386 busybox as the root filesystem. crun refuses hybrid cgroup hierarchies, so each run
 * happens in a private mount namespace where /sys/fs/cgroup is a lone cgroup2 mount, and with
 * `--cgroup-manager=disabled`: limits are not enforced here (the guest kernel test does that), but
 * namespaces, mounts, capabilities, no_new_privs, rlimits, seccomp, masked paths, users and the
 * process all are.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RuntimeSpec } from '../../../src/runtime/spec/types.ts';

export const CRUN = '/usr/bin/crun';
export const BUSYBOX = '/bin/busybox';

/** Why crun cannot run here, or undefined when it can. */
export function crunUnavailable(): string | undefined {
  if (!existsSync(CRUN)) return `${CRUN} is not installed (apt-get install crun:i386)`;
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is not installed (apt-get install busybox-static:i386)`;
  if (process.getuid?.() !== 0) return 'crun needs root here (the tests create namespaces and mounts)';
  const probe = spawnSync('unshare', ['-m', 'true']);
  if (probe.status !== 0) return `unshare -m failed: ${probe.stderr.toString().trim()}`;
  return undefined;
}

/**
 * describe() for suites that need the real crun. As root (CI) every prerequisite must be present,
 * so a missing one fails the suite with the reason. Without root, crun cannot create the namespaces
 * and mounts these tests need on this host: the suite is skipped, and the reason is printed.
 */
export function describeWithCrun(name: string, body: () => void): void {
  const why = crunUnavailable();
  if (why === undefined) {
    describe(name, body);
  } else if (process.getuid?.() === 0) {
    describe(name, () => it('has crun, busybox and unshare', () => expect.fail(`${name}: ${why}`)));
  } else {
    console.warn(`skipped "${name}": ${why}`);
    describe.skip(name, body);
  }
}

export interface Bundle {
  dir: string;
  rootfs: string;
  cleanup(): void;
}

/** A bundle directory with a busybox rootfs (every applet linked into /bin). */
export function makeBundle(): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bundle-'));
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  const applets = execFileSync(BUSYBOX, ['--list']).toString().split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  return { dir, rootfs, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let counter = 0;

export interface CrunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Writes config.json (and any extra files) into the bundle, then runs `body` in a private mount
 * namespace prepared for crun. In `body`: $C is the crun command, $B the bundle, $ID a fresh id.
 */
export function crunScript(bundle: Bundle, spec: RuntimeSpec, body: string[], files: Record<string, string> = {}): CrunResult {
  writeFileSync(join(bundle.dir, 'config.json'), JSON.stringify(spec, null, 2));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(bundle.dir, name), text);
  const state = join(bundle.dir, 'state');
  mkdirSync(state, { recursive: true });
  const id = `skiff-spec-${process.pid}-${++counter}`;
  const script = [
    'set -e',
    'mount --make-rprivate /',
    'if [ -d /sys/fs/cgroup/unified ] || ! grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts; then',
    '  umount -l /sys/fs/cgroup 2>/dev/null || true',
    '  mount -t cgroup2 none /sys/fs/cgroup',
    'fi',
    `C="${CRUN} --root $1 --cgroup-manager=disabled"`,
    'B="$2"; ID="$3"',
    'set +e',
    ...body,
  ].join('\n');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', state, bundle.dir, id], { timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function crunRun(bundle: Bundle, spec: RuntimeSpec): CrunResult {
  return crunScript(bundle, spec, ['exec $C run --bundle "$B" "$ID"']);
}

/**
 * Starts the container detached, runs `crun exec --process` with `process` inside it, then kills
 * and deletes the container. Returns the exec's result.
 */
export function crunExec(bundle: Bundle, spec: RuntimeSpec, process: object): CrunResult {
  return crunScript(
    bundle,
    spec,
    [
      '$C run -d --bundle "$B" "$ID" </dev/null >/dev/null || exit 99',
      '$C exec --process "$B/process.json" "$ID"',
      'rc=$?',
      '$C kill "$ID" KILL 2>/dev/null; $C delete -f "$ID" 2>/dev/null',
      'exit $rc',
    ],
    { 'process.json': JSON.stringify(process, null, 2) },
  );
}

/**
 * Runs the container in the background, sends `signal` after `delay` seconds, and reports
 * "exited <code>" or "running" one second later (then kills it).
 */
export function crunSignal(bundle: Bundle, spec: RuntimeSpec, signal: string, delay = 0.5): CrunResult {
  return crunScript(bundle, spec, [
    '$C run --bundle "$B" "$ID" </dev/null & pid=$!',
    `sleep ${delay}`,
    `$C kill "$ID" ${signal}`,
    'for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 $pid 2>/dev/null || break; sleep 0.1; done',
    'if kill -0 $pid 2>/dev/null; then echo running; $C kill "$ID" KILL; wait $pid; else wait $pid; echo "exited $?"; fi',
    '$C delete -f "$ID" 2>/dev/null; true',
  ]);
}

export function listDir(path: string): string[] {
  return readdirSync(path).sort();
}
