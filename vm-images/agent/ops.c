/* Request handlers (PROTOCOL.md, "Requests"). crun runs as asynchronous helpers: the answer goes
 * out when the helper exits, so the loop keeps serving other processes meanwhile. */
#define _GNU_SOURCE
#include "agent.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CRUN "/usr/bin/crun"
#define RUNDIR "/run/skiff"
#define P9ROOT "/run/skiff/9p"

int mkdir_p(const char *path, mode_t mode) {
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *s = tmp + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

int write_file(const char *path, const void *data, size_t n, mode_t mode) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) { *slash = 0; if (mkdir_p(dir, 0755) < 0) return -1; }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  const char *p = data;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { int e = errno; close(fd); errno = e; return -1; }
    p += w;
    n -= (size_t)w;
  }
  return close(fd);
}

static char *slurp(const char *path, size_t max) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return strdup("");
  char *b = malloc(max + 1);
  ssize_t r = read(fd, b, max);
  close(fd);
  b[r > 0 ? r : 0] = 0;
  for (ssize_t i = (r > 0 ? r : 0) - 1; i >= 0 && (b[i] == '\n' || b[i] == ' '); i--) b[i] = 0;
  return b;
}

/* crun helper with /dev/null or the process's pipes as stdio, and `extra` as fds 3, 4 (pool). */
static struct helper *helper_start_fds(char **argv, enum helper_kind kind, uint32_t req, struct proc *p,
                                       int in, int out, int err, const int *extra, int nextra) {
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  int fds[5] = {in >= 0 ? in : nul, out >= 0 ? out : nul, err >= 0 ? err : nul, -1, -1};
  for (int i = 0; i < nextra && i < 2; i++) fds[3 + i] = extra[i];
  pid_t pid = crun_spawn_fds(argv, fds, 3 + (nextra < 2 ? nextra : 2));
  close(nul);
  if (pid < 0) return NULL;
  struct helper *h = calloc(1, sizeof *h);
  h->pid = pid;
  h->kind = kind;
  h->req = req;
  h->proc = p;
  h->next = helpers;
  helpers = h;
  return h;
}

static struct helper *helper_start(char **argv, enum helper_kind kind, uint32_t req, struct proc *p,
                                   int in, int out, int err) {
  return helper_start_fds(argv, kind, req, p, in, out, err, NULL, 0);
}

/* Pipes for a non-TTY process: the child's ends are returned in c[3], ours go into p. */
static int make_pipes(struct proc *p, int c[3]) {
  int a[2], b[2], e[2];
  if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC) || pipe2(e, O_CLOEXEC)) return -1;
  c[0] = a[0]; p->in_fd = a[1];
  c[1] = b[1]; p->out_fd = b[0];
  c[2] = e[1]; p->err_fd = e[0];
  fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
  fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
  return 0;
}

static int console_socket(struct proc *p) {
  snprintf(p->csock_path, sizeof p->csock_path, RUNDIR "/console-%u.sock", p->ch);
  unlink(p->csock_path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un sa = {AF_UNIX, {0}};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p->csock_path);
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) || listen(s, 1)) { if (s >= 0) close(s); return -1; }
  p->csock = s;
  return 0;
}

static void op_spawn(uint32_t req, const struct jdoc *d) {
  uint32_t ch = (uint32_t)jnum(d, jget(d, 0, "channel"), 0);
  char **args = jstrarr(d, jget(d, 0, "args"));
  char **env = jstrarr(d, jget(d, 0, "env"));
  char *cwd = jstr(d, jget(d, 0, "cwd"));
  int tty = jbool(d, jget(d, 0, "tty"), 0);
  if (!ch || proc_by_ch(ch) || !args || !args[0]) {
    respond_err(req, EINVAL, "spawn: need a free non-zero channel and a non-empty args array");
    goto out;
  }
  struct proc *p = proc_new(ch);
  int c[3];
  if (tty) {
    char name[64];
    if (make_pty(&p->pty, name, sizeof name) < 0) { respond_err(req, errno, "spawn: pty: %s", strerror(errno)); proc_free(p); goto out; }
    set_winsize(p->pty, (int)jnum(d, jget(d, 0, "rows"), 24), (int)jnum(d, jget(d, 0, "cols"), 80));
    fcntl(p->pty, F_SETFL, O_NONBLOCK);
    int s = open(name, O_RDWR | O_CLOEXEC);
    p->pid = spawn_with_stdio(args, env, cwd, s, s, s, 1);
    close(s);
  } else {
    if (make_pipes(p, c) < 0) { respond_err(req, errno, "spawn: pipe: %s", strerror(errno)); proc_free(p); goto out; }
    p->pid = spawn_with_stdio(args, env, cwd, c[0], c[1], c[2], 0);
    close(c[0]); close(c[1]); close(c[2]);
  }
  char f[48];
  snprintf(f, sizeof f, ",\"pid\":%d", (int)p->pid);
  respond_ok(req, f);
out:
  jfreearr(args); jfreearr(env); free(cwd);
}

