/* LD_PRELOAD shim that turns one crun process into a fork server (the agent's crun zygote).
 *
 * Every crun invocation costs ~4.5 M guest instructions before its main() runs (exec, dynamic
 * linking of crun and five libraries, their constructors): in the emulator that is most of a
 * `crun delete`, half of a `crun exec`. The agent starts crun once with this shim preloaded and
 * SKIFF_CRUN_ZYGOTE=<fd>; the shim swaps crun's main for a loop that, per request on that
 * socket (SOCK_SEQPACKET: argv as NUL-terminated strings, stdin/stdout/stderr and up to two more
 * fds, which become fds 3 and 4 for `--preserve-fds`, as SCM_RIGHTS),
 * forks a child which calls crun's real main() with that argv: an already linked and initialized
 * crun, as a fresh exec would be (the zygote itself never runs main, so no state of a previous
 * command carries over). The zygote answers {1, pid} at once and {2, pid, wait status} when the
 * child ends. Without the variable crun runs normally. Built by vm-images/initramfs/build.sh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);

static main_fn crun_main;

static void reply(int sock, int32_t kind, int32_t pid, int32_t status) {
  int32_t m[3] = {kind, pid, status};
  while (send(sock, m, sizeof m, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
}

#define MAX_FDS 5

static void serve_one(int sock, int sfd) {
  static char buf[65536];
  char ctl[CMSG_SPACE(MAX_FDS * sizeof(int))];
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  if (n == 0) _exit(0); /* the agent is gone */
  if (n < 0) return;
  int fds[MAX_FDS], nfds = 0;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  if (cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len >= CMSG_LEN(3 * sizeof(int))) {
    nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    if (nfds > MAX_FDS) nfds = MAX_FDS;
    memcpy(fds, CMSG_DATA(cm), (size_t)nfds * sizeof(int));
  }
  buf[n] = 0;
  char *argv[64];
  int argc = 0;
  for (char *s = buf; s < buf + n && argc < 63; s += strlen(s) + 1) argv[argc++] = s;
  argv[argc] = NULL;
  pid_t pid = nfds >= 3 && argc > 0 ? fork() : -1;
  if (pid == 0) {
    /* Out of the way of 0-4 first, then into place (dup2 clears close-on-exec there). */
    for (int i = 0; i < nfds; i++) fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 16);
    close(sock);
    close(sfd);
    for (int i = 0; i < nfds; i++) dup2(fds[i], i);
    for (int i = 0; i < nfds; i++) close(fds[i]);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setsid();
    exit(crun_main(argc, argv, environ));
  }
  for (int i = 0; i < nfds; i++) close(fds[i]);
  reply(sock, 1, pid < 0 ? -errno : pid, 0);
}

/* Page tables every child inherits instead of faulting in again.
 *
 * fork() copies no page table entries of a file mapping without an anon_vma (mm/memory.c
 * vma_needs_copy: "a page fault will fill them"), so each crun child, and crun's own two forks
 * after it (the detached parent, the container's init), fault crun's and its libraries' code and
 * read-only data back in, 16 pages per fault: in the emulator that was about half the busy time
 * of a `crun run` (a sampled profile of the guest kernel). Here, once: each read-only file
 * mapping gets an anon_vma (made writable for an instant and one byte of it written back
 * unchanged, which copies that one page) and has all its pages mapped; from then on fork copies
 * its entries, which the same kernel comment calls cheaper than faulting. What the children see
 * is unchanged: the same bytes, the same protections. */
static void share_page_tables(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  char line[512];
  long page = sysconf(_SC_PAGESIZE);
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[5], path[256] = "";
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3 || path[0] != '/') continue;
    if (perms[1] != '-' || perms[3] != 'p') continue; /* private and read-only (text, rodata, relro) */
    int prot = PROT_READ | (perms[2] == 'x' ? PROT_EXEC : 0);
    if (mprotect((void *)lo, hi - lo, prot | PROT_WRITE) == 0) {
      volatile unsigned char *b = (volatile unsigned char *)lo;
      *b = *b;
      mprotect((void *)lo, hi - lo, prot);
    }
    for (unsigned long a = lo; a < hi; a += (unsigned long)page) (void)*(volatile unsigned char *)a;
  }
  if (f) fclose(f);
}

static int zygote_main(int argc, char **argv, char **envp) {
  int sock = atoi(getenv("SKIFF_CRUN_ZYGOTE"));
  /* The children are plain crun processes: nothing of the zygote's setup reaches them. */
  unsetenv("SKIFF_CRUN_ZYGOTE");
  unsetenv("LD_PRELOAD");
  share_page_tables();
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  for (;;) {
    struct pollfd pf[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0 && errno != EINTR) _exit(1);
    if (pf[0].revents & (POLLHUP | POLLERR) && !(pf[0].revents & POLLIN)) _exit(0);
    if (pf[0].revents & POLLIN) serve_one(sock, sfd);
    if (pf[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) reply(sock, 2, p, st);
  }
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void), void (*rtld_fini)(void), void *stack_end) {
  start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
  crun_main = main;
  return real(getenv("SKIFF_CRUN_ZYGOTE") ? zygote_main : main, argc, argv, init, fini, rtld_fini, stack_end);
}
