/* Prints each file named on the command line (or stdin when there is none), each line prefixed
 * with $PREFIX when it is set: a small WASI program that reads files, arguments and the
 * environment, for the README's examples. */
#include <stdio.h>
#include <stdlib.h>

static int cat(FILE *f, const char *prefix) {
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    /* Output gone (a closed pipe: EPIPE, as `| head` leaves it): stop, as cat does. */
    if (printf("%s%s", prefix, line) < 0) return 1;
  }
  return ferror(f) ? 1 : 0;
}

int main(int argc, char **argv) {
  const char *prefix = getenv("PREFIX");
  if (!prefix) prefix = "";
  if (argc < 2) return cat(stdin, prefix);
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "r");
    if (!f) {
      perror(argv[i]);
      bad = 1;
      continue;
    }
    bad |= cat(f, prefix);
    fclose(f);
  }
  return bad;
}
