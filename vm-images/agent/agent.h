/* skiff guest agent: shared declarations. See PROTOCOL.md for the wire format. */
#ifndef SKIFF_AGENT_H
#define SKIFF_AGENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"

#define PROTO_VERSION 2
#define AGENT_VERSION "0.5.2"

enum frame_type {
  F_HELLO = 0x01,
  F_REQUEST = 0x02,
  F_RESPONSE = 0x03,
  F_EXIT = 0x04,
  F_STDIN = 0x10,
  F_STDOUT = 0x11,
  F_STDERR = 0x12,
  F_ACK = 0x20,
  F_CREDIT = 0x21,       /* h->g: room for more STDOUT/STDERR of a process */
  F_STDIN_CREDIT = 0x22, /* g->h: stdin bytes of a process written to it (or dropped) */
};

/* Per-stream output window (PROTOCOL.md "Per-process flow control"): the agent reads a process's
 * stdout (stderr) only while the host has granted room for it, so a process whose host-side reader
 * is stalled blocks in write(2) on its own pipe, and every other process and request goes on. */
#define OUT_WINDOW (256u << 10)

/* A process whose stdio is a channel: a plain guest process, a container's init or an exec. */
struct proc {
  uint32_t ch;
  pid_t pid;          /* 0 until known (crun writes the pid file) */
  int in_fd, out_fd, err_fd; /* pipes; -1 when closed or unused */
  int pty;            /* pty master for a TTY, else -1 */
  int csock;          /* console-socket listener while waiting for crun's pty, else -1 */
  char csock_path[64];
  char cgroup[300];   /* cgroup v2 directory, "" if unknown */
  long long oom_before;
  int exited, status;
  long long exited_at_ms;
  unsigned char *inbuf; /* stdin bytes not yet written */
  size_t inlen;
  int in_close;       /* close stdin once inbuf drains */
  uint32_t credit[2]; /* stdout (also a pty's output), stderr: bytes the host has room for */
  int rows, cols;     /* initial window size for a pty that crun has yet to send */
  int claim_fd;       /* a pooled container's claim pipe (pool.c) until claimed, else -1 */
  int dead;           /* freed by proc_free: its memory is kept until the loop round ends */
  struct proc *next;
};

/* A crun invocation whose completion answers a request. */
enum helper_kind { H_CREATE, H_START, H_EXEC, H_DELETE };
struct helper {
  pid_t pid;
  enum helper_kind kind;
  uint32_t req;
  struct proc *proc;  /* create/exec: the process it makes */
  int then_start;     /* run = create + start */
  pid_t pid_for_reply; /* start after create: the container's pid for the answer */
  char id[128];
  char pidfile[96];
  char logfile[96];
  struct helper *next;
};

/* agent.c */
void send_frame(int type, uint32_t ch, const void *p, size_t n);
void respond_ok(uint32_t req, const char *fields); /* fields: "" or ",\"k\":v..." */
void respond_err(uint32_t req, int err, const char *fmt, ...);
/* As respond_err, with a "reason" field (PROTOCOL.md: why a process could not be started). */
void respond_err_reason(uint32_t req, int err, const char *reason, const char *fmt, ...);
long long now_ms(void);

/* proc.c */
extern struct proc *procs;
extern struct helper *helpers;
struct proc *proc_new(uint32_t ch);
struct proc *proc_by_ch(uint32_t ch);
void proc_free(struct proc *p);          /* closes and unlists it; the memory goes at proc_reap() */
void proc_reap(void);                    /* end of a loop round: frees what proc_free let go */
int make_pty(int *master, char *slave_name, size_t n);
void set_winsize(int fd, int rows, int cols);
void proc_child_exited(pid_t pid, int status);
void proc_poll_done(void);
pid_t spawn_with_stdio(char **argv, char **envp, const char *cwd, int in, int out, int err, int ctty);
void stash_orphan(pid_t pid, int status);
int take_orphan(pid_t pid, int *status);
void read_cgroup(struct proc *p);
long long read_oom_kill(const char *cgroup);

/* crun.c */
#define CRUN_PATH "/usr/bin/crun"
void crun_image_init(void);              /* once, at start: the sealed copy of crun */
int crun_image_fd(const char *path);     /* that copy's fd when `path` is crun, else -1 */
void crun_zygote_start(void);            /* once, after crun_image_init (crun-zygote.c) */
int crun_zygote_fd(void);                /* the zygote's socket for the main loop's poll, or -1 */
void crun_zygote_read(void);             /* its exit reports: helper_exited for each */
pid_t crun_spawn(char **argv, int in, int out, int err); /* a crun helper: from the zygote, else fork+exec */
pid_t crun_spawn_fds(char **argv, const int *fds, int nfds); /* fds become 0..nfds-1 (3-5; more than 3 needs the zygote) */

/* devices.c */
void devices_init(const char *parent);   /* once, at boot: Docker's device policy on that cgroup */
const char *devices_cgroup(void);        /* the cgroup it is attached to (for HELLO), or NULL */

/* ops.c */
void handle_request(uint32_t req, const char *json, size_t len);
int mkdir_p(const char *path, mode_t mode);
int write_file(const char *path, const void *data, size_t n, mode_t mode);

/* watch.c: the agent's loop watched by a child that reports a round stuck for seconds */
void watch_start(void);                 /* once, at start, before the port is opened */
void watch_busy(const char *what);      /* this round's work (the first call of a round starts its clock) */
void watch_idle(void);                  /* the round is over (before poll) */

/* pool.c */
#define POOL_INIT "/sbin/skiff-pool-init"
void op_pool_claim(uint32_t req, const struct jdoc *d);
void helper_exited(struct helper *h, int status);

#endif
