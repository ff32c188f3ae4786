/* The guest of the views tests (logs -t/--stream, diff, timeline): its mode alone decides the
 * calls it makes, so a test knows them in advance. Output goes through raw fd_write calls (no
 * stdio buffering): one write per string below. wasi-libc reads the arguments before main
 * (record 0 is args_get); the environment only when getenv is first called.
 *   out            writes, in this order: 1 "alpha\n", 2 "warn one\n", 1 "be", 1 "ta\n",
 *                  1 "gamma\ndelta\n", 2 "warn two", 2 "\n"; exit 0
 *   env            getenv("WHO") (record 1 is environ_get), writes 1 "who=VALUE\n"
 *   clock N        N clock_time_get(MONOTONIC), then one random_get of 16 bytes, writes
 *                  1 "clock done\n"
 *   read FILE      opens FILE (relative to the first preopen, fd 3), reads it in one fd_read
 *                  of 256 bytes, closes it, writes 1 "read N bytes\n"
 *   loop N         N clock_time_get(MONOTONIC) calls, nothing else (big logs)
 *   write FILE N   N fd_write calls of 64 bytes to FILE (relative to fd 3)
 *   tree SELF D    D > 0: starts two copies of itself (SELF, mode tree, D-1; SELF's directory
 *                  shared read-only) and waits for both; every process writes 1 "tree D\n"
 *   exit N         writes 1 "exit N\n", exits N */
#include <wasi/api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wtm.h"

static void put(int fd, const char *s) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n;
  (void)__wasi_fd_write(fd, &iov, 1, &n);
}

static __wasi_fd_t open_at3(const char *path, __wasi_oflags_t oflags, __wasi_rights_t rights) {
  __wasi_fd_t fd = 0;
  if (__wasi_path_open(3, 0, path, oflags, rights, 0, 0, &fd) != 0) return (__wasi_fd_t)-1;
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *mode = argv[1];
  char line[256];
  if (!strcmp(mode, "out")) {
    put(1, "alpha\n");
    put(2, "warn one\n");
    put(1, "be");
    put(1, "ta\n");
    put(1, "gamma\ndelta\n");
    put(2, "warn two");
    put(2, "\n");
    return 0;
  }
  if (!strcmp(mode, "env")) {
    const char *who = getenv("WHO");
    snprintf(line, sizeof line, "who=%s\n", who ? who : "(unset)");
    put(1, line);
    return 0;
  }
  if (!strcmp(mode, "clock") && argc > 2) {
    long n = atol(argv[2]);
    __wasi_timestamp_t t;
    for (long i = 0; i < n; i++) (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    uint8_t r[16];
    (void)__wasi_random_get(r, sizeof r);
    put(1, "clock done\n");
    return 0;
  }
  if (!strcmp(mode, "read") && argc > 2) {
    __wasi_fd_t fd = open_at3(argv[2], 0, __WASI_RIGHTS_FD_READ);
    if (fd == (__wasi_fd_t)-1) return 1;
    uint8_t buf[256];
    __wasi_iovec_t iov = {buf, sizeof buf};
    __wasi_size_t n = 0;
    (void)__wasi_fd_read(fd, &iov, 1, &n);
    (void)__wasi_fd_close(fd);
    snprintf(line, sizeof line, "read %u bytes\n", (unsigned)n);
    put(1, line);
    return 0;
  }
  if (!strcmp(mode, "loop") && argc > 2) {
    long n = atol(argv[2]);
    __wasi_timestamp_t t;
    for (long i = 0; i < n; i++) (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    return 0;
  }
  if (!strcmp(mode, "write") && argc > 3) {
    __wasi_fd_t fd = open_at3(argv[2], __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_WRITE);
    if (fd == (__wasi_fd_t)-1) return 1;
    long n = atol(argv[3]);
    static uint8_t chunk[64];
    memset(chunk, 'x', sizeof chunk);
    __wasi_ciovec_t iov = {chunk, sizeof chunk};
    __wasi_size_t w;
    for (long i = 0; i < n; i++) (void)__wasi_fd_write(fd, &iov, 1, &w);
    (void)__wasi_fd_close(fd);
    return 0;
  }
  if (!strcmp(mode, "tree") && argc > 3) {
    const char *self = argv[2];
    int depth = atoi(argv[3]);
    char dir[512], spec[2048], buf[4096];
    snprintf(dir, sizeof dir, "%s", self);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 2;
    *slash = 0;
    uint32_t ids[2];
    int n = 0;
    if (depth > 0) {
      for (; n < 2; n++) {
        int len = snprintf(spec, sizeof spec, "{\"module\":\"%s\",\"args\":[\"tree\",\"%s\",\"%d\"],"
                           "\"mounts\":[{\"path\":\"%s\",\"guest\":\"%s\",\"readonly\":true}]}",
                           self, self, depth - 1, dir, dir);
        if (wtm_task_submit(spec, (uint32_t)len, &ids[n]) != 0) return 3;
      }
      for (int i = 0; i < n; i++) {
        uint32_t used;
        if (wtm_task_wait(ids[i], buf, sizeof buf, &used) != 0) return 4;
      }
    }
    snprintf(line, sizeof line, "tree %d\n", depth);
    put(1, line);
    return 0;
  }
  if (!strcmp(mode, "exit") && argc > 2) {
    snprintf(line, sizeof line, "exit %s\n", argv[2]);
    put(1, line);
    return atoi(argv[2]);
  }
  return 2;
}
