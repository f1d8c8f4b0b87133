import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { buildRuntimeSpec } from '../../../src/runtime/spec/bundle.ts';
import { parseTmpfs } from '../../../src/runtime/spec/volumes.ts';
import { assertValidRuntimeSpec, runtimeSpecProblems } from '../../../src/runtime/spec/validate.ts';
import type { RuntimeSpec } from '../../../src/runtime/spec/types.ts';
import { requireTool } from '../../helpers/peers.ts';

const full = (): RuntimeSpec =>
  buildRuntimeSpec({
    process: { user: { uid: 1000, gid: 1000, additionalGids: [10, 20] }, args: ['/bin/sh'], env: ['PATH=/bin', 'EMPTY='], cwd: '/home' },
    rootPath: '/r',
    hostname: 'h',
    readOnly: true,
    tty: true,
    consoleSize: { height: 24, width: 80 },
    resources: { memory: 64 << 20, memorySwap: -1, cpus: 5e8, pidsLimit: 64 },
    binds: [{ source: '/v', destination: '/data', readOnly: true }],
    tmpfs: [parseTmpfs('/run:size=1m')],
    etcDir: '/e',
    init: true,
    initBinary: { path: '/init' },
    cgroupsPath: '/skiff/x',
    annotations: { a: 'b' },
  });

describe('runtime spec validation', () => {
  it('accepts what buildRuntimeSpec generates, and crun\'s own `crun spec` output', () => {
    expect(runtimeSpecProblems(full())).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'skiff-validate-'));
    try {
      execFileSync(requireTool('/usr/bin/crun', 'crun:i386'), ['spec'], { cwd: dir });
      const theirs = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(runtimeSpecProblems(theirs)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, (s: any) => void, string]>([
    ['no ociVersion', (s) => delete s.ociVersion, 'ociVersion: is required'],
    ['relative cwd', (s) => (s.process.cwd = 'home'), 'process.cwd: must be an absolute path, got "home"'],
    ['no args', (s) => (s.process.args = []), 'process.args: must hold at least the program to run'],
    ['env without =', (s) => s.process.env.push('JUSTKEY'), 'process.env[2]: "JUSTKEY" is not KEY=value'],
    ['negative uid', (s) => (s.process.user.uid = -1), 'process.user.uid: -1 is out of range 0..4294967295'],
    ['string gid', (s) => (s.process.user.gid = '0'), 'process.user.gid: must be an integer'],
    ['bad capability', (s) => s.process.capabilities.bounding.push('chown'), 'process.capabilities.bounding[14]: "chown" does not match'],
    ['duplicate rlimit', (s) => s.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }), 'process.rlimits[1].type: duplicate rlimit RLIMIT_NOFILE'],
    ['soft over hard', (s) => (s.process.rlimits[0].soft = 4096), 'process.rlimits[0]: soft limit above the hard limit'],
    ['relative mount', (s) => (s.mounts[0].destination = 'proc'), 'mounts[0].destination: must be an absolute path, got "proc"'],
    ['duplicate namespace', (s) => s.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[6].type: duplicate namespace pid'],
    ['unknown namespace', (s) => (s.linux.namespaces[0].type = 'time'), 'linux.namespaces[0].type: "time" is not one of'],
    ['hostname without uts', (s) => (s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'uts')), 'hostname: needs a new uts namespace'],
    ['device access', (s) => (s.linux.resources.devices[1].access = 'rwx'), 'linux.resources.devices[1].access: "rwx" does not match'],
    ['device allow missing', (s) => delete s.linux.resources.devices[0].allow, 'linux.resources.devices[0].allow: is required'],
    ['seccomp action', (s) => (s.linux.seccomp.defaultAction = 'ALLOW'), 'linux.seccomp.defaultAction: "ALLOW" is not one of'],
    ['seccomp arg index', (s) => (s.linux.seccomp.syscalls[1].args[0].index = 6), 'linux.seccomp.syscalls[1].args[0].index: 6 is out of range 0..5'],
    ['relative masked path', (s) => s.linux.maskedPaths.push('proc/x'), 'must be an absolute path, got "proc/x"'],
    ['no linux', (s) => delete s.linux, 'linux: is required'],
  ])('reports %s', (_name, mutate, expected) => {
    const spec = structuredClone(full());
    mutate(spec);
    const problems = runtimeSpecProblems(spec);
    expect(problems.some((p) => p.includes(expected)), problems.join('\n')).toBe(true);
  });

  it('buildRuntimeSpec refuses bad API input with INVALID_ARGUMENT naming the field', () => {
    try {
      buildRuntimeSpec({ process: { user: { uid: 0, gid: 0 }, args: ['x'], env: [], cwd: 'rel' }, rootPath: '/r', hostname: 'h' });
      throw new Error('expected an error');
    } catch (err) {
      expect(isSkiffError(err, 'INVALID_ARGUMENT')).toBe(true);
      expect((err as Error).message).toBe('invalid runtime spec: process.cwd: must be an absolute path, got "rel"');
    }
    expect(() => assertValidRuntimeSpec(null)).toThrow('invalid runtime spec: config: must be an object');
  });
});
