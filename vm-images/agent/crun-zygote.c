/* LD_PRELOAD shim that turns one crun process into a fork server (the agent's crun zygote).
 *
 * Every crun invocation costs ~4.5 M guest instructions before its main() runs (exec, dynamic
 * linking of crun and five libraries, their constructors): in the emulator that is most of a
 * `crun delete`, half of a `crun exec`. The agent starts crun once with this shim preloaded and
 * SKIFF_CRUN_ZYGOTE=<fd>; the shim swaps crun's main for a loop that, per request on that
 * socket (SOCK_SEQPACKET: argv as NUL-terminated strings, stdin/stdout/stderr as SCM_RIGHTS),
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

static void serve_one(int sock, int sfd) {
  static char buf[65536];
  char ctl[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  if (n == 0) _exit(0); /* the agent is gone */
  if (n < 0) return;
  int fds[3] = {-1, -1, -1};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  if (cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(3 * sizeof(int))) memcpy(fds, CMSG_DATA(cm), sizeof fds);
  buf[n] = 0;
  char *argv[64];
  int argc = 0;
  for (char *s = buf; s < buf + n && argc < 63; s += strlen(s) + 1) argv[argc++] = s;
  argv[argc] = NULL;
  pid_t pid = fds[0] >= 0 && argc > 0 ? fork() : -1;
  if (pid == 0) {
    close(sock);
    close(sfd);
    for (int i = 0; i < 3; i++) dup2(fds[i], i); /* dup2 clears close-on-exec on 0-2 */
    for (int i = 0; i < 3; i++) if (fds[i] > 2) close(fds[i]);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setsid();
    exit(crun_main(argc, argv, environ));
  }
  for (int i = 0; i < 3; i++) if (fds[i] >= 0) close(fds[i]);
  reply(sock, 1, pid < 0 ? -errno : pid, 0);
}

static int zygote_main(int argc, char **argv, char **envp) {
  int sock = atoi(getenv("SKIFF_CRUN_ZYGOTE"));
  /* The children are plain crun processes: nothing of the zygote's setup reaches them. */
  unsetenv("SKIFF_CRUN_ZYGOTE");
  unsetenv("LD_PRELOAD");
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
