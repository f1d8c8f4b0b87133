/* Force-included when building Lua for WASI (after skiff-wasi-compat.h).
 * WASI preview 1 has neither tmpnam nor mkstemp: os.tmpname reports failure
 * ("unable to generate a unique filename") instead of failing to build. */
#ifndef SKIFF_LUA_WASI_H
#define SKIFF_LUA_WASI_H
#define LUA_TMPNAMBUFSIZE 32
#define lua_tmpnam(b, e) { (b)[0] = '\0'; (e) = 1; }
/* wasi-libc has no tmpfile(); io.tmpfile returns nil plus an error message. */
#include <errno.h>
#include <stdio.h>
static inline FILE *skiff_lua_tmpfile(void) { errno = ENOSYS; return 0; }
#define tmpfile skiff_lua_tmpfile
#endif
