/**
 * The container's mount table: Docker's defaults (moby oci/defaults.go), the three generated /etc
 * files, volumes, binds and tmpfs, plus Docker's masked and read-only paths. Sources of bind mounts
 * are guest paths: the guest agent must have mounted or written them before `crun run`.
 */
import type { OciMount } from './types.ts';
import type { TmpfsSpec } from './volumes.ts';
import { cleanPath, type Propagation } from './volumes.ts';

/** Docker's default mounts, in its order. /dev holds the nodes crun creates (null, zero, ...). */
export function defaultMounts(options: { shmSize?: number } = {}): OciMount[] {
  const shmKiB = Math.floor((options.shmSize ?? 64 * 1024 * 1024) / 1024);
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmKiB}k`] },
  ];
}

/** Docker's masked paths (bind-mounted over with /dev/null or an empty read-only tmpfs). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's read-only paths. */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface EtcMountSources {
  /** Guest directory holding `hosts`, `hostname` and `resolv.conf` written for this container. */
  dir: string;
}

/** /etc/hosts, /etc/hostname, /etc/resolv.conf; writable unless the root is read-only (Docker). */
export function etcMounts(sources: EtcMountSources, readOnlyRoot: boolean): OciMount[] {
  const opts = ['rbind', 'rprivate', ...(readOnlyRoot ? ['ro'] : [])];
  const dir = sources.dir.replace(/\/+$/, '');
  return [
    { destination: '/etc/resolv.conf', type: 'bind', source: `${dir}/resolv.conf`, options: [...opts] },
    { destination: '/etc/hostname', type: 'bind', source: `${dir}/hostname`, options: [...opts] },
    { destination: '/etc/hosts', type: 'bind', source: `${dir}/hosts`, options: [...opts] },
  ];
}

/** A volume or host directory after the guest mounted it: `source` is the guest path. */
export interface BindMount {
  source: string;
  destination: string;
  readOnly: boolean;
  propagation?: Propagation;
}

export function bindMount(m: BindMount): OciMount {
  return {
    destination: cleanPath(m.destination),
    type: 'bind',
    source: m.source,
    options: ['rbind', m.propagation ?? 'rprivate', ...(m.readOnly ? ['ro'] : [])],
  };
}

export function tmpfsMount(t: TmpfsSpec): OciMount {
  return { destination: t.destination, type: 'tmpfs', source: 'tmpfs', options: [...t.options] };
}

/**
 * Merge in Docker's order: user mounts replace a default at the same destination (e.g.
 * `--tmpfs /dev/shm`), and a parent is mounted before anything below it.
 */
export function mergeMounts(defaults: readonly OciMount[], user: readonly OciMount[]): OciMount[] {
  const userDest = new Set(user.map((m) => m.destination));
  const kept = defaults.filter((m) => !userDest.has(m.destination));
  // Stable sort by depth so /data is mounted before /data/sub whatever the flag order was.
  const depth = (m: OciMount): number => (m.destination === '/' ? 0 : m.destination.split('/').length - 1);
  const sortedUser = user.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map((x) => x.m);
  return [...kept, ...sortedUser];
}
