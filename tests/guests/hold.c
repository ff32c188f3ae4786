/* Holds directories and files open, then sleeps forever (for fd-leak tests of stopped tasks):
 * argv[1] is a writable directory; the guest makes DIR/hold/a/b, opens it and each level,
 * creates and opens a few files there, then sleeps in 50 ms steps until it is stopped. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char p[512];
  snprintf(p, sizeof p, "%s/hold", argv[1]); mkdir(p, 0777);
  snprintf(p, sizeof p, "%s/hold/a", argv[1]); mkdir(p, 0777);
  snprintf(p, sizeof p, "%s/hold/a/b", argv[1]); mkdir(p, 0777);
  int opened = 0;
  DIR *d = opendir(p);
  if (d) opened++;
  for (int i = 0; i < 4; i++) {
    char f[600];
    snprintf(f, sizeof f, "%s/file%d", p, i);
    if (open(f, O_CREAT | O_RDWR, 0666) >= 0) opened++;
  }
  printf("holding %d\n", opened);
  fflush(stdout);
  for (;;) usleep(50000);
}
