/* Never ends (for timeout and cancel tests): prints once, then loops forever. */
#include <stdio.h>

int main(void) {
  printf("spinning\n");
  fflush(stdout);
  volatile unsigned long n = 0;
  for (;;) n++;
}
