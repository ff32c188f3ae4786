/* Shared by the attack guests (attack_*.c): counters and the one-line report.
 *
 * Every attack guest prints
 *   # try N DESC: RESULT          one line per attempt
 *   ESCAPE: DESC: DETAIL          the attempt got out (read, listed, changed or named what it
 *                                 must not, or acted on another directory than the one named)
 *   WRONG: DESC: DETAIL           no escape, but not the errno or result the rule asks for
 * and last
 *   attempts=N escapes=M wrong=K
 * It exits 0 only when escapes == 0 and wrong == 0. The host test reads the last line and
 * checks the host side on its own (canaries, tree digests). */
#ifndef GUESTS_ATTACK_H
#define GUESTS_ATTACK_H

#include "common.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static int attempts, escapes, wrongs;

/* printf into one of 64 rotating buffers (short-lived strings only). */
static UNUSED char *fmt(const char *f, ...) {
  static char bufs[64][2048];
  static int slot;
  char *b = bufs[slot++ % 64];
  va_list ap;
  va_start(ap, f);
  vsnprintf(b, 2048, f, ap);
  va_end(ap);
  return b;
}

static UNUSED void tried(const char *desc, const char *result) {
  printf("# try %d %s: %s\n", attempts, desc, result);
}

static UNUSED void escape(const char *desc, const char *detail) {
  escapes++;
  printf("ESCAPE: %s: %s\n", desc, detail);
}

static UNUSED void wrong(const char *desc, const char *detail) {
  wrongs++;
  printf("WRONG: %s: %s\n", desc, detail);
}

static UNUSED int attack_end(const char *name) {
  printf("# attack %s\n", name);
  printf("attempts=%d escapes=%d wrong=%d\n", attempts, escapes, wrongs);
  fflush(stdout);
  return escapes == 0 && wrongs == 0 ? 0 : 1;
}

/* Reads a whole (small) file at path; returns errno, content in buf. */
static UNUSED __wasi_errno_t slurp(int dirfd, __wasi_lookupflags_t fl, const char *path, char *buf, size_t cap) {
  size_t n;
  return get_file(dirfd, fl, path, buf, cap, &n);
}

static UNUSED int exists_at(int dirfd, const char *path) {
  __wasi_filestat_t st;
  return __wasi_path_filestat_get((__wasi_fd_t)dirfd, 0, path, &st) == 0;
}

/* Sleeps ms milliseconds (poll_oneoff on the monotonic clock). */
static UNUSED void sleep_ms(unsigned ms) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  s.u.u.clock.timeout = (uint64_t)ms * 1000000ull;
  __wasi_event_t ev;
  size_t n;
  (void)__wasi_poll_oneoff(&s, &ev, 1, &n);
}

#endif
