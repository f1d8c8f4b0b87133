/* skiff/hello-wasm: the smallest useful WASI command. Prints a greeting, its
 * arguments and $GREETING, so one run shows that args, env and stdout work. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *greeting = getenv("GREETING");
  printf("Hello from WebAssembly!\n");
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  printf("GREETING=%s\n", greeting ? greeting : "(unset)");
  return 0;
}
