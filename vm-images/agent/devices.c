/* Docker's default device policy, enforced once for every container under the containers' parent
 * cgroup.
 *
 * On cgroup v2 crun enforces a container's linux.resources.devices by compiling a BPF program and
 * attaching it to the container's cgroup: ~2-3 M guest instructions of every container start in
 * the emulator (the verifier and the attach), for a policy that is the same for every container
 * skiff starts. crun 1.8.1 builds no program when the list is empty (cgroup-resources.c:
 * update_cgroup_v2_resources checks devices_len). So the agent attaches the policy once, at boot,
 * to DEVICES_CGROUP, and the host leaves the rules out of the config of a container whose rules
 * are exactly the default and that it puts under that cgroup (src/runtime/vm/device-cgroup.ts).
 * A program attached with BPF_F_ALLOW_MULTI runs for every cgroup below, each attached program
 * must allow an access, and a container has no CAP_SYS_ADMIN to detach it (nor sees that cgroup:
 * its cgroup namespace starts at its own). Containers with other rules keep crun's own program,
 * in a cgroup outside this one (the two programs would otherwise both have to allow).
 *
 * The policy (src/runtime/spec/resources.ts DEFAULT_DEVICE_RULES, as crun applies it: its own
 * default allow list first, then the rules last to first, the first match decides; a test reads
 * this table and compares): mknod of any character or block device; read, write and mknod of the
 * character devices below; nothing else. */
#define _GNU_SOURCE
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

/* type 'c'/'b', major/minor (-1: any), access from "rwm". */
struct dev_rule { char type; int major, minor; const char *access; };

static const struct dev_rule policy[] = {
  /* device-policy-table-begin */
  {'c', -1, -1, "m"},
  {'b', -1, -1, "m"},
  {'c', 1, 3, "rwm"},    /* null */
  {'c', 1, 5, "rwm"},    /* zero */
  {'c', 1, 7, "rwm"},    /* full */
  {'c', 1, 8, "rwm"},    /* random */
  {'c', 1, 9, "rwm"},    /* urandom */
  {'c', 5, 0, "rwm"},    /* tty */
  {'c', 5, 1, "rwm"},    /* console */
  {'c', 5, 2, "rwm"},    /* ptmx */
  {'c', 136, -1, "rwm"}, /* pts/N */
  {'c', 10, 200, "rwm"}, /* net/tun */
  /* device-policy-table-end */
};

static char attached[32];

const char *devices_cgroup(void) { return attached[0] ? attached : NULL; }

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

/* The program sees struct bpf_cgroup_dev_ctx in r1: access_type (device type in the low 16 bits,
 * BPF_DEVCG_ACC_* in the high 16), major, minor. Each rule is a block that jumps past itself when
 * a field differs and returns 1 otherwise; after the last block, 0. */
static size_t build(struct bpf_insn *p) {
  size_t n = 0;
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
  p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
  p[n++] = INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
  for (size_t r = 0; r < sizeof policy / sizeof policy[0]; r++) {
    const struct dev_rule *d = &policy[r];
    int acc = (strchr(d->access, 'r') ? BPF_DEVCG_ACC_READ : 0) | (strchr(d->access, 'w') ? BPF_DEVCG_ACC_WRITE : 0) |
              (strchr(d->access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0);
    int all = acc == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
    /* Instructions in the block before its two-instruction "return 1". */
    int checks = 1 + (all ? 0 : 3) + (d->major >= 0) + (d->minor >= 0);
    int left = checks; /* jump offsets count from the next instruction to the end of the block */
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, (short)(--left + 2), d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    if (!all) {
      /* Every requested access must be one the rule grants: (req & acc) == req. */
      p[n++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_3, 0, 0);
      p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_0, 0, 0, acc);
      left -= 2;
      p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_0, BPF_REG_3, (short)(--left + 2), 0);
    }
    if (d->major >= 0) p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, (short)(--left + 2), d->major);
    if (d->minor >= 0) p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, (short)(--left + 2), d->minor);
    p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
    p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
  p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return n;
}

/* At boot, before the snapshot: creates CGROUP_ROOT<parent> and attaches the policy there. On any
 * failure nothing is advertised, and the host keeps giving every container its rules. */
void devices_init(const char *parent) {
  char path[64];
  snprintf(path, sizeof path, CGROUP_ROOT "%s", parent);
  if (mkdir(path, 0755) < 0 && errno != EEXIST) goto fail;
  int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) goto fail;
  struct bpf_insn prog[128];
  char log[4096] = "";
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)prog;
  a.insn_cnt = (uint32_t)build(prog);
  a.license = (uint64_t)(uintptr_t)"GPL";
  int fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (fd < 0) { /* again with the verifier's log, for the message (it fails with ENOSPC if the log overflows) */
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = sizeof log;
    a.log_level = 1;
    fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
  }
  if (fd < 0) { dprintf(2, "skiff-agent: device policy: bpf load: %s\n%s\n", strerror(errno), log); close(dir); return; }
  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)dir;
  a.attach_bpf_fd = (uint32_t)fd;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  int r = (int)syscall(__NR_bpf, BPF_PROG_ATTACH, &a, sizeof a);
  int e = errno;
  close(fd); /* the attachment holds the program */
  close(dir);
  if (r < 0) { errno = e; goto fail; }
  snprintf(attached, sizeof attached, "%s", parent);
  return;
fail:
  dprintf(2, "skiff-agent: device policy on %s: %s\n", path, strerror(errno));
}
