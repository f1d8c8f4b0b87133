/* skiff-pool-init: the first process of a pooled container (agent/pool.c, PROTOCOL.md "Container
 * pool").
 *
 * crun starts it as the container's process, with Docker's confinement already in place
 * (namespaces, cgroup, capabilities, no_new_privs, seccomp, rlimits, masked paths), executed
 * through fd 3 (this binary, from the agent's root: `/proc/self/fd/3`, so nothing is mounted into
 * the container for it). It blocks reading fd 4 until the agent claims the container for a real
 * one: then it reads the real process (user, groups, cwd, argv, env), does what crun's
 * container_init_setup would have done for that process after the same confinement (chown the
 * std streams, setgroups, keep capabilities across setresgid/setresuid as crun's
 * set_required_caps does, chdir, find the executable as crun's find_executable does) and execs
 * it. EOF on fd 4 without a claim (the pool slot was dropped) exits 0.
 *
 * The claim: NUL-terminated fields "uid", "gid", "n", n group ids, "cwd", "argc", argc args,
 * then every remaining field is an environment entry. Built as a static i386 binary
 * (vm-images/initramfs/build.sh) at /sbin/skiff-pool-init. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SELF_FD 3
#define CLAIM_FD 4

static void die(int code, const char *what, const char *arg, int err) {
  dprintf(2, "skiff: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(err));
  _exit(code);
}

/* crun's check_access: executable for us and a regular file (else EPERM). */
static int check_access(const char *path) {
  struct stat st;
  if (eaccess(path, X_OK) < 0) return -1;
  if (stat(path, &st) < 0) return -1;
  if (!S_ISREG(st.st_mode)) { errno = EPERM; return -1; }
  return 0;
}

/* crun's find_executable: "./x" and "a/b" relative to cwd, absolute as is, else each $PATH entry. */
static char *find_executable(const char *exe, const char *cwd, const char *pathenv) {
  static char buf[4200];
  if (exe[0] == '.' || (exe[0] != '/' && strchr(exe, '/'))) {
    snprintf(buf, sizeof buf, "%s%s/%s", cwd[0] == '/' ? "" : "/", cwd, exe);
    exe = buf;
  }
  if (exe[0] == '/') return check_access(exe) == 0 ? (char *)exe : NULL;
  char *tmp = strdup(pathenv ? pathenv : ""), *end = tmp, *it;
  int last = ENOENT;
  while ((it = strsep(&end, ":"))) {
    if (it == end) it = ".";
    if ((size_t)snprintf(buf, sizeof buf, "%s/%s", it, exe) >= sizeof buf) continue;
    if (check_access(buf) == 0) return buf;
    if (errno != ENOENT) last = errno;
  }
  errno = last;
  return NULL;
}

int main(void) {
  size_t cap = 1 << 16, n = 0;
  char *msg = malloc(cap);
  for (;;) {
    if (n == cap) msg = realloc(msg, cap *= 2);
    ssize_t r = read(CLAIM_FD, msg + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(CLAIM_FD);
  close(SELF_FD);
  if (n == 0) _exit(0); /* dropped unclaimed */
  if (msg[n - 1] != 0) die(125, "pool claim", "(truncated)", EINVAL);
  char *f[8192];
  size_t nf = 0;
  for (char *s = msg; s < msg + n && nf < 8191; s += strlen(s) + 1) f[nf++] = s;
  f[nf] = NULL;
  size_t i = 0;
  if (nf < 5) die(125, "pool claim", "(short)", EINVAL);
  uid_t uid = (uid_t)strtoul(f[i++], NULL, 10);
  gid_t gid = (gid_t)strtoul(f[i++], NULL, 10);
  size_t ng = strtoul(f[i++], NULL, 10);
  if (ng > 1024 || i + ng + 2 > nf) die(125, "pool claim", "(groups)", EINVAL);
  gid_t groups[1024];
  for (size_t g = 0; g < ng; g++) groups[g] = (gid_t)strtoul(f[i++], NULL, 10);
  const char *cwd = f[i++];
  size_t argc = strtoul(f[i++], NULL, 10);
  if (argc == 0 || i + argc > nf) die(125, "pool claim", "(args)", EINVAL);
  char **argv = &f[i];
  i += argc;
  char *saved = f[i];
  f[i] = NULL; /* ends argv; the environment starts with `saved` */
  char *envbuf[8192];
  size_t ne = 0;
  if (saved) envbuf[ne++] = saved;
  for (size_t k = i + 1; k < nf; k++) envbuf[ne++] = f[k];
  envbuf[ne] = NULL;
  const char *pathenv = NULL;
  for (size_t k = 0; k < ne; k++) if (!strncmp(envbuf[k], "PATH=", 5)) pathenv = envbuf[k] + 5;

  /* As crun: std streams that are not ttys belong to the process's user. */
  for (int fd = 0; fd < 3; fd++) if (!isatty(fd)) fchown(fd, uid, gid);
  int chdir_done = chdir(cwd) == 0;
  char *exe = find_executable(argv[0], cwd, pathenv);
  if (!exe && errno == ENOENT) die(127, "executable file not found in $PATH:", argv[0], ENOENT);
  if (setgroups(ng, groups) < 0) die(125, "setgroups", NULL, errno);
  if (uid != 0 || gid != 0) {
    /* crun's set_required_caps: the capability sets survive the switch of user. */
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) die(125, "capget", NULL, errno);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die(125, "keepcaps", NULL, errno);
    if (setresgid(gid, gid, gid) < 0) die(125, "setresgid", NULL, errno);
    if (setresuid(uid, uid, uid) < 0) die(125, "setresuid", NULL, errno);
    if (syscall(SYS_capset, &h, d) < 0) die(125, "capset", NULL, errno);
  }
  if (!exe) {
    exe = find_executable(argv[0], cwd, pathenv);
    if (!exe) die(errno == ENOENT ? 127 : 126, "open executable", argv[0], errno);
  }
  if (!chdir_done && chdir(cwd) < 0) die(125, "chdir", cwd, errno);
  execve(exe, argv, envbuf);
  die(errno == ENOENT ? 127 : 126, "exec container process", exe, errno);
  return 0;
}
