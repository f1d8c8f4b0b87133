/**
 * cgroup v2 limits from the run flags, expressed in the runtime-spec's (v1-shaped) fields, which
 * crun 1.8.1 converts for the unified hierarchy: memory.limit -> memory.max, memory.swap (memory +
 * swap) -> memory.swap.max = swap - limit, pids.limit -> pids.max, cpu quota/period -> cpu.max.
 * Devices: deny all, then Docker's default allow list (enforced by a cgroup BPF program, which is
 * why the guest kernel has CGROUP_BPF: crun compiles one per container, or in the VM the agent's
 * one program on the containers' parent cgroup stands in for this exact list, see
 * runtime/vm/device-cgroup.ts; a change here must be made in vm-images/agent/devices.c too, which
 * test/runtime/vm/device-cgroup.test.ts checks).
 */
import type { OciDeviceRule, OciResources } from './types.ts';

/** Docker's --cpus period: 100 ms. */
export const CPU_PERIOD_US = 100_000;

/** Docker's default device cgroup rules (moby oci/devices_linux.go + defaults). */
export const DEFAULT_DEVICE_RULES: readonly OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // /dev/fuse: not by default
  { allow: true, type: 'c', access: 'm' }, // mknod of any char device
  { allow: true, type: 'b', access: 'm' }, // mknod of any block device
];

export interface ResourceLimits {
  memory?: number;
  /** Memory + swap, bytes; -1 unlimited. Docker's default with --memory alone: twice the memory. */
  memorySwap?: number;
  cpus?: number;
  pidsLimit?: number;
}

/** Docker's quota from NanoCpus: nano * period / 1e9 microseconds per period. */
export function cpuQuota(nanoCpus: number, period = CPU_PERIOD_US): number {
  return Math.floor((nanoCpus * period) / 1e9);
}

export function buildResources(run: ResourceLimits): OciResources {
  const resources: OciResources = { devices: DEFAULT_DEVICE_RULES.map((r) => ({ ...r })) };
  const memory = run.memory ?? 0;
  if (memory > 0) {
    const swap = run.memorySwap === undefined || run.memorySwap === 0 ? memory * 2 : run.memorySwap;
    resources.memory = { limit: memory, swap };
  } else if (run.memorySwap === -1) {
    resources.memory = { swap: -1 };
  }
  if (run.pidsLimit !== undefined && run.pidsLimit > 0) resources.pids = { limit: run.pidsLimit };
  if (run.cpus !== undefined && run.cpus > 0) resources.cpu = { quota: cpuQuota(run.cpus), period: CPU_PERIOD_US };
  return resources;
}
