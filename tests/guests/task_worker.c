/* A task for the isolation tests: argv[1] is a token unique to this task. It writes the token
 * to /out.txt (the same guest path in every task), reads it back, lists /, reads the shared
 * read-only mount /shared/data.txt and tries to write there. One line per check; exit 0 when
 * the task saw only its own data and the shared mount refused the write. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *token = argv[1];
  int bad = 0;
  FILE *f = fopen("/out.txt", "w");
  if (!f) { printf("cannot create /out.txt: %s\n", strerror(errno)); return 1; }
  fprintf(f, "%s", token);
  fclose(f);
  usleep(2000); /* let other tasks write their own /out.txt meanwhile */
  char buf[256] = {0};
  f = fopen("/out.txt", "r");
  if (!f || !fgets(buf, sizeof buf, f)) { printf("cannot read /out.txt\n"); return 1; }
  fclose(f);
  if (strcmp(buf, token) != 0) { printf("read back %s, wrote %s\n", buf, token); bad = 1; }
  else printf("own data ok\n");
  DIR *d = opendir("/");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      n++;
      if (strcmp(e->d_name, "out.txt") && strcmp(e->d_name, "shared")) { printf("unexpected entry in /: %s\n", e->d_name); bad = 1; }
    }
  }
  if (d) closedir(d);
  printf("entries in /: %d\n", n);
  f = fopen("/shared/data.txt", "r");
  if (f && fgets(buf, sizeof buf, f)) printf("shared: %s", buf);
  else { printf("cannot read /shared/data.txt\n"); bad = 1; }
  if (f) fclose(f);
  f = fopen("/shared/data.txt", "w");
  if (f) { printf("could open the shared file for writing\n"); bad = 1; fclose(f); }
  f = fopen("/shared/new.txt", "w");
  if (f) { printf("could create in the shared mount\n"); bad = 1; fclose(f); }
  else printf("shared is read-only: %s\n", strerror(errno));
  return bad;
}
