/* Prints "N t=MS" every INTERVAL ms (argv[1], default 5) for ever, MS being the time since it
 * started (monotonic clock): a test kills wtm at some moment and compares what was printed
 * with what the recording kept. With argv[2] = "bulk", each line is followed by 4 KiB of
 * pseudo-random letters on stderr, which do not compress: the log grows fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  long interval = argc > 1 ? atol(argv[1]) : 5;
  int bulk = argc > 2 && strcmp(argv[2], "bulk") == 0;
  static char pad[4096];
  unsigned seed = 1;
  long long t0 = now_ms();
  for (long n = 0;; n++) {
    printf("%ld t=%lld\n", n, now_ms() - t0);
    fflush(stdout);
    if (bulk) {
      for (size_t i = 0; i < sizeof pad; i++) pad[i] = 'a' + ((seed = seed * 1103515245u + 12345u) >> 16) % 26;
      fwrite(pad, 1, sizeof pad, stderr);
    }
    if (interval > 0) {
      struct timespec ts = {interval / 1000, (interval % 1000) * 1000000L};
      nanosleep(&ts, 0);
    }
  }
}