/* create / run / exec share the shape: write the JSON, start crun with the channel's stdio. */
static void op_crun(uint32_t req, const struct jdoc *d, const char *op) {
  uint32_t ch = (uint32_t)jnum(d, jget(d, 0, "channel"), 0);
  char *id = jstr(d, jget(d, 0, "id"));
  char *bundle = jstr(d, jget(d, 0, "bundle"));
  int exec = !strcmp(op, "exec");
  /* pool_add: `run` whose process is skiff-pool-init (fd 3) waiting on its claim pipe (fd 4). */
  int pool = !strcmp(op, "pool_add");
  int extra[2] = {-1, -1};
  char *json = jstr(d, jget(d, 0, exec ? "process" : "config"));
  int tty = jbool(d, jget(d, 0, "tty"), 0);
  char path[256], pidfile[96], logfile[96], procfile[96];
  if (!ch || proc_by_ch(ch) || !id || !*id || strchr(id, '/') || (!exec && !bundle) || (exec && !json)) {
    respond_err(req, EINVAL, "%s: need a free channel, an id without '/', %s", op, exec ? "and process" : "and bundle");
    goto out;
  }
  if (json && !exec) {
    snprintf(path, sizeof path, "%s/config.json", bundle);
    if (write_file(path, json, strlen(json), 0644) < 0) { respond_err(req, errno, "%s %s: writing %s: %s", op, id, path, strerror(errno)); goto out; }
  }
  snprintf(pidfile, sizeof pidfile, RUNDIR "/%u.pid", ch);
  snprintf(logfile, sizeof logfile, RUNDIR "/%u.log", ch);
  unlink(pidfile);
  unlink(logfile);
  struct proc *p = proc_new(ch);
  p->rows = (int)jnum(d, jget(d, 0, "rows"), 24);
  p->cols = (int)jnum(d, jget(d, 0, "cols"), 80);
  int c[3] = {-1, -1, -1};
  if (tty ? console_socket(p) : make_pipes(p, c)) { respond_err(req, errno, "%s %s: stdio: %s", op, id, strerror(errno)); proc_free(p); goto out; }
  if (pool) {
    int cp[2];
    if (tty || (extra[0] = open(POOL_INIT, O_RDONLY | O_CLOEXEC)) < 0 || pipe2(cp, O_CLOEXEC) < 0) {
      respond_err(req, tty ? EINVAL : errno, "pool_add %s: %s", id, tty ? "no TTY in the pool" : strerror(errno));
      for (int i = 0; i < 3; i++) if (c[i] >= 0) close(c[i]);
      if (extra[0] >= 0) close(extra[0]);
      proc_free(p);
      goto out;
    }
    extra[1] = cp[0];
    p->claim_fd = cp[1];
  }
  char logarg[112], pidarg[112], sockarg[96];
  snprintf(logarg, sizeof logarg, "--log=file:%s", logfile);
  snprintf(pidarg, sizeof pidarg, "--pid-file=%s", pidfile);
  snprintf(sockarg, sizeof sockarg, "--console-socket=%s", p->csock_path);
  char *argv[16];
  int n = 0;
  argv[n++] = CRUN;
  argv[n++] = logarg;
  if (exec) {
    snprintf(procfile, sizeof procfile, RUNDIR "/%u.process.json", ch);
    if (write_file(procfile, json, strlen(json), 0644) < 0) { respond_err(req, errno, "exec %s: writing %s: %s", id, procfile, strerror(errno)); proc_free(p); goto out; }
    argv[n++] = "exec";
    argv[n++] = "--detach";
    argv[n++] = "--process";
    argv[n++] = procfile;
  } else if (!strcmp(op, "run") || pool) {
    /* One crun process for create + start: crun exits once the container runs (or has run). */
    argv[n++] = "run";
    argv[n++] = "--detach";
    if (pool) argv[n++] = "--preserve-fds=2";
    argv[n++] = "--bundle";
    argv[n++] = bundle;
  } else {
    argv[n++] = "create";
    argv[n++] = "--bundle";
    argv[n++] = bundle;
  }
  argv[n++] = pidarg;
  if (tty) argv[n++] = sockarg;
  argv[n++] = id;
  argv[n] = NULL;
  struct helper *h = helper_start_fds(argv, exec ? H_EXEC : H_CREATE, req, p, c[0], c[1], c[2], extra, pool ? 2 : 0);
  for (int i = 0; i < 3; i++) if (c[i] >= 0) close(c[i]);
  for (int i = 0; i < 2; i++) if (extra[i] >= 0) close(extra[i]);
  if (!h) { respond_err(req, errno, "%s %s: fork: %s", op, id, strerror(errno)); proc_free(p); goto out; }
  h->then_start = 0; /* "run" is `crun run --detach` above */
  snprintf(h->id, sizeof h->id, "%s", id);
  snprintf(h->pidfile, sizeof h->pidfile, "%s", pidfile);
  snprintf(h->logfile, sizeof h->logfile, "%s", logfile);
out:
  free(id); free(bundle); free(json);
}

