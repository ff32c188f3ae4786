/* Exits through proc_exit with the code given as argv[1] (default 0), without
 * running atexit handlers or flushing stdio. Prints "exiting with N" first. */
#include <wasi/api.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  unsigned code = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
  printf("exiting with %u\n", code);
  fflush(stdout);
  __wasi_proc_exit(code);
}
