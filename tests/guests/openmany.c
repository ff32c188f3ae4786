/* Opens ARGV[1] again and again without closing it until open fails, prints how many it got
 * and the error, then shows it still runs: writes, closes one, opens one again, exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/data/f";
  int n = 0, last = -1;
  for (;;) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) break;
    last = fd;
    n++;
  }
  int err = errno;
  printf("opened %d, then %s\n", n, strerror(err));
  if (last >= 0) close(last);
  int again = open(path, O_RDONLY);
  printf("after one close: %s\n", again >= 0 ? "opens again" : strerror(errno));
  return 0;
}
