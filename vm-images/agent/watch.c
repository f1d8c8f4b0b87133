/* A watch on the agent's own loop (PROTOCOL.md "Watchdog").
 *
 * The agent is one thread serving every container: a piece of work that never ends (a syscall
 * that does not return, a helper that does not answer) silences it for all of them at once, and
 * the host sees nothing but requests that time out. A child forked at start shares one page with
 * the agent. The agent marks each round of its loop busy or idle and names the work (the request's
 * op, waiting for the crun zygote ...); the child looks every second, and once one round has taken
 * WATCH_STUCK_MS it writes to the console what the work was and where PID 1 is in the kernel (its
 * state and its syscall, from /proc/1/stat and /proc/1/syscall), and again every WATCH_REPEAT_MS.
 * The host shows the console's last lines when it gives up on the agent (runtime/vm/machine.ts). */
#define _GNU_SOURCE
#include "agent.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define WATCH_STUCK_MS 5000
#define WATCH_REPEAT_MS 30000

struct watch {
  volatile uint32_t seq;       /* odd while the agent is busy */
  volatile long long since_ms; /* when the busy round began */
  char what[64];
};

static struct watch *w;

void watch_busy(const char *what) {
  if (!w) return;
  if (!(w->seq & 1)) {
    w->since_ms = now_ms();
    __atomic_add_fetch(&w->seq, 1, __ATOMIC_SEQ_CST);
  }
  snprintf(w->what, sizeof w->what, "%s", what);
}

void watch_idle(void) {
  if (w && (w->seq & 1)) __atomic_add_fetch(&w->seq, 1, __ATOMIC_SEQ_CST);
}

/* The first line of `path`, newline dropped ("" if unreadable). */
static void first_line(const char *path, char *out, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read(fd, out, n - 1) : -1;
  if (fd >= 0) close(fd);
  out[r > 0 ? r : 0] = 0;
  out[strcspn(out, "\n")] = 0;
}

static void report(long long busy_ms) {
  char what[sizeof w->what], stat[256], sys[160];
  memcpy(what, w->what, sizeof what);
  what[sizeof what - 1] = 0;
  first_line("/proc/1/stat", stat, sizeof stat);
  first_line("/proc/1/syscall", sys, sizeof sys);
  const char *close_paren = strrchr(stat, ')');
  char state = close_paren && close_paren[1] ? close_paren[2] : '?';
  /* The agent's stderr is the console (init.c); so is this child's. */
  dprintf(2, "skiff-agent: stuck for %lld ms in %s: state %c, syscall %s\n", busy_ms, what, state, sys[0] ? sys : "?");
}

static void watch_loop(void) {
  uint32_t seen = 0;
  long long last_report = 0;
  for (;;) {
    sleep(1);
    uint32_t s = w->seq;
    if (!(s & 1)) continue;
    long long busy = now_ms() - w->since_ms;
    if (busy < WATCH_STUCK_MS) continue;
    if (s == seen && now_ms() - last_report < WATCH_REPEAT_MS) continue;
    seen = s;
    last_report = now_ms();
    report(busy);
  }
}

void watch_start(void) {
  void *page = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return;
  pid_t pid = fork();
  if (pid < 0) { munmap(page, sizeof *w); return; }
  w = page;
  if (pid > 0) return;
  for (int fd = 3; fd < 1024; fd++) close(fd);
  prctl(PR_SET_NAME, "skiff-watch");
  watch_loop();
  _exit(0);
}