static void crun_simple(uint32_t req, const char *verb, const char *id, int force, struct proc *p) {
  char *argv[] = {CRUN, (char *)verb, force ? "--force" : (char *)id, force ? (char *)id : NULL, NULL};
  struct helper *h = helper_start(argv, !strcmp(verb, "start") ? H_START : H_DELETE, req, p, -1, -1, -1);
  if (!h) { respond_err(req, errno, "%s %s: fork: %s", verb, id, strerror(errno)); return; }
  snprintf(h->id, sizeof h->id, "%s", id);
}

/*
 * Why crun could not start a container's (or an exec's) process, for the host's exit status
 * (126/127): "not-found" or "not-executable", NULL for any other failure. crun reports no status
 * of its own (it exits 1) but logs "<time>: <message>: <strerror(errno)>": the errno is recovered
 * by matching the strerror() text of the same glibc, and counts only on the lines crun writes
 * about finding, opening or executing the process's executable (libcrun container.c: the
 * executable lookup and the execv of container init / exec). Anything else is left to the
 * generic failure (125).
 */
static const char *exec_failure_reason(const char *log) {
  const char *line = log, *nl;
  /* The error is crun's last line. */
  while ((nl = strchr(line, '\n')) && nl[1]) line = nl + 1;
  size_t len = strcspn(line, "\n");
  int err = 0;
  for (int e = 1; e < 134 && !err; e++) {
    const char *s = strerror(e);
    size_t n = strlen(s);
    if (len >= n + 2 && !strncmp(line + len - n, s, n) && !strncmp(line + len - n - 2, ": ", 2)) err = e;
  }
  if (!err) return NULL;
  /* crun 1.8.1 (the one in the initrd) writes the first three; later crun versions the others. */
  int about_exec = strstr(line, "executable file `") || strstr(line, "open executable") || strstr(line, "exec container process") ||
                   (strstr(line, "the path `") && (strstr(line, "not executable") || strstr(line, "not a regular file"))) ||
                   strstr(line, ": open `");
  if (!about_exec) return NULL;
  if (err == ENOENT || err == ENOTDIR) return "not-found";
  if (err == EACCES || err == EPERM || err == ENOEXEC || err == EISDIR) return "not-executable";
  return NULL;
}

