/**
 * Test fixtures: an OCI bundle inside the guest whose rootfs is the initramfs's static busybox,
 * and a runtime-spec config.json shaped like `crun spec`'s, with the limits the tests need.
 */
import type { AgentClient } from '../../../src/runtime/vm/agent-client.ts';

export async function prepareBusyboxRootfs(agent: AgentClient, rootfs: string): Promise<void> {
  const p = await agent.spawn({
    args: ['sh', '-c', `set -e; mkdir -p ${rootfs}/bin ${rootfs}/proc ${rootfs}/sys ${rootfs}/dev ${rootfs}/tmp ${rootfs}/etc
      cp /bin/busybox ${rootfs}/bin/busybox; /bin/busybox --install -s ${rootfs}/bin
      echo 'root:x:0:0:root:/root:/bin/sh' > ${rootfs}/etc/passwd`],
  });
  const [err, st] = await Promise.all([p.stderr.text(), p.wait()]);
  if (st.exitCode !== 0) throw new Error(`preparing ${rootfs}: ${err}`);
}

export interface ConfigOptions {
  args: string[];
  tty?: boolean;
  hostname?: string;
  memoryMax?: number;
  pidsMax?: number;
  env?: string[];
}

export function busyboxConfig(o: ConfigOptions): object {
  const resources: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (o.memoryMax) resources.memory = { limit: o.memoryMax, swap: o.memoryMax };
  if (o.pidsMax) resources.pids = { limit: o.pidsMax };
  return {
    ociVersion: '1.0.0',
    process: {
      terminal: Boolean(o.tty),
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: ['PATH=/bin', 'TERM=xterm', ...(o.env ?? [])],
      cwd: '/',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: o.hostname ?? 'box',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources,
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
