/* skiff guest agent: PID 1 after init's switch_root. One poll loop multiplexes the host port,
 * the children's stdio and SIGCHLD. Frames are described in PROTOCOL.md. */
#include "agent.h"
#include "net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int port = -1;
static unsigned char *rx;
static size_t rx_len, rx_cap;

long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const void *p, size_t n) {
  const unsigned char *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    /* 0: the port's queue had no room (the virtio console's write says so with 0, not EAGAIN). */
    if (w == 0 || (w < 0 && errno == EAGAIN)) { struct pollfd pf = {fd, POLLOUT, 0}; poll(&pf, 1, 100); continue; }
    if (w < 0) {
      if (errno == EINTR) continue;
      /* The host's decoder now waits for the rest of this frame: say so where the host can read it. */
      dprintf(2, "skiff-agent: writing a frame to the host: %s (%zu bytes lost)\n", strerror(errno), n);
      return;
    }
    b += w;
    n -= (size_t)w;
  }
}

void send_frame(int type, uint32_t ch, const void *p, size_t n) {
  unsigned char h[12] = {0x5C, 0xF1, (unsigned char)type, 0};
  memcpy(h + 4, &ch, 4);
  uint32_t len = (uint32_t)n;
  memcpy(h + 8, &len, 4);
  /* One write per frame keeps a frame inside as few virtqueue buffers as possible. */
  unsigned char *buf = malloc(12 + n);
  memcpy(buf, h, 12);
  if (n) memcpy(buf + 12, p, n);
  write_all(port, buf, 12 + n);
  free(buf);
}

void respond_ok(uint32_t req, const char *fields) {
  struct jbuf b = {0};
  jb_fmt(&b, "{\"ok\":true%s}", fields ? fields : "");
  send_frame(F_RESPONSE, req, b.p, b.len);
  free(b.p);
}

static void vrespond_err(uint32_t req, int err, const char *reason, const char *fmt, va_list ap) {
  char msg[768];
  vsnprintf(msg, sizeof msg, fmt, ap);
  struct jbuf b = {0};
  jb_fmt(&b, "{\"ok\":false,\"errno\":%d,\"error\":", err);
  jb_str(&b, msg);
  if (reason) jb_fmt(&b, ",\"reason\":\"%s\"", reason);
  jb_raw(&b, "}", 1);
  send_frame(F_RESPONSE, req, b.p, b.len);
  free(b.p);
}

void respond_err(uint32_t req, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vrespond_err(req, err, NULL, fmt, ap);
  va_end(ap);
}

void respond_err_reason(uint32_t req, int err, const char *reason, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vrespond_err(req, err, reason, fmt, ap);
  va_end(ap);
}

static void hello(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  char msg[224], dev[64] = "";
  if (devices_cgroup()) snprintf(dev, sizeof dev, ",\"devices_cgroup\":\"%s\"", devices_cgroup());
  int n = snprintf(msg, sizeof msg, "{\"proto\":%d,\"agent\":\"%s\",\"ready\":true,\"boot_ms\":%lld%s}",
                   PROTO_VERSION, AGENT_VERSION, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, dev);
  send_frame(F_HELLO, 0, msg, (size_t)n);
}

/* Stdin bytes the agent has written to a process (or dropped): the host's window for that
 * process's stdin opens by as much (PROTOCOL.md "Per-process flow control"). */
static void stdin_credit(struct proc *p, size_t n) {
  uint32_t v = (uint32_t)n;
  if (n) send_frame(F_STDIN_CREDIT, p->ch, &v, 4);
}

static void stdin_frame(uint32_t ch, const unsigned char *p, size_t n) {
  struct proc *pr = proc_by_ch(ch);
  if (!pr) return;
  int fd = pr->pty >= 0 ? pr->pty : pr->in_fd;
  if (n == 0) {
    if (pr->pty < 0) pr->in_close = 1;
  } else if (fd >= 0 || pr->csock >= 0) {
    pr->inbuf = realloc(pr->inbuf, pr->inlen + n);
    memcpy(pr->inbuf + pr->inlen, p, n);
    pr->inlen += n;
  } else {
    stdin_credit(pr, n); /* stdin is closed: dropped */
  }
  if (pr->in_close && pr->inlen == 0 && pr->in_fd >= 0) { close(pr->in_fd); pr->in_fd = -1; }
}

