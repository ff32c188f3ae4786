/* Task trees gone wrong, for the tree-bound tests: argv[1] is this module's path in the
 * guest's tree, argv[2] a mode, argv[3] the level (absent for the main process, level 0).
 *   exit   submit two copies of itself and exit at once (never waits)
 *   sleep  submit two copies, sleep 200 ms, exit (never waits)
 *   wait   submit two copies, wait for both, exit
 *   flood  submit copies until one is refused, print how many and the errno, wait for them
 *   chain  submit one copy one level deeper and wait for it; the level whose submit is
 *          refused exits 100 + level, and every level above exits with its child's code
 *   orphan submit three copies in mode spin, sleep 500 ms, exit without waiting
 *   spin   loop forever
 * The main process prints one summary line and exits 7 (exit, sleep, wait, flood, orphan) or
 * with the chain's code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wtm.h"

static char buf[1 << 16];

static char dir[512];

static int submit(const char *self, const char *mode, int level, uint32_t *id) {
  char spec[2048];
  int n = snprintf(spec, sizeof spec, "{\"module\":\"%s\",\"args\":[\"%s\",\"%s\",\"%d\"],"
                   "\"mounts\":[{\"path\":\"%s\",\"guest\":\"%s\",\"readonly\":true}]}", self, self, mode, level, dir, dir);
  return wtm_task_submit(spec, (uint32_t)n, id);
}

static int wait_code(uint32_t id) {
  uint32_t used = 0;
  if (wtm_task_wait(id, buf, sizeof buf - 1, &used) != 0) return -1;
  buf[used] = 0;
  const char *p = strstr(buf, "\"exit_code\":");
  return p ? atoi(p + 12) : -1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *self = argv[1], *mode = argv[2];
  int level = argc > 3 ? atoi(argv[3]) : 0;
  snprintf(dir, sizeof dir, "%s", self);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 2;
  *slash = 0;
  uint32_t ids[4096];
  int n = 0, e = 0;
  if (!strcmp(mode, "chain")) {
    e = submit(self, mode, level + 1, &ids[0]);
    int code = e ? 100 + level : wait_code(ids[0]);
    if (level == 0) printf("chain: code %d, submit errno at level 0: %d\n", code, e);
    return code;
  }
  if (!strcmp(mode, "spin")) {
    volatile unsigned long spins = 0;
    for (;;) spins++;
  }
  if (!strcmp(mode, "orphan")) {
    for (; n < 3; n++) if ((e = submit(self, "spin", level + 1, &ids[n])) != 0) break;
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    printf("level %d: orphan submitted %d (errno %d)\n", level, n, e);
    return level == 0 ? 7 : 0;
  }
  if (!strcmp(mode, "flood")) {
    while (n < 4096 && (e = submit(self, mode, level + 1, &ids[n])) == 0) n++;
    printf("level %d: flood submitted %d, then errno %d\n", level, n, e);
    fflush(stdout);
    for (int i = 0; i < n; i++) wait_code(ids[i]);
    return level == 0 ? 7 : 0;
  }
  for (; n < 2; n++) if ((e = submit(self, mode, level + 1, &ids[n])) != 0) break;
  if (!strcmp(mode, "sleep")) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
  } else if (!strcmp(mode, "wait")) {
    for (int i = 0; i < n; i++) wait_code(ids[i]);
  }
  if (level == 0) printf("main: %s submitted %d (errno %d)\n", mode, n, e);
  return level == 0 ? 7 : 0;
}
