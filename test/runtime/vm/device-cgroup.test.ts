/**
 * The device policy the agent attaches to the containers' parent cgroup (vm-images/agent/devices.c)
 * against the rules a container config carries (spec/resources.ts), and where the runtime puts a
 * container's cgroup and which rules its config keeps (runtime/vm/device-cgroup.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DEVICE_RULES } from '../../../src/runtime/spec/resources.ts';
import { buildRuntimeSpec } from '../../../src/runtime/spec/bundle.ts';
import type { OciDeviceRule } from '../../../src/runtime/spec/types.ts';
import { isDefaultDeviceRules, placeCgroup } from '../../../src/runtime/vm/device-cgroup.ts';

interface Req { type: 'c' | 'b'; major: number; minor: number; access: string }
interface Rule { type: 'a' | 'c' | 'b'; major: number; minor: number; access: string; allow: boolean }

/** Whether `r` matches request `q` as a device-cgroup rule does: every requested access granted. */
const matches = (r: Rule, q: Req): boolean =>
  (r.type === 'a' || r.type === q.type) && (r.major < 0 || r.major === q.major) && (r.minor < 0 || r.minor === q.minor) &&
  [...q.access].every((a) => r.access.includes(a));

/** crun 1.8.1's program for a container's rules (cgroup-resources.c, ebpf.c): its own default allow
 * list first, then the container's rules from last to first; the first match decides; else deny. */
function crunDecides(rules: readonly OciDeviceRule[], q: Req): boolean {
  const crunDefaults: Rule[] = [
    ['c', -1, -1, 'm'], ['b', -1, -1, 'm'], ['c', 1, 3, 'rwm'], ['c', 1, 8, 'rwm'], ['c', 1, 7, 'rwm'], ['c', 5, 0, 'rwm'],
    ['c', 1, 5, 'rwm'], ['c', 1, 9, 'rwm'], ['c', 5, 1, 'rwm'], ['c', 136, -1, 'rwm'], ['c', 5, 2, 'rwm'],
  ].map(([type, major, minor, access]) => ({ type, major, minor, access, allow: true }) as Rule);
  const own: Rule[] = [...rules].reverse().map((r) => ({ type: r.type ?? 'a', major: r.major ?? -1, minor: r.minor ?? -1, access: r.access ?? 'rwm', allow: r.allow }));
  return [...crunDefaults, ...own].find((r) => matches(r, q))?.allow ?? false;
}

/** The agent's table (devices.c, between its markers): allow rules, the first match decides; else deny. */
function agentPolicy(): Rule[] {
  const src = readFileSync(new URL('../../../vm-images/agent/devices.c', import.meta.url), 'utf8');
  const table = /device-policy-table-begin \*\/([\s\S]*?)\/\* device-policy-table-end/.exec(src)?.[1] ?? '';
  return [...table.matchAll(/\{'([cb])', (-?\d+), (-?\d+), "([rwm]+)"\}/g)].map((m) => ({ type: m[1] as 'c' | 'b', major: Number(m[2]), minor: Number(m[3]), access: m[4]!, allow: true }));
}

describe('the agent\'s device policy', () => {
  it('decides every access as crun decides it for Docker\'s default rules', () => {
    const policy = agentPolicy();
    expect(policy.length).toBeGreaterThan(10);
    const majors = [0, 1, 4, 5, 7, 8, 10, 13, 136, 180, 254];
    const minors = [0, 1, 2, 3, 5, 7, 8, 9, 11, 200, 229];
    const accesses = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm'];
    let allowed = 0, checked = 0;
    for (const type of ['c', 'b'] as const) for (const major of majors) for (const minor of minors) for (const access of accesses) {
      const q = { type, major, minor, access };
      const want = crunDecides(DEFAULT_DEVICE_RULES, q);
      expect(policy.some((r) => matches(r, q)), `${type} ${major}:${minor} ${access}`).toBe(want);
      checked++;
      if (want && access !== 'm') allowed++;
    }
    // Not vacuous: some reads and writes are allowed, most are not.
    expect(allowed).toBeGreaterThan(20);
    expect(allowed).toBeLessThan(checked / 4);
  });
});

describe('placing a container\'s cgroup', () => {
  const spec = buildRuntimeSpec({ process: { args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0 } }, rootPath: '/r', hostname: 'h', cgroupsPath: '/skiff/c1', resources: { memory: 1 << 24 } });

  it('leaves the default rules to the parent\'s policy', () => {
    expect(isDefaultDeviceRules(spec.linux.resources?.devices)).toBe(true);
    const p = placeCgroup(spec, 'c1', '/skiff', '/skiff');
    expect(p).toMatchObject({ cgroupsPath: '/skiff/c1', sharedDevicePolicy: true });
    expect(p.config.linux.resources).toEqual({ memory: spec.linux.resources?.memory });
    expect(p.config.linux.cgroupsPath).toBe('/skiff/c1');
    // The spec itself is not changed (the runtime keeps it for execs).
    expect(spec.linux.resources?.devices).toHaveLength(DEFAULT_DEVICE_RULES.length);
  });

  it('keeps a container\'s own rules, outside the policy\'s tree, when they are not the default', () => {
    const fuse: OciDeviceRule = { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' };
    const custom = { ...spec, linux: { ...spec.linux, resources: { ...spec.linux.resources, devices: [...DEFAULT_DEVICE_RULES, fuse] } } };
    expect(isDefaultDeviceRules(custom.linux.resources.devices)).toBe(false);
    const p = placeCgroup(custom, 'c1', '/skiff', '/skiff');
    expect(p).toMatchObject({ cgroupsPath: '/skiff-devices/c1', sharedDevicePolicy: false });
    expect(p.config.linux.resources?.devices).toEqual(custom.linux.resources.devices);
    // A device node of its own (--device) keeps the per-container program too.
    const node = { ...spec, linux: { ...spec.linux, devices: [{ path: '/dev/fuse', type: 'c' as const, major: 10, minor: 229 }] } };
    expect(placeCgroup(node, 'c1', '/skiff', '/skiff')).toMatchObject({ cgroupsPath: '/skiff-devices/c1', sharedDevicePolicy: false });
    // Reordered default rules decide differently under crun's last-match order: not the default.
    expect(isDefaultDeviceRules([...DEFAULT_DEVICE_RULES].reverse())).toBe(false);
    expect(isDefaultDeviceRules(undefined)).toBe(false);
  });

  it('keeps every container\'s rules when the agent attached no policy, or one elsewhere', () => {
    for (const policy of [undefined, '/other']) {
      const p = placeCgroup(spec, 'c1', '/skiff', policy);
      expect(p).toMatchObject({ cgroupsPath: '/skiff/c1', sharedDevicePolicy: false });
      expect(p.config.linux.resources?.devices).toEqual(spec.linux.resources?.devices);
    }
    // A parent below the policy's cgroup is covered by it.
    expect(placeCgroup(spec, 'c1', '/skiff/sub', '/skiff')).toMatchObject({ cgroupsPath: '/skiff/sub/c1', sharedDevicePolicy: true });
    expect(placeCgroup(spec, 'c1', '/skiffy', '/skiff')).toMatchObject({ cgroupsPath: '/skiffy/c1', sharedDevicePolicy: false });
  });
});
