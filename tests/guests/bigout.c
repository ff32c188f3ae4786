/* Writes a lot to stdout quickly, to make big logs (bench/readers.mjs, tests/readers.test.js).
 *
 *   bigout MIB [CHUNK]
 *
 * Writes MIB MiB of pseudo-random bytes (xorshift, fixed seed: the same bytes every run, so
 * the run replays) to stdout in fd_write calls of CHUNK bytes (default 4096). The bytes do not
 * compress, so the log is about as big as the output. Raw __wasi_fd_write: no libc buffering. */
#include <wasi/api.h>
#include <stdint.h>
#include <stdlib.h>

static uint8_t buf[1 << 20];

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 1;
  long chunk = argc > 2 ? atol(argv[2]) : 4096;
  if (mib < 0 || chunk <= 0 || chunk > (long)sizeof buf) return 2;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  long long left = (long long)mib << 20;
  while (left > 0) {
    long n = left < chunk ? (long)left : chunk;
    for (long i = 0; i < n; i += 8) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      for (int k = 0; k < 8 && i + k < n; k++) buf[i + k] = (uint8_t)(x >> (8 * k));
    }
    __wasi_ciovec_t iov = { buf, (size_t)n };
    size_t done = 0;
    if (__wasi_fd_write(1, &iov, 1, &done) != 0 || done != (size_t)n) return 1;
    left -= n;
  }
  return 0;
}