void helper_exited(struct helper *h, int status) {
  for (struct helper **pp = &helpers; *pp; pp = &(*pp)->next)
    if (*pp == h) { *pp = h->next; break; }
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  const char *verb = h->kind == H_CREATE ? "create" : h->kind == H_START ? "start" : h->kind == H_EXEC ? "exec" : "delete";
  if (!ok) {
    char *log = h->logfile[0] ? slurp(h->logfile, 4096) : strdup("");
    const char *reason = h->kind == H_CREATE || h->kind == H_EXEC ? exec_failure_reason(log) : NULL;
    size_t n = strlen(log);
    respond_err_reason(h->req, EIO, reason, "crun %s %s failed (status %d): %s", verb, h->id, WIFEXITED(status) ? WEXITSTATUS(status) : -1, n > 600 ? log + n - 600 : log);
    free(log);
    if ((h->kind == H_CREATE || h->kind == H_EXEC) && h->proc) proc_free(h->proc);
    free(h);
    return;
  }
  if (h->kind == H_CREATE || h->kind == H_EXEC) {
    char *s = slurp(h->pidfile, 32);
    struct proc *p = h->proc;
    p->pid = atoi(s);
    free(s);
    read_cgroup(p);
    int st;
    if (take_orphan(p->pid, &st)) proc_child_exited(p->pid, st);
    if (h->then_start) {
      struct helper *n = NULL;
      char *argv[] = {CRUN, "start", h->id, NULL};
      /* The start helper keeps the pid, not the proc: the container may exit (and its proc be
       * freed) before `crun start` itself returns. */
      n = helper_start(argv, H_START, h->req, NULL, -1, -1, -1);
      if (n) { n->pid_for_reply = p->pid; snprintf(n->id, sizeof n->id, "%s", h->id); free(h); return; }
    }
  }
  char f[48] = "";
  if (h->proc) snprintf(f, sizeof f, ",\"pid\":%d", (int)h->proc->pid);
  else if (h->pid_for_reply) snprintf(f, sizeof f, ",\"pid\":%d", (int)h->pid_for_reply);
  respond_ok(h->req, f);
  free(h);
}

static void op_mount(uint32_t req, const struct jdoc *d) {
  char *exp = jstr(d, jget(d, 0, "export"));
  char *target = jstr(d, jget(d, 0, "target"));
  char *cache = jstr(d, jget(d, 0, "cache"));
  long long msize = jnum(d, jget(d, 0, "msize"), 131072);
  if (!target || !*target) { respond_err(req, EINVAL, "mount: need a target"); goto out; }
  if (exp && (strstr(exp, "..") || exp[0] == '/')) { respond_err(req, EINVAL, "mount: bad export name '%s'", exp); goto out; }
  /* Mount the one host9p channel once; exports are its top-level directories. */
  if (mkdir_p(P9ROOT, 0755) < 0) { respond_err(req, errno, "mount: mkdir " P9ROOT ": %s", strerror(errno)); goto out; }
  FILE *m = fopen("/proc/mounts", "r");
  char line[512];
  int mounted = 0;
  while (m && fgets(line, sizeof line, m)) if (strstr(line, " " P9ROOT " ")) mounted = 1;
  if (m) fclose(m);
  if (!mounted) {
    char opts[256];
    snprintf(opts, sizeof opts, "trans=virtio,version=9p2000.L,aname=,msize=%lld%s%s", msize, cache ? ",cache=" : "", cache ? cache : "");
    if (mount("host9p", P9ROOT, "9p", 0, opts) < 0) { respond_err(req, errno, "mount host9p on " P9ROOT ": %s", strerror(errno)); goto out; }
  }
  char src[512];
  snprintf(src, sizeof src, P9ROOT "/%s", exp ? exp : "");
  if (mkdir_p(target, 0755) < 0) { respond_err(req, errno, "mount: mkdir %s: %s", target, strerror(errno)); goto out; }
  if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0) { respond_err(req, errno, "mount export '%s' on %s: %s", exp ? exp : "", target, strerror(errno)); goto out; }
  respond_ok(req, "");
out:
  free(exp); free(target); free(cache);
}

