/**
 * A container's cgroup in the guest, and whether its config.json carries its device rules.
 *
 * crun enforces `linux.resources.devices` on cgroup v2 by compiling a BPF program per container
 * and attaching it to the container's cgroup: ~2-3 M emulated instructions of each start, for rules
 * that are Docker's default for every container skiff makes. From agent 0.3.1 on, the agent
 * attaches that default policy once, at boot, to a parent cgroup and names it in HELLO
 * (`devices_cgroup`, vm-images/agent/devices.c). A container whose rules are exactly the default
 * and whose cgroup is below that parent then gets a config without rules (crun 1.8.1 attaches no
 * program for an empty list): the parent's program decides for it, the same policy. A container
 * with other rules must not be below it (both programs would have to allow, so an extra allowed
 * device would stay denied): it goes into a sibling tree and keeps its rules, compiled by crun.
 * An agent that names no parent: every container keeps its rules, as before.
 */
import { DEFAULT_DEVICE_RULES } from '../spec/resources.ts';
import type { OciDeviceRule, RuntimeSpec } from '../spec/types.ts';

export interface CgroupPlacement {
  /** The config to hand crun: `spec` itself, or a copy without device rules or with another cgroup. */
  config: RuntimeSpec;
  /** Its cgroupsPath: the cgroup below /sys/fs/cgroup. */
  cgroupsPath: string;
  /** True when the parent's policy stands in for the container's own rules. */
  sharedDevicePolicy: boolean;
}

const ruleKey = (r: OciDeviceRule): string => `${r.allow}:${r.type ?? 'a'}:${r.major ?? '*'}:${r.minor ?? '*'}:${r.access ?? ''}`;
const DEFAULT_KEYS = DEFAULT_DEVICE_RULES.map(ruleKey);

/** True when `rules` are Docker's default device rules, in the same order. */
export function isDefaultDeviceRules(rules: readonly OciDeviceRule[] | undefined): boolean {
  return rules !== undefined && rules.length === DEFAULT_KEYS.length && rules.every((r, i) => ruleKey(r) === DEFAULT_KEYS[i]);
}

/** Whether cgroup `path` is `parent` or below it. */
const within = (path: string, parent: string): boolean => path === parent || path.startsWith(`${parent}/`);

/**
 * Where container `id` of `spec` goes under `parent` (the runtime's cgroup parent), given the
 * cgroup the guest's device policy is attached to (HELLO's `devices_cgroup`, undefined: none).
 */
export function placeCgroup(spec: RuntimeSpec, id: string, parent: string, policyCgroup: string | undefined): CgroupPlacement {
  const path = `${parent}/${id}`;
  const withPath = (config: RuntimeSpec, cgroupsPath: string, shared: boolean): CgroupPlacement =>
    ({ config: { ...config, linux: { ...config.linux, cgroupsPath } }, cgroupsPath, sharedDevicePolicy: shared });
  if (!policyCgroup || !within(path, policyCgroup)) return withPath(spec, path, false);
  const resources = spec.linux.resources;
  if (resources && isDefaultDeviceRules(resources.devices) && !spec.linux.devices?.length) {
    const { devices: _, ...rest } = resources;
    return withPath({ ...spec, linux: { ...spec.linux, resources: rest } }, path, true);
  }
  // Other rules: the same place in a sibling tree the policy does not cover.
  return withPath(spec, `${policyCgroup}-devices${path.slice(policyCgroup.length)}`, false);
}
