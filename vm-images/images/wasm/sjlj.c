/* Runtime for LLVM 16's Wasm SjLj lowering (see include/setjmp.h).
 *
 * The lowered code keeps, per function invocation that calls setjmp, a table of
 * (setjmp id, label) pairs terminated by id 0. setjmp stores a fresh id in the
 * jmp_buf; longjmp throws a __c_longjmp exception carrying (env, val); every
 * catch site asks testSetjmp whether env's id belongs to its own table and
 * either resumes at that label or rethrows via __wasm_longjmp. */
#include <stdint.h>
#include <stdlib.h>

struct skiff_sjlj_entry { uintptr_t id; uint32_t label; };

static uint32_t temp_ret0;
uint32_t getTempRet0(void) { return temp_ret0; }
void setTempRet0(uint32_t v) { temp_ret0 = v; }

static uintptr_t next_id;

struct skiff_sjlj_entry *saveSetjmp(uintptr_t *env, uint32_t label,
                                    struct skiff_sjlj_entry *table, uint32_t size) {
  uintptr_t id = ++next_id;
  *env = id;
  for (;;) {
    for (uint32_t i = 0; i < size; i++) {
      if (table[i].id == 0) {
        table[i].id = id;
        table[i].label = label;
        table[i + 1].id = 0; /* the table always has room for size + 1 entries */
        temp_ret0 = size;
        return table;
      }
    }
    size *= 2;
    table = realloc(table, sizeof(*table) * (size + 1));
    if (!table) abort();
  }
}

uint32_t testSetjmp(uintptr_t id, struct skiff_sjlj_entry *table, uint32_t size) {
  for (uint32_t i = 0; i < size && table[i].id != 0; i++)
    if (table[i].id == id) return table[i].label;
  return 0;
}

static struct { void *env; int val; } longjmp_args;

void __wasm_longjmp(void *env, int val) {
  longjmp_args.env = env;
  longjmp_args.val = val == 0 ? 1 : val;
  __builtin_wasm_throw(1, &longjmp_args); /* tag 1 is __c_longjmp */
}
