/**
 * A default seccomp posture in the spirit of Docker's profile, but as a small deny list instead of
 * Docker's ~370-entry allow list: everything is allowed except what Docker's profile refuses to a
 * container without extra capabilities (kernel modules, keyrings, mount API, namespaces, ptrace,
 * clock setting, reboot, swap, bpf, perf, io_uring, userfaultfd, ...), which fail with EPERM;
 * clone3 fails with ENOSYS so libcs fall back to clone, whose namespace flags are refused.
 *
 * Why a deny list: the allow list is large and version-coupled (every new syscall a libc starts
 * using breaks until listed), and it costs crun time to compile on a slow emulated CPU. Many of the
 * denied calls are also stopped by the missing capability; the list is defence in depth, notably
 * for unshare(CLONE_NEWUSER) and keyctl, which need no capability.
 *
 * Names are i386 (the guest); crun/libseccomp 2.5 skips names unknown on the architecture.
 */
import type { OciSeccomp, OciSeccompSyscall } from './types.ts';

export const EPERM = 1;
export const ENOSYS = 38;

export const DENIED_SYSCALLS: readonly string[] = [
  'acct', 'add_key', 'bpf', 'clock_adjtime', 'clock_adjtime64', 'clock_settime', 'clock_settime64',
  'create_module', 'delete_module', 'fanotify_init', 'finit_module', 'fsconfig', 'fsmount', 'fsopen',
  'fspick', 'get_kernel_syms', 'get_mempolicy', 'init_module', 'io_uring_enter', 'io_uring_register',
  'io_uring_setup', 'ioperm', 'iopl', 'kcmp', 'kexec_file_load', 'kexec_load', 'keyctl',
  'lookup_dcookie', 'mbind', 'mount', 'mount_setattr', 'move_mount', 'move_pages',
  'name_to_handle_at', 'nfsservctl', 'open_by_handle_at', 'open_tree', 'perf_event_open',
  'pidfd_getfd', 'pivot_root', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace',
  'query_module', 'quotactl', 'quotactl_fd', 'reboot', 'request_key', 'set_mempolicy', 'setns',
  'settimeofday', 'stime', 'swapoff', 'swapon', 'syslog', 'sysfs', '_sysctl', 'umount', 'umount2',
  'unshare', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old',
];

/** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: Docker's mask 0x7E020000. */
export const CLONE_NAMESPACE_FLAGS: readonly number[] = [
  0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
];

export interface SeccompOptions {
  /** Extra syscall names to deny with EPERM. */
  deny?: readonly string[];
  /** Syscalls to take off the deny list (like a custom profile would). */
  allow?: readonly string[];
}

export function defaultSeccompProfile(options: SeccompOptions = {}): OciSeccomp {
  const allow = new Set(options.allow ?? []);
  const names = [...new Set([...DENIED_SYSCALLS, ...(options.deny ?? [])])].filter((n) => !allow.has(n)).sort();
  const syscalls: OciSeccompSyscall[] = [{ names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];
  if (!allow.has('clone')) {
    // One rule per flag: libseccomp ANDs the args of a rule, so "any flag set" needs separate rules.
    for (const flag of CLONE_NAMESPACE_FLAGS) {
      syscalls.push({
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
      });
    }
  }
  if (!allow.has('clone3')) syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'], syscalls };
}
