/* How plain libc paths map onto preopens.
 * argv[1]: a relative path, argv[2] (optional): an absolute path. Each is opened
 * with fopen and reported on its own line:
 *   rel PATH: FIRST LINE        or   rel PATH: error ERRNO-NAME (strerror)
 *   (ERRNO-NAME is the WASI name, e.g. NOENT, NOTCAPABLE)
 *   abs PATH: FIRST LINE        or   abs PATH: error ...
 * plus "cwd: DIR" (libc's emulated working directory).
 * Exit code: 0 if every given path opened, else 1 (2 on a usage error). */
#include <errno.h>
#include <unistd.h>

#include "common.h"

static int show(const char *label, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    int e = errno;
    /* wasi-libc's errno values are the WASI errno numbers */
    printf("%s %s: error %s (%s)\n", label, path, errname(e), strerror(e));
    return 1;
  }
  char line[4096];
  if (!fgets(line, sizeof line, f)) line[0] = 0;
  line[strcspn(line, "\n")] = 0;
  printf("%s %s: %s\n", label, path, line);
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    printf("usage: cwd RELATIVE [ABSOLUTE]\n");
    return 2;
  }
  char dir[4096];
  printf("cwd: %s\n", getcwd(dir, sizeof dir) ? dir : "(unknown)");
  int bad = show("rel", argv[1]);
  if (argc > 2) bad |= show("abs", argv[2]);
  return bad ? 1 : 0;
}
