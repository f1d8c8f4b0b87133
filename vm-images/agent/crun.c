/* crun executed from a sealed memfd made once, and forked from a zygote.
 *
 * crun 1.8.1 guards against CVE-2019-5736 (a container overwriting the runtime's binary through
 * /proc/<pid>/exe) with a constructor that, on every start, copies /usr/bin/crun into a memfd,
 * seals it and re-executes itself from it, unless it already runs from a memfd with exactly those
 * seals. In the emulator that doubles every crun invocation's start (two execs, two dynamic links
 * and a copy of the binary: ~3.5 M of the ~8 M guest instructions `crun --version` costs).
 *
 * The agent makes that sealed copy once, before the boot snapshot, and starts crun from it: crun
 * finds itself already cloned and goes on. The protection is the one crun would have made: the
 * memfd cannot be written, grown, shrunk or unsealed, and it is close-on-exec, so no container
 * process inherits it. If the copy cannot be made, crun is started by path and clones itself. */
#define _GNU_SOURCE
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRUN_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int image = -1;

void crun_image_init(void) {
  int src = open(CRUN_PATH, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (src < 0 || fstat(src, &st) < 0) goto fail;
  int fd = memfd_create("crun_cloned:/proc/self/exe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) goto fail;
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
    if (n <= 0) { close(fd); goto fail; }
  }
  if (fcntl(fd, F_ADD_SEALS, CRUN_SEALS) < 0) { close(fd); goto fail; }
  close(src);
  image = fd;
  return;
fail:
  if (src >= 0) close(src);
}

int crun_image_fd(const char *path) {
  return path && !strcmp(path, CRUN_PATH) ? image : -1;
}

/* ---- the crun zygote (crun-zygote.c): crun forked ready-linked instead of executed ---- */

#define ZYGOTE_SHIM "/lib/skiff-crun-zygote.so"
/* The zygote answers a request as soon as it has forked. One that has not after this long is
 * stuck: the agent must not wait on it (it serves every container), so it is replaced. */
#define ZYGOTE_ANSWER_MS 15000

static int zsock = -1;
static pid_t zpid = -1;

void crun_zygote_start(void) {
  if (image < 0 || access(ZYGOTE_SHIM, R_OK) < 0) return;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return;
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(nul, 0); dup2(nul, 1); dup2(nul, 2);
    dup2(sv[1], 3); /* without close-on-exec: the zygote's end */
    for (int fd = 4; fd < 1024; fd++) if (fd != image) close(fd);
    setsid();
    char *argv[] = {"crun", NULL};
    char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
                   "LD_PRELOAD=" ZYGOTE_SHIM, "SKIFF_CRUN_ZYGOTE=3", NULL};
    fexecve(image, argv, env);
    _exit(127);
  }
  close(sv[1]);
  if (nul >= 0) close(nul);
  if (pid < 0) { close(sv[0]); return; }
  zsock = sv[0];
  zpid = pid;
}

int crun_zygote_fd(void) { return zsock; }

/* A child the zygote reaped: its helper gets the status as if the agent had reaped it. If the
 * zygote dies, its running children are re-parented to the agent and reaped by the main loop. */
static void zygote_exited(pid_t pid, int status) {
  for (struct helper *h = helpers; h; h = h->next)
    if (h->pid == pid) { helper_exited(h, status); return; }
}

static int zygote_recv(int32_t m[3], int flags) {
  ssize_t n;
  while ((n = recv(zsock, m, 3 * sizeof(int32_t), flags)) < 0 && errno == EINTR) {}
  if (n == 0 || (n < 0 && errno != EAGAIN)) { close(zsock); zsock = -1; return -1; }
  return n == 3 * (ssize_t)sizeof(int32_t) ? 1 : 0;
}

void crun_zygote_read(void) {
  int32_t m[3];
  while (zsock >= 0 && zygote_recv(m, MSG_DONTWAIT) > 0)
    if (m[0] == 2) zygote_exited(m[1], m[2]);
}

pid_t crun_spawn(char **argv, int in, int out, int err) {
  int fds[3] = {in, out, err};
  return crun_spawn_fds(argv, fds, 3);
}

pid_t crun_spawn_fds(char **argv, const int *fds, int nfds) {
  if (zsock >= 0 && nfds >= 3 && nfds <= 5) {
    char buf[4096];
    size_t n = 0;
    for (int i = 0; argv[i]; i++) {
      size_t l = strlen(argv[i]) + 1;
      if (n + l > sizeof buf) { n = 0; break; }
      memcpy(buf + n, argv[i], l);
      n += l;
    }
    char ctl[CMSG_SPACE(5 * sizeof(int))];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {buf, n};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    if (n && sendmsg(zsock, &mh, MSG_NOSIGNAL) == (ssize_t)n) {
      /* The answer comes at once; exits of earlier children that arrive first are handled. */
      watch_busy("waiting for the crun zygote");
      long long deadline = now_ms() + ZYGOTE_ANSWER_MS;
      int32_t m[3];
      while (zsock >= 0) {
        struct pollfd pf = {zsock, POLLIN, 0};
        long long left = deadline - now_ms();
        int r = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          /* Its children (this request's, if it did fork) become the agent's, reaped as before. */
          dprintf(2, "skiff-agent: the crun zygote did not answer within %d ms: replaced\n", ZYGOTE_ANSWER_MS);
          kill(zpid, SIGKILL);
          crun_zygote_read(); /* exits it reported already */
          if (zsock >= 0) close(zsock);
          zsock = -1;
          crun_zygote_start();
          errno = ETIMEDOUT;
          return -1;
        }
        int got = zygote_recv(m, MSG_DONTWAIT);
        if (got < 0) break;
        if (got == 0) continue;
        if (m[0] == 1) { if (m[1] > 0) return m[1]; errno = -m[1]; return -1; }
        if (m[0] == 2) zygote_exited(m[1], m[2]);
      }
    }
  }
  if (nfds != 3) { errno = ENOSYS; return -1; } /* extra fds need the zygote */
  return spawn_with_stdio(argv, NULL, "/", fds[0], fds[1], fds[2], 0);
}
