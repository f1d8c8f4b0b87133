/* WASI has no user database; programs fall back to $HOME when lookups fail. */
#ifndef SKIFF_WASI_PWD_H
#define SKIFF_WASI_PWD_H
#include <sys/types.h>
struct passwd {
  char *pw_name, *pw_passwd;
  uid_t pw_uid;
  gid_t pw_gid;
  char *pw_gecos, *pw_dir, *pw_shell;
};
static inline struct passwd *getpwuid(uid_t uid) { (void)uid; return 0; }
static inline struct passwd *getpwnam(const char *name) { (void)name; return 0; }
#endif
