/* Grows memory 1 MiB at a time until allocation fails, then reports how much it got. The
 * blocks are kept and read back so the compiler cannot drop the allocations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *blocks[4096];

int main(void) {
  size_t mib = 0;
  unsigned long sum = 0;
  while (mib < 4096) {
    char *p = malloc(1 << 20);
    if (!p) break;
    memset(p, (int)mib, 1 << 20);
    blocks[mib++] = p;
  }
  for (size_t i = 0; i < mib; i++) sum += (unsigned char)blocks[i][i % (1 << 20)];
  printf("allocated %zu MiB before malloc failed (check %lu)\n", mib, sum);
  return 0;
}
