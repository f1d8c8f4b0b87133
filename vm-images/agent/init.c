/* PID 1 duties after switch_root: the mounts, cgroup controllers and hostname a container host
 * needs. Done in C rather than in the init script: each busybox command costs a fork+exec, which
 * is tens of milliseconds in the emulator. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *opts) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, flags, opts) < 0) dprintf(2, "skiff-agent: mount %s on %s: %s\n", type, dst, strerror(errno));
}

static void put(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, s, strlen(s)) < 0) dprintf(2, "skiff-agent: write %s: %s\n", path, strerror(errno));
  if (fd >= 0) close(fd);
}

void setup_system(void) {
  const unsigned long nodev = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  mnt("proc", "/proc", "proc", nodev, NULL);
  mnt("sysfs", "/sys", "sysfs", nodev, NULL);
  mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  int fd = open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd >= 0) { dup2(fd, 0); dup2(fd, 1); dup2(fd, 2); if (fd > 2) close(fd); }
  mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  unlink("/dev/ptmx");
  symlink("pts/ptmx", "/dev/ptmx");
  mnt("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mnt("cgroup2", "/sys/fs/cgroup", "cgroup2", nodev, "nsdelegate");
  /* Controllers for the containers' cgroups: memory.max, pids.max, cpu.max. */
  put("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids +cpu");
  mnt("run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mnt("tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mkdir("/run/skiff", 0700);
  mkdir("/run/crun", 0700);
  sethostname("skiff", 5);
}
