/* Force-included (-include) when building POSIX C sources for wasm32-wasi.
 * WASI preview 1 has no users, no permission bits and no advisory locks; these
 * stubs let programs that merely call them (sqlite's unix VFS, lua's os lib)
 * build and behave as a single-user, single-process system would. */
#ifndef SKIFF_WASI_COMPAT_H
#define SKIFF_WASI_COMPAT_H
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>

static inline uid_t skiff_wasi_uid(void) { return 0; }
#define getuid skiff_wasi_uid
#define geteuid skiff_wasi_uid
#define getgid skiff_wasi_uid
#define getegid skiff_wasi_uid

static inline int skiff_wasi_chmod(const char *p, mode_t m) { (void)p; (void)m; return 0; }
static inline int skiff_wasi_fchmod(int fd, mode_t m) { (void)fd; (void)m; return 0; }
static inline int skiff_wasi_fchown(int fd, uid_t u, gid_t g) { (void)fd; (void)u; (void)g; return 0; }
#define chmod skiff_wasi_chmod
#define fchmod skiff_wasi_fchmod
#define fchown skiff_wasi_fchown

/* Advisory locks: one process owns the whole filesystem, so every lock is
 * granted and F_GETLK always reports "unlocked". Other commands pass through. */
#ifndef F_RDLCK
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#endif
#ifndef F_GETLK
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#endif
static inline int skiff_wasi_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (cmd == F_GETLK) { ((struct flock *)arg)->l_type = F_UNLCK; return 0; }
  if (cmd == F_SETLK || cmd == F_SETLKW) return 0;
  return fcntl(fd, cmd, (int)(long)arg);
}
#define fcntl skiff_wasi_fcntl

/* No processes to spawn: report failure the way libc does when no shell exists. */
#include <errno.h>
#include <stdio.h>
static inline int skiff_wasi_system(const char *cmd) { if (!cmd) return 0; errno = ENOSYS; return -1; }
static inline FILE *skiff_wasi_popen(const char *cmd, const char *mode) { (void)cmd; (void)mode; errno = ENOSYS; return 0; }
static inline int skiff_wasi_pclose(FILE *f) { (void)f; errno = ENOSYS; return -1; }
#define system skiff_wasi_system
#define popen skiff_wasi_popen
#define pclose skiff_wasi_pclose
#endif
