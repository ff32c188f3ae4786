/* Prints "before trap", then executes `unreachable`: the runtime must report a
 * trap (non-zero exit), with the line already written to stdout. */
#include <stdio.h>

int main(void) {
  printf("before trap\n");
  fflush(stdout);
  __builtin_trap();
}
