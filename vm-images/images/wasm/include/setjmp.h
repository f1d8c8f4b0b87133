/* setjmp/longjmp for wasm32-wasi with LLVM 16's Wasm-exception-based lowering
 * (compile with `-mllvm -wasm-enable-sjlj`). Debian's wasi-libc (2022) ships no
 * setjmp.h; the compiler rewrites these calls into try/catch around calls that
 * may jump, backed by the small runtime in sjlj.c. The engine must support the
 * Wasm exception-handling proposal (Node 20 and Chromium do). */
#ifndef SKIFF_WASI_SETJMP_H
#define SKIFF_WASI_SETJMP_H
typedef struct { unsigned long id; unsigned long spare; } jmp_buf[1];
int setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int val) __attribute__((noreturn));
#define _setjmp setjmp
#define _longjmp longjmp
#endif
