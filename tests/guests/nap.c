/* Sleeps argv[1] ms (default 1000), then prints "napped ARG2" (for tests of tasks that are
 * running when their worker is killed or drained). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 1000;
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
  printf("napped %s\n", argc > 2 ? argv[2] : "");
  return 0;
}
