/* Processes attached to channels: spawning, ptys, exit bookkeeping and OOM detection. */
#define _GNU_SOURCE
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct proc *procs;
struct helper *helpers;

static struct { pid_t pid; int status; } orphans[64];
static int norphans;

struct proc *proc_new(uint32_t ch) {
  struct proc *p = calloc(1, sizeof *p);
  p->ch = ch;
  p->in_fd = p->out_fd = p->err_fd = p->pty = p->csock = p->claim_fd = -1;
  p->credit[0] = p->credit[1] = OUT_WINDOW;
  p->next = procs;
  procs = p;
  return p;
}

struct proc *proc_by_ch(uint32_t ch) {
  for (struct proc *p = procs; p; p = p->next)
    if (p->ch == ch) return p;
  return NULL;
}

/* Processes proc_free let go this round. The main loop collects each round's poll entries (a
 * process and one of its fds) before serving any: a process freed by an earlier entry (its
 * crun helper failed, reported by the zygote first) must still be readable as dead by its
 * later entries, not be freed memory whose stale fields name fds (fd 0, the console, blocked the
 * agent for good: CI's wedge after a 126/127 start). */
static struct proc *graveyard;

void proc_free(struct proc *p) {
  if (p->dead) return;
  for (struct proc **pp = &procs; *pp; pp = &(*pp)->next)
    if (*pp == p) { *pp = p->next; break; }
  int fds[] = {p->in_fd, p->out_fd, p->err_fd, p->pty, p->csock, p->claim_fd};
  for (unsigned i = 0; i < sizeof fds / sizeof *fds; i++)
    if (fds[i] >= 0) close(fds[i]);
  p->in_fd = p->out_fd = p->err_fd = p->pty = p->csock = p->claim_fd = -1;
  if (p->csock_path[0]) unlink(p->csock_path);
  p->csock_path[0] = 0;
  free(p->inbuf);
  p->inbuf = NULL;
  p->inlen = 0;
  p->dead = 1;
  p->next = graveyard;
  graveyard = p;
}

void proc_reap(void) {
  while (graveyard) {
    struct proc *p = graveyard;
    graveyard = p->next;
    free(p);
  }
}

int make_pty(int *master, char *slave_name, size_t n) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -1;
  if (grantpt(m) || unlockpt(m) || ptsname_r(m, slave_name, n)) { close(m); return -1; }
  *master = m;
  return 0;
}

void set_winsize(int fd, int rows, int cols) {
  struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
  ioctl(fd, TIOCSWINSZ, &ws);
}

/* fork+exec with the given stdio; ctty: make fd `in` the controlling terminal of a new session. */
pid_t spawn_with_stdio(char **argv, char **envp, const char *cwd, int in, int out, int err, int ctty) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  sigset_t ss;
  sigemptyset(&ss);
  sigprocmask(SIG_SETMASK, &ss, NULL);
  signal(SIGPIPE, SIG_DFL);
  setsid();
  if (ctty) ioctl(in, TIOCSCTTY, 0);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  int image = crun_image_fd(argv[0]); /* crun.c: close-on-exec, gone once crun runs */
  for (int fd = 3; fd < 1024; fd++) if (fd != image) close(fd);
  if (cwd && *cwd && chdir(cwd) < 0) { dprintf(2, "chdir %s: %s\n", cwd, strerror(errno)); _exit(126); }
  static char *defenv[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL};
  char **env = envp && envp[0] ? envp : defenv;
  if (image >= 0) fexecve(image, argv, env); /* on failure, by path below */
  execvpe(argv[0], argv, env);
  dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

void stash_orphan(pid_t pid, int status) {
  if (norphans == 64) { memmove(orphans, orphans + 1, sizeof orphans[0] * 63); norphans--; }
  orphans[norphans].pid = pid;
  orphans[norphans++].status = status;
}

int take_orphan(pid_t pid, int *status) {
  for (int i = 0; i < norphans; i++) {
    if (orphans[i].pid != pid) continue;
    *status = orphans[i].status;
    orphans[i] = orphans[--norphans];
    return 1;
  }
  return 0;
}

void read_cgroup(struct proc *p) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)p->pid);
  FILE *f = fopen(path, "r");
  p->cgroup[0] = 0;
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::", 3)) continue;
    line[strcspn(line, "\n")] = 0;
    snprintf(p->cgroup, sizeof p->cgroup, "/sys/fs/cgroup%s", line + 3);
  }
  fclose(f);
  p->oom_before = read_oom_kill(p->cgroup);
}

long long read_oom_kill(const char *cgroup) {
  if (!cgroup[0]) return 0;
  char path[256], line[128];
  snprintf(path, sizeof path, "%s/memory.events", cgroup);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  long long n = 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "oom_kill ", 9)) n = atoll(line + 9);
  fclose(f);
  return n;
}

void proc_child_exited(pid_t pid, int status) {
  for (struct proc *p = procs; p; p = p->next) {
    if (p->pid != pid || p->exited) continue;
    p->exited = 1;
    p->status = status;
    p->exited_at_ms = now_ms();
    return;
  }
  stash_orphan(pid, status);
}

static void send_exit(struct proc *p) {
  int code, sig = 0;
  if (WIFSIGNALED(p->status)) { sig = WTERMSIG(p->status); code = 128 + sig; }
  else code = WEXITSTATUS(p->status);
  int oom = sig == SIGKILL && read_oom_kill(p->cgroup) > p->oom_before;
  char msg[128];
  int n = sig ? snprintf(msg, sizeof msg, "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s}", code, sig, oom ? "true" : "false")
              : snprintf(msg, sizeof msg, "{\"exitCode\":%d,\"oomKilled\":false}", code);
  send_frame(F_EXIT, p->ch, msg, (size_t)n);
}

/* After each loop round: an exited process whose output has ended (or that has had 200 ms for
 * stragglers holding its pipes) gets its EXIT frame and is forgotten. */
void proc_poll_done(void) {
  long long now = now_ms();
  for (struct proc *p = procs, *next; p; p = next) {
    next = p->next;
    if (!p->exited) continue;
    int open = p->out_fd >= 0 || p->err_fd >= 0 || p->pty >= 0;
    if (open && now - p->exited_at_ms < 200) continue;
    if (p->out_fd >= 0) send_frame(F_STDOUT, p->ch, NULL, 0);
    if (p->err_fd >= 0) send_frame(F_STDERR, p->ch, NULL, 0);
    if (p->pty >= 0) send_frame(F_STDOUT, p->ch, NULL, 0);
    send_exit(p);
    proc_free(p);
  }
}

/* crun connected to the console socket: take the pty master it sends (SCM_RIGHTS). */
void accept_console(struct proc *p) {
  int c = accept4(p->csock, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return;
  char data[256];
  char ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {data, sizeof data};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  if (recvmsg(c, &mh, 0) > 0) {
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm && cm->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm), sizeof fd);
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
      p->pty = fd;
      if (p->rows) set_winsize(fd, p->rows, p->cols);
    }
  }
  close(c);
  close(p->csock);
  p->csock = -1;
  unlink(p->csock_path);
  p->csock_path[0] = 0;
}
