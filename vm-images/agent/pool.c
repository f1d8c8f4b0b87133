/* Pooled containers (PROTOCOL.md "Container pool").
 *
 * `pool_add` (ops.c) runs a container whose process is skiff-pool-init (pool-init.c), blocked on
 * its claim pipe: crun's whole create + start (namespaces, mounts, pivot_root, cgroup, devices
 * eBPF, capabilities, seccomp) is done before anyone needs the container, and the VM snapshot
 * holds it. `pool_claim` turns it into a given container: what differs between two containers
 * of the same confinement is done here, as root in the initial namespaces, then the init gets the
 * real process and execs it:
 *   - crun's state directory moves to the container's id and gets its config.json, so `crun exec`,
 *     `kill`, `pause` and `delete` by that id work as for a container crun started itself (the
 *     status keeps the pool's cgroup path, which crun delete removes);
 *   - the hostname, set in the container's UTS namespace;
 *   - the cgroup limits (files and values as crun writes them from linux.resources);
 *   - the network namespace's pin moves to the container's id and gets its interfaces (net.c);
 *   - the process's channel becomes the request's.
 * The host checks beforehand that the container's config.json equals the pool's but for these
 * (src/runtime/vm/pool.ts); anything else takes crun's ordinary path. */
#define _GNU_SOURCE
#include "agent.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRUN_STATE "/run/crun"

static int safe_id(const char *id) {
  return id && *id && strlen(id) < 120 && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

/* sethostname inside the UTS namespace of `pid`, then back in the agent's own. */
static int set_hostname_of(pid_t pid, const char *name) {
  static int own = -1;
  if (own < 0) own = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/uts", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || own < 0) { int e = errno; if (fd >= 0) close(fd); return -e; }
  int e = 0;
  if (setns(fd, CLONE_NEWUTS) < 0) e = -errno;
  else {
    if (sethostname(name, strlen(name)) < 0) e = -errno;
    if (setns(own, CLONE_NEWUTS) < 0) { /* cannot happen for PID 1 in the initial namespace */ }
  }
  close(fd);
  return e;
}

static int write_text(const char *path, const char *v) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int e = write(fd, v, strlen(v)) < 0 ? -errno : 0;
  close(fd);
  return e;
}

void op_pool_claim(uint32_t req, const struct jdoc *d) {
  uint32_t from = (uint32_t)jnum(d, jget(d, 0, "pool_channel"), 0);
  uint32_t ch = (uint32_t)jnum(d, jget(d, 0, "channel"), 0);
  char *pool_id = jstr(d, jget(d, 0, "pool_id")), *id = jstr(d, jget(d, 0, "id"));
  char *config = jstr(d, jget(d, 0, "config")), *hostname = jstr(d, jget(d, 0, "hostname"));
  char *claim = jstr(d, jget(d, 0, "claim")), *netns_from = jstr(d, jget(d, 0, "netns_from"));
  char **cg = jstrarr(d, jget(d, 0, "cgroup"));
  unsigned char *msg = NULL;
  size_t msglen = 0;
  char err[240] = "", a[200], b[200];
  struct proc *p = from ? proc_by_ch(from) : NULL;
  if (!p || p->exited || p->claim_fd < 0 || p->pid <= 0) { respond_err(req, ESRCH, "pool_claim: no unclaimed pooled container on channel %u", from); goto out; }
  if (!ch || proc_by_ch(ch) || !safe_id(pool_id) || !safe_id(id) || !config || !hostname || !claim ||
      !(msg = b64dec(claim, &msglen)) || !msglen) {
    respond_err(req, EINVAL, "pool_claim: need a free channel, ids without '/', config, hostname and a claim");
    goto out;
  }
  snprintf(a, sizeof a, CRUN_STATE "/%s", pool_id);
  snprintf(b, sizeof b, CRUN_STATE "/%s", id);
  if (rename(a, b) < 0) { respond_err(req, errno, "pool_claim %s: crun state %s: %s", id, a, strerror(errno)); goto out; }
  snprintf(b, sizeof b, CRUN_STATE "/%s/config.json", id);
  if (write_file(b, config, strlen(config), 0644) < 0) { respond_err(req, errno, "pool_claim %s: %s: %s", id, b, strerror(errno)); goto out; }
  /* The bundle directory every container has (/run/skiff/c/<id>, as `run` writes it); the pool's
   * served crun run only. */
  snprintf(a, sizeof a, "/run/skiff/c/%s/config.json", id);
  if (write_file(a, config, strlen(config), 0644) < 0) { respond_err(req, errno, "pool_claim %s: %s: %s", id, a, strerror(errno)); goto out; }
  /* The pool's bundle served crun run only. */
  snprintf(a, sizeof a, "/run/skiff/c/%s/config.json", pool_id);
  unlink(a);
  snprintf(a, sizeof a, "/run/skiff/c/%s", pool_id);
  rmdir(a);
  int e = set_hostname_of(p->pid, hostname);
  if (e) { respond_err(req, -e, "pool_claim %s: hostname: %s", id, strerror(-e)); goto out; }
  for (int i = 0; cg && cg[i] && cg[i + 1]; i += 2) {
    if (strchr(cg[i], '/') || !p->cgroup[0]) { respond_err(req, EINVAL, "pool_claim %s: bad cgroup file '%s'", id, cg[i]); goto out; }
    snprintf(b, sizeof b, "%s/%s", p->cgroup, cg[i]);
    e = write_text(b, cg[i + 1]);
    /* As crun: a kernel without swap accounting has no memory.swap.max. */
    if (e == -ENOENT && !strcmp(cg[i], "memory.swap.max")) e = 0;
    if (e) { respond_err(req, -e, "pool_claim %s: writing %s to %s: %s", id, cg[i + 1], b, strerror(-e)); goto out; }
  }
  if (netns_from && *netns_from && (e = net_adopt(netns_from, id, d, jget(d, 0, "ifaces"), err, sizeof err))) {
    respond_err(req, -e, "pool_claim %s: network: %s", id, err);
    goto out;
  }
  p->ch = ch;
  p->credit[0] = p->credit[1] = OUT_WINDOW; /* the host's accounting for the new channel starts afresh */
  p->oom_before = read_oom_kill(p->cgroup);
  ssize_t w = write(p->claim_fd, msg, msglen); /* < 64 KiB: one write into the pipe's buffer */
  close(p->claim_fd);
  p->claim_fd = -1;
  if (w != (ssize_t)msglen) { respond_err(req, EIO, "pool_claim %s: handing over the process: %s", id, w < 0 ? strerror(errno) : "short write"); goto out; }
  char f[48];
  snprintf(f, sizeof f, ",\"pid\":%d", (int)p->pid);
  respond_ok(req, f);
out:
  free(pool_id); free(id); free(config); free(hostname); free(claim); free(netns_from); free(msg);
  jfreearr(cg);
}
