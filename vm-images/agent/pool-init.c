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
 * then every remaining field is an environment entry (at most 64 KiB in all).
 *
 * Freestanding i386 (raw system calls, no libc): every pooled container's snapshot holds it, and
 * a static glibc build is 0.7 MB. Built by vm-images/initramfs/build.sh at /sbin/skiff-pool-init. */

#define SELF_FD 3
#define CLAIM_FD 4
#define MAX_CLAIM 65536

enum {
  SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_close = 6, SYS_execve = 11, SYS_chdir = 12,
  SYS_access = 33, SYS_ioctl = 54, SYS_prctl = 172, SYS_capget = 184, SYS_capset = 185,
  SYS_stat64 = 195, SYS_setgroups32 = 206, SYS_fchown32 = 207, SYS_setresuid32 = 208,
  SYS_setresgid32 = 210,
};
enum { EPERM = 1, ENOENT = 2, EINTR = 4, ENOEXEC = 8, EACCES = 13, ENOTDIR = 20, EINVAL = 22, ENAMETOOLONG = 36, ELOOP = 40 };
#define X_OK 1
#define TCGETS 0x5401
#define PR_SET_KEEPCAPS 8
#define S_IFMT 0170000
#define S_IFREG 0100000

static long sys(long n, long a, long b, long c, long d) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
  return r;
}

/* stat64 on i386: st_mode is the u32 at offset 16. */
struct stat64_buf { unsigned char b[96]; };

static unsigned long slen(const char *s) { unsigned long n = 0; while (s[n]) n++; return n; }
static int starts(const char *s, const char *p) { while (*p) if (*s++ != *p++) return 0; return 1; }
static int has(const char *s, char c) { for (; *s; s++) if (*s == c) return 1; return 0; }

static void put(const char *s) { sys(SYS_write, 2, (long)s, (long)slen(s), 0); }

static const char *errtext(long e) {
  switch (e) {
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case ENOEXEC: return "Exec format error";
    case EACCES: return "Permission denied";
    case ENOTDIR: return "Not a directory";
    case EINVAL: return "Invalid argument";
    case ENAMETOOLONG: return "File name too long";
    case ELOOP: return "Too many levels of symbolic links";
    default: return "error";
  }
}

static void die(int code, const char *what, const char *arg, long err) {
  put("skiff: "); put(what);
  if (arg) { put(" "); put(arg); }
  put(": "); put(errtext(err)); put("\n");
  sys(SYS_exit, code, 0, 0, 0);
  for (;;) {}
}

static unsigned long num(const char *s) { unsigned long n = 0; while (*s >= '0' && *s <= '9') n = n * 10 + (unsigned long)(*s++ - '0'); return n; }

/* crun's check_access: executable for us and a regular file (else EPERM). 0 or -errno. */
static long check_access(const char *path) {
  struct stat64_buf st;
  long r = sys(SYS_access, (long)path, X_OK, 0, 0);
  if (r < 0) return r;
  r = sys(SYS_stat64, (long)path, (long)&st, 0, 0);
  if (r < 0) return r;
  unsigned mode = *(unsigned *)(st.b + 16);
  return (mode & S_IFMT) == S_IFREG ? 0 : -EPERM;
}

static char pathbuf[4200];

/* Joins a, "/", b into pathbuf; 0 if it does not fit. */
static int join(const char *a, unsigned long alen, const char *b) {
  unsigned long bl = slen(b);
  if (alen + 1 + bl + 1 > sizeof pathbuf) return 0;
  for (unsigned long i = 0; i < alen; i++) pathbuf[i] = a[i];
  pathbuf[alen] = '/';
  for (unsigned long i = 0; i <= bl; i++) pathbuf[alen + 1 + i] = b[i];
  return 1;
}

/* crun's find_executable: "./x" and "a/b" relative to cwd, absolute as is, else each $PATH entry.
 * The path found, or NULL with *err set. */
static const char *find_executable(const char *exe, const char *cwd, const char *pathenv, long *err) {
  if (exe[0] == '.' || (exe[0] != '/' && has(exe, '/'))) {
    if (cwd[0] == '/') { if (!join(cwd, slen(cwd), exe)) { *err = -ENAMETOOLONG; return 0; } }
    else { if (!join("", 0, cwd) || !join(pathbuf, slen(pathbuf), exe)) { *err = -ENAMETOOLONG; return 0; } }
    exe = pathbuf;
  }
  if (exe[0] == '/') { *err = check_access(exe); return *err == 0 ? exe : 0; }
  long last = -ENOENT;
  const char *p = pathenv ? pathenv : "";
  for (;;) {
    const char *end = p;
    while (*end && *end != ':') end++;
    /* An empty entry is "" as crun's snprintf("%s/%s") makes it: "/exe". */
    int ok = join(p, (unsigned long)(end - p), exe);
    if (ok) {
      long r = check_access(pathbuf);
      if (r == 0) return pathbuf;
      if (r != -ENOENT) last = r;
    }
    if (!*end) break;
    p = end + 1;
  }
  *err = last;
  return 0;
}

