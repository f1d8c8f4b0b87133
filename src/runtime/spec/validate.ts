/**
 * A host-side check of a config.json against the runtime-spec's JSON schema (config-schema.json,
 * config-linux.json, defs*.json) and the MUSTs of config.md / config-linux.md that the schema
 * does not encode (absolute cwd and mount destinations, no duplicate namespaces or rlimits, a
 * hostname only with a new UTS namespace). Catching these before the guest turns a crun error in
 * the VM into a clear error naming the field.
 */
import { SkiffError } from '../../errors.ts';

type Json = unknown;
const NAMESPACE_TYPES = new Set(['mount', 'pid', 'network', 'uts', 'ipc', 'user', 'cgroup']);
const SECCOMP_ACTIONS = new Set([
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
]);
const SECCOMP_OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);
const SECCOMP_ARCHES = new Set([
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64',
]);

class Checker {
  readonly problems: string[] = [];
  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }
  isObject(v: Json, path: string, required = false): v is Record<string, Json> {
    if (v === undefined) {
      if (required) this.fail(path, 'is required');
      return false;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.fail(path, 'must be an object');
      return false;
    }
    return true;
  }
  string(v: Json, path: string, opts: { required?: boolean; absolute?: boolean; pattern?: RegExp; oneOf?: Set<string> } = {}): void {
    if (v === undefined) {
      if (opts.required) this.fail(path, 'is required');
      return;
    }
    if (typeof v !== 'string') return this.fail(path, 'must be a string');
    if (opts.absolute && !v.startsWith('/')) this.fail(path, `must be an absolute path, got ${JSON.stringify(v)}`);
    if (opts.pattern && !opts.pattern.test(v)) this.fail(path, `${JSON.stringify(v)} does not match ${opts.pattern}`);
    if (opts.oneOf && !opts.oneOf.has(v)) this.fail(path, `${JSON.stringify(v)} is not one of ${[...opts.oneOf].join(', ')}`);
  }
  boolean(v: Json, path: string): void {
    if (v !== undefined && typeof v !== 'boolean') this.fail(path, 'must be a boolean');
  }
  integer(v: Json, path: string, min: number, max = Number.MAX_SAFE_INTEGER, required = false): void {
    if (v === undefined) {
      if (required) this.fail(path, 'is required');
      return;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(path, 'must be an integer');
    if (v < min || v > max) this.fail(path, `${v} is out of range ${min}..${max}`);
  }
  strings(v: Json, path: string, each?: (s: string, p: string) => void): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(path, 'must be an array of strings');
      return [];
    }
    v.forEach((s, i) => {
      if (typeof s !== 'string') this.fail(`${path}[${i}]`, 'must be a string');
      else each?.(s, `${path}[${i}]`);
    });
    return v.filter((s): s is string => typeof s === 'string');
  }
  array(v: Json, path: string, each: (item: Json, p: string) => void): void {
    if (v === undefined) return;
    if (!Array.isArray(v)) return this.fail(path, 'must be an array');
    v.forEach((item, i) => each(item, `${path}[${i}]`));
  }
}

const UINT32 = 0xffffffff;
const INT64 = Number.MAX_SAFE_INTEGER;

function checkProcess(c: Checker, p: Json): void {
  if (!c.isObject(p, 'process')) return;
  c.string(p.cwd, 'process.cwd', { required: true, absolute: true });
  const args = c.strings(p.args, 'process.args');
  if (p.args === undefined || args.length === 0) c.fail('process.args', 'must hold at least the program to run');
  c.strings(p.env, 'process.env', (e, path) => {
    if (!/^[^=]+=/.test(e)) c.fail(path, `${JSON.stringify(e)} is not KEY=value`);
  });
  c.boolean(p.terminal, 'process.terminal');
  c.boolean(p.noNewPrivileges, 'process.noNewPrivileges');
  c.integer(p.oomScoreAdj, 'process.oomScoreAdj', -1000, 1000);
  if (c.isObject(p.consoleSize, 'process.consoleSize')) {
    c.integer(p.consoleSize.height, 'process.consoleSize.height', 0, INT64, true);
    c.integer(p.consoleSize.width, 'process.consoleSize.width', 0, INT64, true);
  }
  if (c.isObject(p.user, 'process.user', true)) {
    c.integer(p.user.uid, 'process.user.uid', 0, UINT32, true);
    c.integer(p.user.gid, 'process.user.gid', 0, UINT32, true);
    c.integer(p.user.umask, 'process.user.umask', 0, 0o777);
    c.array(p.user.additionalGids, 'process.user.additionalGids', (g, path) => c.integer(g, path, 0, UINT32, true));
  }
  if (c.isObject(p.capabilities, 'process.capabilities')) {
    for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
      c.strings(p.capabilities[set], `process.capabilities.${set}`, (s, path) => c.string(s, path, { pattern: /^CAP_([A-Z]|_)+$/ }));
    }
  }
  const seen = new Set<string>();
  c.array(p.rlimits, 'process.rlimits', (r, path) => {
    if (!c.isObject(r, path)) return;
    c.string(r.type, `${path}.type`, { required: true, pattern: /^RLIMIT_[A-Z]+$/ });
    c.integer(r.soft, `${path}.soft`, 0, INT64, true);
    c.integer(r.hard, `${path}.hard`, 0, INT64, true);
    if (typeof r.type === 'string') {
      if (seen.has(r.type)) c.fail(`${path}.type`, `duplicate rlimit ${r.type}`);
      seen.add(r.type);
    }
    if (typeof r.soft === 'number' && typeof r.hard === 'number' && r.soft > r.hard) c.fail(path, 'soft limit above the hard limit');
  });
}

