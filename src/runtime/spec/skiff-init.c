/*
 * skiff-init: the init for `skiff run --init`, mounted at /sbin/docker-init (see init.ts).
 * Usage: docker-init -- command [args...]
 *
 * PID 1 in a PID namespace gets no default signal actions, and nothing reaps orphans. This init
 * runs the command as its only child, forwards every catchable signal to it, reaps every child
 * that exits, and exits with the command's status (128 + signal when it was killed), like tini.
 *
 * Freestanding i386 (raw int $0x80 system calls, no libc), so it builds with the toolchain the
 * project already installs and weighs a few KB:
 *   clang-16 --target=i386-linux-gnu -march=i686 -O2 -ffreestanding -fno-pic -fno-stack-protector \
 *     -nostdlib -static -fuse-ld=lld -o skiff-init skiff-init.c
 */
typedef unsigned long u32;
typedef unsigned long long u64;

enum {
  SYS_exit_group = 252, SYS_write = 4, SYS_fork = 2, SYS_execve = 11, SYS_kill = 37,
  SYS_setpgid = 57, SYS_ioctl = 54, SYS_getpid = 20, SYS_wait4 = 114,
  SYS_rt_sigprocmask = 175, SYS_rt_sigtimedwait = 177,
};
enum { SIG_BLOCK = 0, SIG_SETMASK = 2, SIGCHLD = 17, WNOHANG = 1, TIOCGPGRP = 0x540F, TIOCSPGRP = 0x5410 };
enum { EINTR = 4, ENOENT = 2, EACCES = 13 };

static long sys(long n, long a, long b, long c, long d) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
  return r;
}

static unsigned long len(const char *s) {
  unsigned long n = 0;
  while (s[n]) n++;
  return n;
}

static void say(const char *a, const char *b, const char *c) {
  sys(SYS_write, 2, (long)a, (long)len(a), 0);
  if (b) sys(SYS_write, 2, (long)b, (long)len(b), 0);
  if (c) sys(SYS_write, 2, (long)c, (long)len(c), 0);
}

static __attribute__((noreturn)) void quit(int code) {
  for (;;) sys(SYS_exit_group, code, 0, 0, 0);
}

static int exit_code_of(int status) {
  if ((status & 0x7f) == 0) return (status >> 8) & 0xff; /* exited */
  if (((status & 0x7f) + 1) >> 1 > 0) return 128 + (status & 0x7f); /* killed by a signal */
  return 1;
}

/* execvp: a name without a slash is looked up in PATH (the command's environment's). */
static long exec_path(char **argv, char **envp) {
  const char *cmd = argv[0];
  for (const char *p = cmd; *p; p++)
    if (*p == '/') return sys(SYS_execve, (long)cmd, (long)argv, (long)envp, 0);
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char **e = envp; *e; e++) {
    const char *v = *e;
    if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') path = v + 5;
  }
  static char buf[4096];
  long err = -ENOENT;
  unsigned long clen = len(cmd);
  while (*path) {
    unsigned long n = 0;
    while (path[n] && path[n] != ':') n++;
    if (n + 1 + clen + 1 <= sizeof buf) {
      unsigned long k = 0;
      for (unsigned long i = 0; i < n; i++) buf[k++] = path[i];
      if (n == 0) buf[k++] = '.';
      buf[k++] = '/';
      for (unsigned long i = 0; i <= clen; i++) buf[k++] = cmd[i];
      long r = sys(SYS_execve, (long)buf, (long)argv, (long)envp, 0);
      if (r == -EACCES) err = r;
    }
    path += n;
    if (*path == ':') path++;
  }
  return err;
}

__attribute__((used)) static void start_c(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  int first = 1;
  if (first < argc && argv[first][0] == '-' && argv[first][1] == '-' && argv[first][2] == 0) first++;
  if (first >= argc) {
    say("usage: ", argv[0], " -- command [args...]\n");
    quit(2);
  }

  u64 all = ~0ULL, old = 0;
  sys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&old, 8);

  long child = sys(SYS_fork, 0, 0, 0, 0);
  if (child < 0) {
    say("skiff-init: fork failed\n", 0, 0);
    quit(1);
  }
  if (child == 0) {
    /* Own process group, in the foreground of the terminal if there is one, so a Ctrl-C from
     * the TTY reaches the command once (not also the init, which would forward it again). */
    sys(SYS_setpgid, 0, 0, 0, 0);
    int pgrp = 0;
    if (sys(SYS_ioctl, 0, TIOCGPGRP, (long)&pgrp, 0) == 0) {
      pgrp = (int)sys(SYS_getpid, 0, 0, 0, 0);
      sys(SYS_ioctl, 0, TIOCSPGRP, (long)&pgrp, 0);
    }
    sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8);
    long err = exec_path(argv + first, envp);
    say("skiff-init: exec ", argv[first], err == -ENOENT ? ": not found\n" : ": permission denied or bad format\n");
    quit(err == -ENOENT ? 127 : 126);
  }

  unsigned char info[128];
  for (;;) {
    long sig = sys(SYS_rt_sigtimedwait, (long)&all, (long)info, 0, 8);
    if (sig < 0) {
      if (sig == -EINTR) continue;
      say("skiff-init: sigtimedwait failed\n", 0, 0);
      quit(1);
    }
    if (sig != SIGCHLD) {
      /* SIGSTOP/SIGKILL never arrive here; forward the rest as is. */
      sys(SYS_kill, child, sig, 0, 0);
      continue;
    }
    for (;;) {
      int status = 0;
      long pid = sys(SYS_wait4, -1, (long)&status, WNOHANG, 0);
      if (pid <= 0) break;
      if (pid == child) quit(exit_code_of(status));
    }
  }
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %esp, %eax\n"
        "  and $-16, %esp\n"
        "  sub $12, %esp\n"
        "  push %eax\n"
        "  call start_c\n"
        "  hlt\n");
