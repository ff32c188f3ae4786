/* The task the task-mount attacks (attack_tasks.c) start: it reports what it sees, nothing
 * more; its starter judges.
 *
 *   attack_probe sleep MS                  sleeps MS milliseconds (keeps a task slot busy)
 *   attack_probe churn MS                  writes a random secret to /canary-child.txt in its own
 *                                          root (never prints it), then for MS milliseconds
 *                                          opens its root 16 times and closes the 16 fds
 *   attack_probe probe DIR TAG [write]     lists DIR (a preopen: its mount), reads the files in
 *                                          it that the tests plant (orig.txt, secret.txt, new.txt,
 *                                          probe_*, canary*), and with `write` creates
 *                                          DIR/probe_TAG.txt
 *
 * Output, one line each:
 *   entry NAME                      an entry of DIR (not . or ..)
 *   read NAME: FIRST-BYTES          the first bytes of a regular file (control chars as spaces)
 *   write probe_TAG.txt: RESULT     SUCCESS or the errno
 *   open DIR: ERRNO                 when DIR is not there
 */
#include "common.h"

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && strcmp(argv[1], "sleep") == 0) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s.u.u.clock.timeout = (uint64_t)atoi(argv[2]) * 1000000ull;
    __wasi_event_t ev;
    size_t n;
    (void)__wasi_poll_oneoff(&s, &ev, 1, &n);
    printf("slept %s ms\n", argv[2]);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "churn") == 0) {
    /* A secret only this task knows, in its own root; then open and close its root for MS ms. */
    int root = find_preopen("/");
    uint8_t rnd[16];
    char canary[64];
    (void)__wasi_random_get(rnd, sizeof rnd);
    int n = snprintf(canary, sizeof canary, "CHILD-CANARY-");
    for (size_t i = 0; i < sizeof rnd; i++) n += snprintf(canary + n, sizeof canary - (size_t)n, "%02x", rnd[i]);
    if (root < 0 || put_file(root, "canary-child.txt", canary) != 0) { printf("no root\n"); return 1; }
    __wasi_timestamp_t t0 = 0, t = 0;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0);
    long opened = 0;
    do {
      __wasi_fd_t f[16];
      int k = 0;
      for (; k < 16 && open_dir(root, ".", &f[k]) == 0; k++) opened++;
      while (k > 0) (void)__wasi_fd_close(f[--k]);
      (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    } while (t - t0 < (uint64_t)atoi(argv[2]) * 1000000ull);
    printf("churned %ld opens\n", opened);
    return 0;
  }
  if (argc < 4 || strcmp(argv[1], "probe") != 0) {
    printf("usage: attack_probe probe DIR TAG [write] | sleep MS | churn MS\n");
    return 2;
  }
  int fd = find_preopen(argv[2]);
  if (fd < 0) {
    printf("open %s: no such preopen\n", argv[2]);
    return 1;
  }
  static char list[65536];
  __wasi_errno_t e = list_dir_fd((__wasi_fd_t)fd, list, sizeof list);
  if (e) printf("readdir %s: %s\n", argv[2], errname(e));
  int reads = 0;
  for (char *p = list; *p;) {
    char *nl = strchr(p, '\n');
    if (!nl) break;
    *nl = 0;
    if (strcmp(p, ".") && strcmp(p, "..")) {
      printf("entry %s\n", p);
      __wasi_filestat_t st;
      /* Only names the tests planted are read: a task that got out must not read the
       * host's own files (listing them is proof enough). */
      int planted = !strcmp(p, "orig.txt") || !strcmp(p, "secret.txt") || !strcmp(p, "new.txt") ||
                    !strncmp(p, "probe_", 6) || !strncmp(p, "canary", 6);
      if (planted && reads < 32 && __wasi_path_filestat_get(fd, 0, p, &st) == 0 && st.filetype == __WASI_FILETYPE_REGULAR_FILE) {
        char buf[128];
        size_t n;
        reads++;
        if (get_file(fd, 0, p, buf, sizeof buf, &n) == 0) {
          for (size_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] < 0x20 || buf[i] == '"' || buf[i] == '\\') buf[i] = ' ';
          printf("read %s: %s\n", p, buf);
        }
      }
    }
    p = nl + 1;
  }
  if (argc > 4 && strcmp(argv[4], "write") == 0) {
    char name[128];
    snprintf(name, sizeof name, "probe_%s.txt", argv[3]);
    e = put_file(fd, name, "PROBE-WROTE-THIS\n");
    printf("write %s: %s\n", name, e ? errname(e) : "SUCCESS");
  }
  return 0;
}