function checkLinux(c: Checker, l: Json, hostname: Json): void {
  if (!c.isObject(l, 'linux', true)) return;
  const types = new Set<string>();
  c.array(l.namespaces, 'linux.namespaces', (n, path) => {
    if (!c.isObject(n, path)) return;
    c.string(n.type, `${path}.type`, { required: true, oneOf: NAMESPACE_TYPES });
    c.string(n.path, `${path}.path`, { absolute: true });
    if (typeof n.type === 'string') {
      if (types.has(n.type)) c.fail(`${path}.type`, `duplicate namespace ${n.type}`);
      types.add(n.type);
    }
  });
  if (hostname !== undefined && !types.has('uts')) c.fail('hostname', 'needs a new uts namespace');
  c.string(l.cgroupsPath, 'linux.cgroupsPath');
  for (const key of ['maskedPaths', 'readonlyPaths'] as const) {
    c.strings(l[key], `linux.${key}`, (s, path) => c.string(s, path, { absolute: true }));
  }
  if (c.isObject(l.resources, 'linux.resources')) {
    const r = l.resources;
    c.array(r.devices, 'linux.resources.devices', (d, path) => {
      if (!c.isObject(d, path)) return;
      if (typeof d.allow !== 'boolean') c.fail(`${path}.allow`, 'is required and must be a boolean');
      c.string(d.type, `${path}.type`, { pattern: /^[acb]$/ });
      c.string(d.access, `${path}.access`, { pattern: /^(?!.*(.).*\1)[rwm]{1,3}$/ });
      c.integer(d.major, `${path}.major`, -1, INT64);
      c.integer(d.minor, `${path}.minor`, -1, INT64);
    });
    if (c.isObject(r.memory, 'linux.resources.memory')) {
      c.integer(r.memory.limit, 'linux.resources.memory.limit', -1, INT64);
      c.integer(r.memory.swap, 'linux.resources.memory.swap', -1, INT64);
      c.integer(r.memory.reservation, 'linux.resources.memory.reservation', -1, INT64);
    }
    if (c.isObject(r.pids, 'linux.resources.pids')) c.integer(r.pids.limit, 'linux.resources.pids.limit', -1, INT64, true);
    if (c.isObject(r.cpu, 'linux.resources.cpu')) {
      c.integer(r.cpu.quota, 'linux.resources.cpu.quota', -1, INT64);
      c.integer(r.cpu.period, 'linux.resources.cpu.period', 0, INT64);
      c.integer(r.cpu.shares, 'linux.resources.cpu.shares', 0, INT64);
    }
  }
  if (c.isObject(l.seccomp, 'linux.seccomp')) {
    const s = l.seccomp;
    c.string(s.defaultAction, 'linux.seccomp.defaultAction', { required: true, oneOf: SECCOMP_ACTIONS });
    c.strings(s.architectures, 'linux.seccomp.architectures', (a, path) => c.string(a, path, { oneOf: SECCOMP_ARCHES }));
    c.array(s.syscalls, 'linux.seccomp.syscalls', (sc, path) => {
      if (!c.isObject(sc, path)) return;
      if (c.strings(sc.names, `${path}.names`).length === 0) c.fail(`${path}.names`, 'must name at least one syscall');
      c.string(sc.action, `${path}.action`, { required: true, oneOf: SECCOMP_ACTIONS });
      c.integer(sc.errnoRet, `${path}.errnoRet`, 0, UINT32);
      c.array(sc.args, `${path}.args`, (a, ap) => {
        if (!c.isObject(a, ap)) return;
        c.integer(a.index, `${ap}.index`, 0, 5, true);
        c.integer(a.value, `${ap}.value`, 0, INT64, true);
        c.integer(a.valueTwo, `${ap}.valueTwo`, 0, INT64);
        c.string(a.op, `${ap}.op`, { required: true, oneOf: SECCOMP_OPS });
      });
    });
  }
}

/** Every problem found, as "field.path: what is wrong"; empty when the spec is valid. */
export function runtimeSpecProblems(spec: Json): string[] {
  const c = new Checker();
  if (!c.isObject(spec, 'config', true)) return c.problems;
  c.string(spec.ociVersion, 'ociVersion', { required: true, pattern: /^1\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/ });
  if (c.isObject(spec.root, 'root', true)) {
    c.string(spec.root.path, 'root.path', { required: true });
    c.boolean(spec.root.readonly, 'root.readonly');
  }
  c.string(spec.hostname, 'hostname');
  checkProcess(c, spec.process);
  c.array(spec.mounts, 'mounts', (m, path) => {
    if (!c.isObject(m, path)) return;
    c.string(m.destination, `${path}.destination`, { required: true, absolute: true });
    c.string(m.type, `${path}.type`);
    c.string(m.source, `${path}.source`);
    c.strings(m.options, `${path}.options`);
  });
  if (spec.annotations !== undefined && c.isObject(spec.annotations, 'annotations')) {
    for (const [k, v] of Object.entries(spec.annotations)) {
      if (k === '') c.fail('annotations', 'keys must not be empty');
      if (typeof v !== 'string') c.fail(`annotations.${k}`, 'must be a string');
    }
  }
  checkLinux(c, spec.linux, spec.hostname);
  return c.problems;
}

export function assertValidRuntimeSpec(spec: Json): void {
  const problems = runtimeSpecProblems(spec);
  if (problems.length > 0) {
    throw new SkiffError('INVALID_ARGUMENT', `invalid runtime spec: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
  }
}
