/* For `wtm profile`: a hot function that burns ~300 ms of CPU and a cold one that burns a
 * little, both named and never inlined, so a profile must put hot_spin first by self time. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned long hot_spin(unsigned long n) {
  volatile unsigned long acc = 0;
  for (unsigned long i = 0; i < n; i++) acc += i ^ (acc >> 3);
  return acc;
}

__attribute__((noinline)) static unsigned long cold_spin(unsigned long n) {
  volatile unsigned long acc = 1;
  for (unsigned long i = 0; i < n; i++) acc *= 3;
  return acc;
}

int main(int argc, char **argv) {
  unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 600;
  unsigned long total = 0;
  for (unsigned long r = 0; r < rounds; r++) {
    total += hot_spin(400000);
    if (r % 10 == 0) total += cold_spin(20000);
  }
  printf("hot done %lu\n", total & 0xff);
  return 0;
}
