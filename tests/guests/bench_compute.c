/* A compute-bound guest for the recording-overhead benchmark: argv[1] rounds of an integer
 * hash over a 1 MiB buffer, then one line of output. Almost no WASI calls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint8_t buf[1 << 20];

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 2654435761u >> 13);
  for (int r = 0; r < rounds; r++) {
    for (size_t i = 0; i < sizeof buf; i++) {
      h ^= buf[i];
      h *= 1099511628211ULL;
      buf[i] = (uint8_t)(h >> 29);
    }
  }
  printf("compute %d rounds: %016llx\n", rounds, (unsigned long long)h);
  return 0;
}
