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

export function crunRun(bundle: Bundle, spec: RuntimeSpec): CrunResult {
  writeFileSync(join(bundle.dir, 'config.json'), JSON.stringify(spec, null, 2));
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
    `exec ${CRUN} --root "$1" --cgroup-manager=disabled run --bundle "$2" "$3"`,
  ].join('\n');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', state, bundle.dir, id], { timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/**
 * Starts the container detached, runs `crun exec --process` with `process` inside it, then kills
 * and deletes the container. Returns the exec's result.
 */
export function crunExec(bundle: Bundle, spec: RuntimeSpec, process: object): CrunResult {
  writeFileSync(join(bundle.dir, 'config.json'), JSON.stringify(spec, null, 2));
  writeFileSync(join(bundle.dir, 'process.json'), JSON.stringify(process, null, 2));
  const state = join(bundle.dir, 'state');
  mkdirSync(state, { recursive: true });
  const id = `skiff-spec-${globalThis.process.pid}-${++counter}`;
  const script = [
    'set -e',
    'mount --make-rprivate /',
    'if [ -d /sys/fs/cgroup/unified ] || ! grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts; then',
    '  umount -l /sys/fs/cgroup 2>/dev/null || true',
    '  mount -t cgroup2 none /sys/fs/cgroup',
    'fi',
    `C="${CRUN} --root $1 --cgroup-manager=disabled"`,
    '$C run -d --bundle "$2" "$3" </dev/null >/dev/null',
    'set +e',
    '$C exec --process "$2/process.json" "$3"',
    'rc=$?',
    '$C kill "$3" KILL 2>/dev/null; $C delete -f "$3" 2>/dev/null',
    'exit $rc',
  ].join('\n');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', state, bundle.dir, id], { timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function listDir(path: string): string[] {
  return readdirSync(path).sort();
}