/* The host has room for more of a process's output: u32 stdout, u32 stderr (deltas). */
static void credit_frame(uint32_t ch, const unsigned char *p, size_t n) {
  struct proc *pr = proc_by_ch(ch);
  if (!pr || n < 8) return;
  for (int s = 0; s < 2; s++) {
    uint32_t d;
    memcpy(&d, p + 4 * s, 4);
    pr->credit[s] = pr->credit[s] + d < pr->credit[s] ? UINT32_MAX : pr->credit[s] + d;
  }
}

static void parse_frames(void) {
  size_t off = 0;
  while (rx_len - off >= 12) {
    unsigned char *h = rx + off;
    uint32_t ch, len;
    memcpy(&ch, h + 4, 4);
    memcpy(&len, h + 8, 4);
    if (h[0] != 0x5C || h[1] != 0xF1 || len > (1u << 20)) { off++; continue; } /* resync */
    if (rx_len - off < 12 + (size_t)len) break;
    unsigned char *p = h + 12;
    switch (h[2]) {
      case F_HELLO: hello(); break;
      case F_REQUEST: watch_busy("a request"); handle_request(ch, (const char *)p, len); break;
      case F_STDIN: stdin_frame(ch, p, len); break;
      case F_CREDIT: credit_frame(ch, p, len); break;
      default: break;
    }
    off += 12 + len;
  }
  memmove(rx, rx + off, rx_len - off);
  rx_len -= off;
}

static void read_port(void) {
  if (rx_cap - rx_len < 16384) {
    rx_cap = rx_cap ? rx_cap * 2 : 65536;
    rx = realloc(rx, rx_cap);
  }
  ssize_t r = read(port, rx + rx_len, rx_cap - rx_len);
  if (r <= 0) return;
  rx_len += (size_t)r;
  uint32_t n = (uint32_t)r; /* a delta, so a restored snapshot needs no counter resync */
  send_frame(F_ACK, 0, &n, 4);
  parse_frames();
}

/* The host patches v86 so that port 1 of the virtio console is a plain port (/dev/vportNp1):
 * the hvc console path reads input 16 bytes at a time, ~10x slower in the emulator. */
