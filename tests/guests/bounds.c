/* The bounds a guest meets on the host's shared resources (tests/task-tree.test.js):
 *   bounds fds DIR            opens DIR over and over until refused; prints `fds N ERRNO`
 *   bounds zombies SELF DIR   submits `SELF sleep 0` tasks until AGAIN, waits for all of them
 *                             to end (never collecting), checks a submit is still AGAIN,
 *                             collects one with task_poll, checks a submit works again;
 *                             prints `zombies N again=E after_end=E after_collect=E`
 *   bounds specs SELF DIR     a spec of more than 1 MiB and one sharing 65 directories:
 *                             prints `specs big=E mounts=E ok=E`
 *   bounds handles SELF DIR   submits `SELF sleep 60000` tasks sharing DIR 64 times each
 *                             until refused; prints `handles N ERRNO`
 *   bounds sleep MS           sleeps MS ms
 *   bounds poll               poll_oneoff with 70000 clock subscriptions: prints `poll E`
 *   bounds stdio              fd_read of stdout and fd_write of stdin: prints `stdio R W`
 * DIR is a preopen the guest may share. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include "wtm.h"

static char buf[1 << 16];

static int submit_raw(const char *spec, uint32_t *id) {
  return wtm_task_submit(spec, (uint32_t)strlen(spec), id);
}

static int submit_sleep(const char *self, int ms, const char *dir, int mounts, uint32_t *id) {
  static char spec[1 << 16];
  int n = snprintf(spec, sizeof spec, "{\"module\":\"%s\",\"args\":[\"sleep\",\"%d\"],\"mounts\":[", self, ms);
  for (int i = 0; i < mounts; i++)
    n += snprintf(spec + n, sizeof spec - n, "%s{\"path\":\"%s\",\"guest\":\"/m%d\",\"readonly\":true}", i ? "," : "", dir, i);
  snprintf(spec + n, sizeof spec - n, "]}");
  return submit_raw(spec, id);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && !strcmp(argv[1], "sleep")) {
    struct timespec ts = {atoi(argv[2]) / 1000, (atoi(argv[2]) % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
  }
  if (argc >= 2 && !strcmp(argv[1], "poll")) {
    enum { N = 70000 };
    static __wasi_subscription_t subs[N];
    static __wasi_event_t events[N];
    for (int i = 0; i < N; i++) {
      subs[i].userdata = i;
      subs[i].u.tag = __WASI_EVENTTYPE_CLOCK;
      subs[i].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
      subs[i].u.u.clock.timeout = 0;
    }
    __wasi_size_t n = 0;
    printf("poll %d\n", __wasi_poll_oneoff(subs, events, N, &n));
    return 0;
  }
  if (argc >= 2 && !strcmp(argv[1], "stdio")) {
    char c;
    __wasi_iovec_t iov = {(uint8_t *)&c, 1};
    __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
    __wasi_size_t n;
    int r = __wasi_fd_read(1, &iov, 1, &n);
    int w = __wasi_fd_write(0, &ciov, 1, &n);
    printf("stdio %d %d\n", r, w);
    return 0;
  }
  if (argc >= 3 && !strcmp(argv[1], "fds")) {
    int n = 0;
    for (;;) {
      int fd = open(argv[2], O_RDONLY | O_DIRECTORY);
      if (fd < 0) break;
      n++;
    }
    printf("fds %d %s\n", n, errno == EMFILE ? "MFILE" : strerror(errno));
    return 0;
  }
  if (argc < 4) return 2;
  const char *self = argv[2], *dir = argv[3];
  uint32_t id, used;
  if (!strcmp(argv[1], "zombies")) {
    int n = 0, e;
    while ((e = submit_sleep(self, 0, dir, 0, &id)) == 0) n++;
    int again = e;
    /* Let every task end: their results wait, uncollected. */
    struct timespec ts = {1, 500000000L};
    nanosleep(&ts, NULL);
    int after_end = submit_sleep(self, 0, dir, 0, &id);
    int collected = wtm_task_wait(1, buf, sizeof buf, &used);
    int after_collect = submit_sleep(self, 0, dir, 0, &id);
    printf("zombies %d again=%d after_end=%d collected=%d after_collect=%d\n", n, again, after_end, collected, after_collect);
    return 0;
  }
  if (!strcmp(argv[1], "specs")) {
    size_t size = (1 << 20) + 100;
    char *spec = malloc(size + 1);
    int n = snprintf(spec, size, "{\"module\":\"%s\",\"args\":[\"sleep\",\"0\"],\"stdin\":\"", self);
    memset(spec + n, 'x', size - n - 2);
    memcpy(spec + size - 2, "\"}", 3);
    int big = submit_raw(spec, &id);
    int mounts = submit_sleep(self, 0, dir, 65, &id);
    int ok = submit_sleep(self, 0, dir, 64, &id);
    printf("specs big=%d mounts=%d ok=%d\n", big, mounts, ok);
    return 0;
  }
  if (!strcmp(argv[1], "handles")) {
    int n = 0, e;
    while ((e = submit_sleep(self, 60000, dir, 64, &id)) == 0) n++;
    printf("handles %d %d\n", n, e);
    return 0;
  }
  return 2;
}
