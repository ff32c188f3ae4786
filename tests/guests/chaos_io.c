/* A guest for fault injection (tests/chaos.test.js), with raw WASI calls so that every short
 * count and errno reaches it as the system gave it:
 *   chaos_io careful FILE N   writes N lines to FILE, reads them back and checks them; handles
 *                             short writes and reads (loops), retries EINTR and EAGAIN, and up to
 *                             8 times EIO and ENOSPC; reads the monotonic clock around it and
 *                             checks it never went back. Prints `careful ok lines=N retries=R
 *                             shorts=S clock_ok=1` and exits 0, or says what failed and exits 1.
 *   chaos_io naive FILE N     writes N lines with one fd_write each and treats anything but a
 *                             whole write as fatal: prints `naive caught: write N of M bytes
 *                             returned K errno E` to stderr and exits 3; exits 0 if it was lucky. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static int open_at_preopen(const char *path, int create, __wasi_fd_t *out) {
  /* Find the preopen whose name prefixes path (fd 3 upwards). */
  for (__wasi_fd_t fd = 3; fd < 64; fd++) {
    __wasi_prestat_t ps;
    if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
    char name[256];
    size_t n = ps.u.dir.pr_name_len;
    if (n >= sizeof name || __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, n) != 0) continue;
    name[n] = 0;
    if (strncmp(path, name, n) != 0 || path[n] != '/') continue;
    __wasi_rights_t all = (__wasi_rights_t)-1;
    return __wasi_path_open(fd, 0, path + n + 1, create ? (__WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC) : 0,
                            all, all, 0, out);
  }
  return __WASI_ERRNO_NOENT;
}

static unsigned long long now(void) {
  __wasi_timestamp_t t = 0;
  while (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) != 0) {}
  return t;
}

static void line(char *buf, size_t cap, int i) {
  snprintf(buf, cap, "line %05d of the chaos test, with some padding to make it longer\n", i);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: chaos_io careful|naive FILE N\n");
    return 2;
  }
  int careful = strcmp(argv[1], "careful") == 0;
  int n = atoi(argv[3]);
  __wasi_fd_t fd;
  int e = open_at_preopen(argv[2], 1, &fd);
  if (e != 0) {
    fprintf(stderr, "open %s: errno %d\n", argv[2], e);
    return 1;
  }
  unsigned long long t0 = now(), last = t0;
  int clock_ok = 1, retries = 0, shorts = 0;
  char buf[128];
  for (int i = 0; i < n; i++) {
    line(buf, sizeof buf, i);
    size_t len = strlen(buf), done = 0;
    int tries = 0;
    while (done < len) {
      __wasi_ciovec_t iov = {(const uint8_t *)buf + done, len - done};
      __wasi_size_t w = 0;
      e = __wasi_fd_write(fd, &iov, 1, &w);
      if (!careful) {
        if (e != 0 || w != len) {
          fprintf(stderr, "naive caught: write %d of %zu bytes returned %u errno %d\n", i, len, (unsigned)w, e);
          return 3;
        }
        done = len;
        break;
      }
      if (e == __WASI_ERRNO_INTR || e == __WASI_ERRNO_AGAIN) { retries++; continue; }
      if ((e == __WASI_ERRNO_IO || e == __WASI_ERRNO_NOSPC) && tries++ < 8) { retries++; continue; }
      if (e != 0) {
        fprintf(stderr, "careful: write %d failed: errno %d\n", i, e);
        return 1;
      }
      if (w < len - done) shorts++;
      done += w;
    }
    unsigned long long t = now();
    if (t < last) clock_ok = 0;
    last = t;
  }
  if (!careful) {
    printf("naive lucky lines=%d\n", n);
    return 0;
  }
  if (__wasi_fd_close(fd) != 0) retries += 0;
  /* Read it all back and compare. */
  e = open_at_preopen(argv[2], 0, &fd);
  if (e != 0) {
    fprintf(stderr, "reopen: errno %d\n", e);
    return 1;
  }
  size_t want = 0;
  for (int i = 0; i < n; i++) { line(buf, sizeof buf, i); want += strlen(buf); }
  char *data = malloc(want + 1);
  size_t got = 0;
  int tries = 0;
  for (;;) {
    __wasi_iovec_t iov = {(uint8_t *)data + got, want + 1 - got};
    __wasi_size_t r = 0;
    e = __wasi_fd_read(fd, &iov, 1, &r);
    if (e == __WASI_ERRNO_INTR || e == __WASI_ERRNO_AGAIN || (e == __WASI_ERRNO_IO && tries++ < 8)) { retries++; continue; }
    if (e != 0) {
      fprintf(stderr, "careful: read failed: errno %d\n", e);
      return 1;
    }
    if (r == 0) break;
    if (r < want + 1 - got && got + r < want) shorts++;
    got += r;
    if (got > want) break;
  }
  if (got != want) {
    fprintf(stderr, "careful: read back %zu bytes, wrote %zu\n", got, want);
    return 1;
  }
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    line(buf, sizeof buf, i);
    size_t len = strlen(buf);
    if (memcmp(data + at, buf, len) != 0) {
      fprintf(stderr, "careful: line %d differs\n", i);
      return 1;
    }
    at += len;
  }
  printf("careful ok lines=%d retries=%d shorts=%d clock_ok=%d\n", n, retries, shorts, clock_ok);
  return 0;
}