static char msg[MAX_CLAIM + 1];
static char *fields[8192];
static char *envp[8192];
static unsigned groups[1024];

struct cap_header { unsigned version; int pid; };
struct cap_data { unsigned effective, permitted, inheritable; };

static void run(void) {
  long n = 0;
  for (;;) {
    if (n == MAX_CLAIM) die(125, "pool claim", "(too long)", EINVAL);
    long r = sys(SYS_read, CLAIM_FD, (long)(msg + n), MAX_CLAIM - n, 0);
    if (r == -EINTR) continue;
    if (r <= 0) break;
    n += r;
  }
  sys(SYS_close, CLAIM_FD, 0, 0, 0);
  sys(SYS_close, SELF_FD, 0, 0, 0);
  if (n == 0) sys(SYS_exit, 0, 0, 0, 0); /* dropped unclaimed */
  if (msg[n - 1] != 0) die(125, "pool claim", "(truncated)", EINVAL);
  unsigned long nf = 0;
  for (char *s = msg; s < msg + n && nf < 8191; s += slen(s) + 1) fields[nf++] = s;
  fields[nf] = 0;
  unsigned long i = 0;
  if (nf < 5) die(125, "pool claim", "(short)", EINVAL);
  unsigned uid = (unsigned)num(fields[i++]), gid = (unsigned)num(fields[i++]);
  unsigned long ng = num(fields[i++]);
  if (ng > 1024 || i + ng + 2 > nf) die(125, "pool claim", "(groups)", EINVAL);
  for (unsigned long g = 0; g < ng; g++) groups[g] = (unsigned)num(fields[i++]);
  const char *cwd = fields[i++];
  unsigned long argc = num(fields[i++]);
  if (argc == 0 || i + argc > nf) die(125, "pool claim", "(args)", EINVAL);
  char **argv = &fields[i];
  i += argc;
  unsigned long ne = 0;
  const char *pathenv = 0;
  for (unsigned long k = i; k < nf; k++) {
    envp[ne++] = fields[k];
    if (starts(fields[k], "PATH=")) pathenv = fields[k] + 5;
  }
  envp[ne] = 0;
  fields[i] = 0; /* ends argv (the environment was copied out) */

  /* As crun: std streams that are not ttys belong to the process's user. */
  unsigned char termios[64];
  for (int fd = 0; fd < 3; fd++) if (sys(SYS_ioctl, fd, TCGETS, (long)termios, 0) < 0) sys(SYS_fchown32, fd, uid, gid, 0);
  int chdir_done = sys(SYS_chdir, (long)cwd, 0, 0, 0) == 0;
  long err = 0;
  const char *exe = find_executable(argv[0], cwd, pathenv, &err);
  if (!exe && err == -ENOENT) die(127, "executable file not found in $PATH:", argv[0], ENOENT);
  long r = sys(SYS_setgroups32, (long)ng, (long)groups, 0, 0);
  if (r < 0) die(125, "setgroups", 0, -r);
  if (uid != 0 || gid != 0) {
    /* crun's set_required_caps: the capability sets survive the switch of user. */
    struct cap_header h = {0x20080522, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
    struct cap_data d[2];
    if ((r = sys(SYS_capget, (long)&h, (long)d, 0, 0)) < 0) die(125, "capget", 0, -r);
    if ((r = sys(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0)) < 0) die(125, "keepcaps", 0, -r);
    if ((r = sys(SYS_setresgid32, gid, gid, gid, 0)) < 0) die(125, "setresgid", 0, -r);
    if ((r = sys(SYS_setresuid32, uid, uid, uid, 0)) < 0) die(125, "setresuid", 0, -r);
    if ((r = sys(SYS_capset, (long)&h, (long)d, 0, 0)) < 0) die(125, "capset", 0, -r);
  }
  if (!exe) {
    exe = find_executable(argv[0], cwd, pathenv, &err);
    if (!exe) die(err == -ENOENT ? 127 : 126, "open executable", argv[0], -err);
  }
  if (!chdir_done && (r = sys(SYS_chdir, (long)cwd, 0, 0, 0)) < 0) die(125, "chdir", cwd, -r);
  r = sys(SYS_execve, (long)exe, (long)argv, (long)envp, 0);
  die(r == -ENOENT ? 127 : 126, "exec container process", exe, -r);
}

__attribute__((force_align_arg_pointer, noreturn)) void _start(void) {
  run();
  for (;;) {}
}
