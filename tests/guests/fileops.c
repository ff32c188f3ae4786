/* For image tests: runs file operations given as arguments and prints one line each:
 *   rm PATH | mv FROM TO | ln FROM TO | cat PATH | ls DIR
 * Relative paths resolve in the working directory. Exit 0 when every operation succeeded. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int cat(const char *p) {
  char buf[256] = {0};
  FILE *f = fopen(p, "r");
  if (!f) { printf("cat %s: %s\n", p, strerror(errno)); return 1; }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  buf[strcspn(buf, "\n")] = 0;
  printf("cat %s: %s\n", p, buf);
  return 0;
}

static int ls(const char *p) {
  DIR *d = opendir(p);
  if (!d) { printf("ls %s: %s\n", p, strerror(errno)); return 1; }
  printf("ls %s:", p);
  struct dirent *e;
  while ((e = readdir(d))) if (e->d_name[0] != '.') printf(" %s", e->d_name);
  printf("\n");
  closedir(d);
  return 0;
}

int main(int argc, char **argv) {
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    const char *op = argv[i];
    if (!strcmp(op, "rm") && i + 1 < argc) { const char *p = argv[++i]; int r = unlink(p); printf("rm %s: %s\n", p, r ? strerror(errno) : "ok"); bad |= r != 0; }
    else if (!strcmp(op, "mv") && i + 2 < argc) { const char *a = argv[++i], *b = argv[++i]; int r = rename(a, b); printf("mv %s %s: %s\n", a, b, r ? strerror(errno) : "ok"); bad |= r != 0; }
    else if (!strcmp(op, "ln") && i + 2 < argc) { const char *a = argv[++i], *b = argv[++i]; int r = link(a, b); printf("ln %s %s: %s\n", a, b, r ? strerror(errno) : "ok"); bad |= r != 0; }
    else if (!strcmp(op, "cat") && i + 1 < argc) bad |= cat(argv[++i]);
    else if (!strcmp(op, "ls") && i + 1 < argc) bad |= ls(argv[++i]);
    else { printf("unknown op %s\n", op); return 2; }
  }
  return bad;
}