static int open_vport1(void) {
  DIR *d = opendir("/dev");
  struct dirent *e;
  int fd = -1;
  while (d && fd < 0 && (e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (!strncmp(e->d_name, "vport", 5) && n > 2 && !strcmp(e->d_name + n - 2, "p1")) {
      char path[300];
      snprintf(path, sizeof path, "/dev/%s", e->d_name);
      fd = open(path, O_RDWR | O_NOCTTY);
    }
  }
  if (d) closedir(d);
  return fd;
}

static int open_port(void) {
  /* Ports show up shortly after the driver probes; wait for one a little. */
  for (int i = 0; i < 300; i++) {
    int fd = open_vport1();
    if (fd < 0) fd = open("/dev/hvc1", O_RDWR | O_NOCTTY); /* v86 unpatched: port 1 is a console */
    if (fd >= 0) return fd;
    usleep(10000);
  }
  return open("/dev/ttyS1", O_RDWR | O_NOCTTY);
}

/* Output goes to the host only as far as its window for that stream allows; the rest waits in
 * the pipe (or pty), so the process blocks in write(2). Once the process has exited, what is left
 * (a pipe's worth, or stragglers for 200 ms, proc_poll_done) drains regardless, so the EXIT frame
 * never waits on a stalled reader. */
static int may_read(struct proc *p, int s) {
  return p->exited || p->credit[s] > 0;
}

static void pump(int fd, int type, struct proc *p, int *slot) {
  unsigned char buf[16384];
  int s = type == F_STDERR;
  size_t want = sizeof buf;
  if (!p->exited && p->credit[s] < want) want = p->credit[s];
  if (!want) return;
  ssize_t r = read(fd, buf, want);
  if (r > 0) {
    if (!p->exited) p->credit[s] -= (uint32_t)r;
    send_frame(type, p->ch, buf, (size_t)r);
    return;
  }
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  close(fd); /* EOF, or EIO from a pty whose last slave closed */
  *slot = -1;
  send_frame(type, p->ch, NULL, 0);
}

static void flush_stdin(struct proc *p) {
  int fd = p->pty >= 0 ? p->pty : p->in_fd;
  if (fd < 0 || !p->inlen) return;
  ssize_t w = write(fd, p->inbuf, p->inlen);
  if (w < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    stdin_credit(p, p->inlen);
    p->inlen = 0; /* reader gone: drop */
  } else {
    memmove(p->inbuf, p->inbuf + w, p->inlen - (size_t)w);
    p->inlen -= (size_t)w;
    stdin_credit(p, (size_t)w);
  }
  if (p->in_close && !p->inlen && p->in_fd >= 0) { close(p->in_fd); p->in_fd = -1; }
}

extern void accept_console(struct proc *p);
extern void setup_system(void);
extern void stage1(void);

int main(int argc, char **argv) {
  if (!strcmp(argv[0], "/init") && getpid() == 1) stage1(); /* run by the kernel from the initramfs */
  if (argc > 1 && !strcmp(argv[1], "--init")) { setup_system(); devices_init("/skiff"); net_boot(); }
  crun_image_init();
  crun_zygote_start();
  watch_start();
  signal(SIGPIPE, SIG_IGN);
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGCHLD);
  sigprocmask(SIG_BLOCK, &ss, NULL);
  int sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);

  port = open_port();
  if (port < 0) { perror("skiff-agent: no host port"); return 1; }
  struct termios t;
  if (tcgetattr(port, &t) == 0) { cfmakeraw(&t); tcsetattr(port, TCSANOW, &t); }
  fcntl(port, F_SETFD, FD_CLOEXEC);
  hello();

  for (;;) {
    struct pollfd pf[256];
    struct proc *who[256];
    int kind[256];
    int n = 0;
    pf[n] = (struct pollfd){sfd, POLLIN, 0}; who[n] = NULL; kind[n++] = 0;
    /* Always read the port: each process's stdin backlog is bounded by the host's window for it. */
    pf[n] = (struct pollfd){port, POLLIN, 0}; who[n] = NULL; kind[n++] = 1;
    if (crun_zygote_fd() >= 0) { pf[n] = (struct pollfd){crun_zygote_fd(), POLLIN, 0}; who[n] = NULL; kind[n++] = 7; }
    /* Never asleep for good: each poll asks the port's driver again whether data came (a lost
     * interrupt then costs a second, not the channel). */
    int timeout = 1000;
    for (struct proc *p = procs; p && n < 250; p = p->next) {
      if (p->csock >= 0) { pf[n] = (struct pollfd){p->csock, POLLIN, 0}; who[n] = p; kind[n++] = 2; }
      if (p->out_fd >= 0 && may_read(p, 0)) { pf[n] = (struct pollfd){p->out_fd, POLLIN, 0}; who[n] = p; kind[n++] = 3; }
      if (p->err_fd >= 0 && may_read(p, 1)) { pf[n] = (struct pollfd){p->err_fd, POLLIN, 0}; who[n] = p; kind[n++] = 4; }
      short pev = (short)((may_read(p, 0) ? POLLIN : 0) | (p->inlen ? POLLOUT : 0));
      if (p->pty >= 0 && pev) { pf[n] = (struct pollfd){p->pty, pev, 0}; who[n] = p; kind[n++] = 5; }
      if (p->in_fd >= 0 && p->inlen) { pf[n] = (struct pollfd){p->in_fd, POLLOUT, 0}; who[n] = p; kind[n++] = 6; }
      if (p->exited) timeout = 50;
    }
    watch_idle();
    int r = poll(pf, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR) break;
    watch_busy("the main loop");
    for (int i = 0; i < n && r > 0; i++) {
      if (!pf[i].revents) continue;
      struct proc *p = who[i];
      if (p && p->dead) continue; /* freed by an earlier entry of this round (proc.c graveyard) */
      switch (kind[i]) {
        case 1: read_port(); break;
        case 2: accept_console(p); break;
        case 3: pump(p->out_fd, F_STDOUT, p, &p->out_fd); break;
        case 4: pump(p->err_fd, F_STDERR, p, &p->err_fd); break;
        case 5:
          if (pf[i].revents & POLLOUT) flush_stdin(p);
          if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) && p->pty >= 0 && may_read(p, 0)) pump(p->pty, F_STDOUT, p, &p->pty);
          break;
        case 6: flush_stdin(p); break;
        case 7: crun_zygote_read(); break;
        default: break;
      }
    }
    /* Reap after stdio so output read in this round goes out before the exit. */
    if (pf[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      struct helper *h = helpers;
      while (h && h->pid != pid) h = h->next;
      if (h) helper_exited(h, status);
      else proc_child_exited(pid, status);
    }
    proc_poll_done();
    proc_reap();
  }
  return 1;
}