static long meminfo_kb(const char *key) {
  FILE *f = fopen("/proc/meminfo", "r");
  char line[128];
  long v = -1;
  size_t kl = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, kl) && line[kl] == ':') v = atol(line + kl + 1);
  if (f) fclose(f);
  return v;
}

/* Before a snapshot: make free memory zero, so v86's state saver (which skips zero pages) stores
 * only what is in use. Drop the page cache, fault in anonymous pages (the kernel clears each) up to
 * a safety margin, and give them back: they return to the free lists zeroed. The margin keeps the
 * OOM killer away; the agent is PID 1 and must never be its only candidate. */
static void op_zero_free(uint32_t req) {
  sync();
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) { if (write(fd, "3", 1) < 0) {} close(fd); }
  long target = meminfo_kb("MemFree") - 4 * 1024;
  const size_t chunk = 1 << 20;
  size_t cap = target > 0 ? (size_t)target / 1024 + 1 : 1, n = 0;
  void **maps = calloc(cap, sizeof *maps);
  while (n < cap && (long)(n + 1) * 1024 <= target) {
    void *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) break;
    maps[n++] = p;
  }
  for (size_t i = 0; i < n; i++) munmap(maps[i], chunk);
  free(maps);
  char f[64];
  snprintf(f, sizeof f, ",\"zeroed_kb\":%zu", n * 1024);
  respond_ok(req, f);
}

/* The host's random bytes (base64) into the kernel's pool, credited, and the generator reseeded
 * from it at once. The guest has no entropy source of its own: without this its generator never
 * becomes ready, and then every get_random_u32() (one per tmpfs inode, per exec, per mount...)
 * hashes the whole input pool (blake2s), ~15% of a container start's busy time in the emulator.
 * Sent with every set_clock, after each snapshot restore too, so restored guests do not share
 * one random sequence. */
static int seed_random(const char *b64) {
  size_t n = 0;
  unsigned char *bytes = b64dec(b64, &n);
  if (!bytes || n < 16 || n > 512) { free(bytes); errno = EINVAL; return -1; }
  struct rand_pool_info *info = calloc(1, sizeof *info + n);
  info->entropy_count = (int)(n * 8);
  info->buf_size = (int)n;
  memcpy(info->buf, bytes, n);
  free(bytes);
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC), r = -1;
  if (fd >= 0 && ioctl(fd, RNDADDENTROPY, info) == 0) r = ioctl(fd, RNDRESEEDCRNG) == 0 || errno == ENODATA ? 0 : -1;
  int e = errno;
  if (fd >= 0) close(fd);
  explicit_bzero(info, sizeof *info + n);
  free(info);
  errno = e;
  return r;
}

