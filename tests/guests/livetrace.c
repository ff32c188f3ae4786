/* A guest whose calls are known in advance, for the live trace (wtm run -T, tests/livetrace.test.js).
 * Raw __wasi_* calls on fd 3, the first preopen (run it with --no-host --dir DIR:/work).
 *
 *   livetrace            creates live.txt, writes "hello trace\n" to it, closes it, fails to
 *                        open missing.txt (NOENT), writes "out line\n" to stdout and
 *                        "err line\n" to stderr, and exits 0
 *   livetrace task       does that, then runs `/work/livetrace.wasm child` as a task and waits for it
 *   livetrace child      writes "child\n" to stdout (the task)
 *   livetrace many N     N clock_time_get calls (for measuring the cost of -T)
 */
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>
#include "../../sdk/c/wtm.h"

static void put(int fd, const char *s) {
  __wasi_ciovec_t iov = { (const uint8_t *)s, strlen(s) };
  __wasi_size_t n;
  (void)__wasi_fd_write(fd, &iov, 1, &n);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    put(1, "child\n");
    return 0;
  }
  if (argc > 2 && strcmp(argv[1], "many") == 0) {
    int n = atoi(argv[2]);
    __wasi_timestamp_t t, sum = 0;
    for (int i = 0; i < n; i++) {
      (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
      sum += t;
    }
    return sum == 0;
  }
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "live.txt",
                                      __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                                      __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  if (e != 0) return 10;
  put(fd, "hello trace\n");
  (void)__wasi_fd_close(fd);
  e = __wasi_path_open(3, 0, "missing.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  if (e != __WASI_ERRNO_NOENT) return 11;
  put(1, "out line\n");
  put(2, "err line\n");
  if (argc > 1 && strcmp(argv[1], "task") == 0) {
    const char *spec = "{\"module\":\"/work/livetrace.wasm\",\"args\":[\"child\"]}";
    uint32_t id, used;
    char buf[1024];
    if (wtm_task_submit(spec, (uint32_t)strlen(spec), &id) != 0) return 12;
    if (wtm_task_wait(id, buf, sizeof buf, &used) != 0) return 13;
  }
  return 0;
}
