/* For image tests: argv[1] a file to change (relative paths resolve in the working
 * directory), argv[2] new text; argv[3..] files to show. Prints the old content of argv[1]
 * (or "missing"), writes argv[2] to it, reads it back, then shows each other file. */
#include <stdio.h>
#include <string.h>

static void show(const char *label, const char *path) {
  char buf[256] = {0};
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("%s %s: missing\n", label, path);
    return;
  }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  buf[strcspn(buf, "\n")] = 0;
  fclose(f);
  printf("%s %s: %s\n", label, path, buf);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  show("old", argv[1]);
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    printf("cannot write %s\n", argv[1]);
    return 1;
  }
  fputs(argv[2], f);
  fclose(f);
  show("new", argv[1]);
  for (int i = 3; i < argc; i++) show("see", argv[i]);
  return 0;
}