void handle_request(uint32_t req, const char *json, size_t len) {
  struct jdoc d;
  if (jparse(&d, json, len) < 0) { respond_err(req, EINVAL, "request %u: malformed JSON", req); return; }
  char *op = jstr(&d, jget(&d, 0, "op"));
  if (!op) { respond_err(req, EINVAL, "request %u: no op", req); jfree(&d); return; }
  char what[64];
  snprintf(what, sizeof what, "request %u (%s)", req, op);
  watch_busy(what);
  if (!strcmp(op, "ping")) {
    struct sysinfo si;
    sysinfo(&si);
    int n = 0;
    for (struct proc *p = procs; p; p = p->next) n++;
    char f[128];
    snprintf(f, sizeof f, ",\"uptime_ms\":%lld,\"mem_free_kb\":%lu,\"procs\":%d", (long long)si.uptime * 1000,
             (unsigned long)(si.freeram / 1024 * si.mem_unit), n);
    respond_ok(req, f);
  } else if (!strcmp(op, "set_clock")) {
    long long ms = jnum(&d, jget(&d, 0, "epoch_ms"), -1);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    char *seed = jstr(&d, jget(&d, 0, "seed"));
    if (ms < 0 || clock_settime(CLOCK_REALTIME, &ts) < 0) respond_err(req, ms < 0 ? EINVAL : errno, "set_clock %lld failed", ms);
    else if (seed && seed_random(seed) < 0) respond_err(req, errno, "set_clock: seeding the kernel's random generator: %s", strerror(errno));
    else respond_ok(req, "");
    free(seed);
  } else if (!strcmp(op, "mount")) {
    op_mount(req, &d);
  } else if (!strcmp(op, "umount")) {
    char *t = jstr(&d, jget(&d, 0, "target"));
    if (!t || umount2(t, MNT_DETACH) < 0) respond_err(req, t ? errno : EINVAL, "umount %s: %s", t ? t : "(none)", strerror(errno));
    else respond_ok(req, "");
    free(t);
  } else if (!strcmp(op, "write_file") || !strcmp(op, "mkdir")) {
    char *path = jstr(&d, jget(&d, 0, "path"));
    int mode = (int)jnum(&d, jget(&d, 0, "mode"), op[0] == 'm' ? 0755 : 0644);
    if (!path || path[0] != '/') respond_err(req, EINVAL, "%s: need an absolute path", op);
    else if (op[0] == 'm') {
      if (mkdir_p(path, (mode_t)mode) < 0) respond_err(req, errno, "mkdir %s: %s", path, strerror(errno));
      else respond_ok(req, "");
    } else {
      char *text = jstr(&d, jget(&d, 0, "text")), *b64 = jstr(&d, jget(&d, 0, "data"));
      size_t n = 0;
      unsigned char *bytes = b64 ? b64dec(b64, &n) : NULL;
      if (!text && !bytes) respond_err(req, EINVAL, "write_file %s: need text or base64 data", path);
      else if (write_file(path, text ? text : (char *)bytes, text ? strlen(text) : n, (mode_t)mode) < 0)
        respond_err(req, errno, "write_file %s: %s", path, strerror(errno));
      else {
        char f[40];
        snprintf(f, sizeof f, ",\"size\":%zu", text ? strlen(text) : n);
        respond_ok(req, f);
      }
      free(text); free(b64); free(bytes);
    }
    free(path);
  } else if (!strcmp(op, "spawn")) {
    op_spawn(req, &d);
  } else if (!strcmp(op, "create") || !strcmp(op, "run") || !strcmp(op, "exec") || !strcmp(op, "pool_add")) {
    op_crun(req, &d, op);
  } else if (!strcmp(op, "pool_claim")) {
    op_pool_claim(req, &d);
  } else if (!strcmp(op, "start") || !strcmp(op, "delete")) {
    char *id = jstr(&d, jget(&d, 0, "id"));
    if (!id || !*id) respond_err(req, EINVAL, "%s: need an id", op);
    else crun_simple(req, op, id, jbool(&d, jget(&d, 0, "force"), 0), NULL);
    free(id);
  } else if (!strcmp(op, "signal") || !strcmp(op, "resize")) {
    struct proc *p = proc_by_ch((uint32_t)jnum(&d, jget(&d, 0, "channel"), 0));
    if (!p) respond_err(req, ESRCH, "%s: no process on that channel", op);
    else if (op[0] == 's') {
      int sig = (int)jnum(&d, jget(&d, 0, "signal"), SIGTERM);
      if (p->pid <= 0 || p->exited) respond_err(req, ESRCH, "signal: process has exited");
      else if (kill(p->pid, sig) < 0) respond_err(req, errno, "signal %d: %s", sig, strerror(errno));
      else respond_ok(req, "");
    } else {
      p->rows = (int)jnum(&d, jget(&d, 0, "rows"), 24);
      p->cols = (int)jnum(&d, jget(&d, 0, "cols"), 80);
      if (p->pty >= 0) set_winsize(p->pty, p->rows, p->cols);
      respond_ok(req, "");
    }
  } else if (!strncmp(op, "net_", 4)) {
    op_net(req, &d, op); /* net.c */
  } else if (!strcmp(op, "zero_free")) {
    op_zero_free(req);
  } else if (!strcmp(op, "shutdown")) {
    respond_ok(req, "");
    sync();
    reboot(RB_POWER_OFF);
  } else {
    respond_err(req, ENOSYS, "unknown op '%s'", op);
  }
  free(op);
  jfree(&d);
}
