/* Shared helpers for the self-checking test guests (wasm32-wasi, C).
 *
 * Output protocol (read by the host tests):
 *   ok NAME                       a check that passed (optionally "ok NAME # note")
 *   not ok NAME: detail (got X want Y)
 *   # guest GUEST: P ok, F failed  the last line
 * The guest exits 0 when every check passed, 1 otherwise.
 *
 * Raw __wasi_* calls are used on purpose: they return the WASI errno exactly,
 * without libc translating or retrying anything. */
#ifndef GUESTS_COMMON_H
#define GUESTS_COMMON_H

#include <wasi/api.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNUSED __attribute__((unused))

/* Declares a raw import with our own name, so a test can pass any pointer or
 * length (e.g. one past the end of memory) without libc in between. */
#define WASI_RAW(name) \
  __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__(#name)))

static int g_ok, g_failed;
static const char *g_guest = "?";

static const char *const errno_names[] = {
  "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT", "AGAIN", "ALREADY",
  "BADF", "BADMSG", "BUSY", "CANCELED", "CHILD", "CONNABORTED", "CONNREFUSED", "CONNRESET",
  "DEADLK", "DESTADDRREQ", "DOM", "DQUOT", "EXIST", "FAULT", "FBIG", "HOSTUNREACH", "IDRM",
  "ILSEQ", "INPROGRESS", "INTR", "INVAL", "IO", "ISCONN", "ISDIR", "LOOP", "MFILE", "MLINK",
  "MSGSIZE", "MULTIHOP", "NAMETOOLONG", "NETDOWN", "NETRESET", "NETUNREACH", "NFILE", "NOBUFS",
  "NODEV", "NOENT", "NOEXEC", "NOLCK", "NOLINK", "NOMEM", "NOMSG", "NOPROTOOPT", "NOSPC",
  "NOSYS", "NOTCONN", "NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK", "NOTSUP", "NOTTY",
  "NXIO", "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO", "PROTONOSUPPORT", "PROTOTYPE",
  "RANGE", "ROFS", "SPIPE", "SRCH", "STALE", "TIMEDOUT", "TXTBSY", "XDEV", "NOTCAPABLE",
};

static UNUSED const char *errname(int e) {
  static char buf[4][24];
  static int slot;
  if (e >= 0 && e < (int)(sizeof errno_names / sizeof errno_names[0])) return errno_names[e];
  slot = (slot + 1) % 4;
  snprintf(buf[slot], sizeof buf[slot], "errno %d", e);
  return buf[slot];
}

static UNUSED void guest_begin(const char *name) {
  g_guest = name;
  setvbuf(stdout, NULL, _IOLBF, 0);
}

static UNUSED void pass(const char *name) {
  g_ok++;
  printf("ok %s\n", name);
}

/* Formats into one line: newlines and other control characters become spaces, so
 * every check stays on exactly one output line. */
static UNUSED void print_one_line(const char *fmt, va_list ap) {
  static char line[2048];
  vsnprintf(line, sizeof line, fmt, ap);
  for (char *c = line; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
  fputs(line, stdout);
}

static UNUSED void pass_note(const char *name, const char *fmt, ...) {
  va_list ap;
  g_ok++;
  printf("ok %s # ", name);
  va_start(ap, fmt);
  print_one_line(fmt, ap);
  va_end(ap);
  printf("\n");
}

/* detail should end with "(got X want Y)" where that makes sense. */
static UNUSED void fail(const char *name, const char *fmt, ...) {
  va_list ap;
  g_failed++;
  printf("not ok %s: ", name);
  va_start(ap, fmt);
  print_one_line(fmt, ap);
  va_end(ap);
  printf("\n");
}

static UNUSED int check_errno(const char *name, int got, int want) {
  if (got == want) { pass(name); return 1; }
  fail(name, "errno (got %s want %s)", errname(got), errname(want));
  return 0;
}

/* Either errno is acceptable; prints which one was seen. */
static UNUSED int check_errno2(const char *name, int got, int want1, int want2) {
  if (got == want1 || got == want2) { pass_note(name, "%s", errname(got)); return 1; }
  fail(name, "errno (got %s want %s or %s)", errname(got), errname(want1), errname(want2));
  return 0;
}

static UNUSED int check_errno3(const char *name, int got, int w1, int w2, int w3) {
  if (got == w1 || got == w2 || got == w3) { pass_note(name, "%s", errname(got)); return 1; }
  fail(name, "errno (got %s want %s, %s or %s)", errname(got), errname(w1), errname(w2),
       errname(w3));
  return 0;
}

static UNUSED int check_u64(const char *name, uint64_t got, uint64_t want) {
  if (got == want) { pass(name); return 1; }
  fail(name, "value (got %llu want %llu)", (unsigned long long)got, (unsigned long long)want);
  return 0;
}

static UNUSED int check_true(const char *name, int cond, const char *what) {
  if (cond) { pass(name); return 1; }
  fail(name, "%s", what);
  return 0;
}

static UNUSED int check_bytes(const char *name, const void *got, size_t got_len,
                              const void *want, size_t want_len) {
  if (got_len == want_len && memcmp(got, want, want_len) == 0) { pass(name); return 1; }
  fail(name, "bytes (got \"%.*s\" [%zu] want \"%.*s\" [%zu])", (int)(got_len > 200 ? 200 : got_len),
       (const char *)got, got_len, (int)(want_len > 200 ? 200 : want_len), (const char *)want,
       want_len);
  return 0;
}

/* Prints the closing line and returns the exit code. */
static UNUSED int guest_end(void) {
  printf("# guest %s: %d ok, %d failed\n", g_guest, g_ok, g_failed);
  fflush(stdout);
  return g_failed == 0 ? 0 : 1;
}

/* ---- rights ---------------------------------------------------------------- */

#define R_ALL ((__wasi_rights_t)0x0FFFFFFF) /* FD_DATASYNC .. POLL_FD_READWRITE */
/* The rights whose presence makes a runtime open a file for writing (as wasi-libc
 * and wasmtime read them). */
#define R_WRITE_BITS                                                          \
  (__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE | \
   __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)
#define R_RO (R_ALL & ~R_WRITE_BITS)
#define R_RW R_ALL

/* ---- preopens and paths ------------------------------------------------------ */

/* Compares preopen names, ignoring trailing slashes ("/work/" == "/work"). */
static UNUSED int same_guest_path(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  while (alen > 1 && a[alen - 1] == '/') alen--;
  while (blen > 1 && b[blen - 1] == '/') blen--;
  return alen == blen && memcmp(a, b, alen) == 0;
}

/* The fd of the preopen named `path` (fd 3 upwards until BADF), or -1. */
static UNUSED int find_preopen(const char *path) {
  for (__wasi_fd_t fd = 3; fd < 4096; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) break;
    if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR) continue;
    size_t n = ps.u.dir.pr_name_len;
    char *name = malloc(n + 1);
    if (!name) return -1;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, n) == 0 && same_guest_path(name, n, path)) {
      free(name);
      return (int)fd;
    }
    free(name);
  }
  return -1;
}

/* Prints the preopens (as "# preopen FD NAME") for diagnostics. */
static UNUSED void list_preopens(void) {
  for (__wasi_fd_t fd = 3; fd < 4096; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) break;
    if (e != 0) continue;
    char name[512] = {0};
    size_t n = ps.u.dir.pr_name_len < sizeof name - 1 ? ps.u.dir.pr_name_len : sizeof name - 1;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, n) != 0) strcpy(name, "?");
    printf("# preopen %u %s\n", fd, name);
  }
}

/* Finds the work directory named by argv[1] or exits with a clear message. */
static UNUSED int work_dir_or_exit(int argc, char **argv) {
  if (argc < 2) {
    printf("not ok setup: usage: %s GUEST_DIR (a preopened directory, e.g. /work)\n",
           argc > 0 ? argv[0] : "guest");
    g_failed++;
    exit(guest_end());
  }
  int fd = find_preopen(argv[1]);
  if (fd < 0) {
    list_preopens();
    printf("not ok setup: no preopen named %s\n", argv[1]);
    g_failed++;
    exit(guest_end());
  }
  return fd;
}

/* path_open with explicit rights (never masked, so a runtime sees exactly what
 * the test asks for). */
static UNUSED __wasi_errno_t open_at(int dirfd, __wasi_lookupflags_t lookup, const char *path,
                                     __wasi_oflags_t oflags, __wasi_rights_t base,
                                     __wasi_fdflags_t fdflags, __wasi_fd_t *out) {
  return __wasi_path_open((__wasi_fd_t)dirfd, lookup, path, oflags, base, R_ALL, fdflags, out);
}

static UNUSED __wasi_errno_t open_dir(int dirfd, const char *path, __wasi_fd_t *out) {
  return __wasi_path_open((__wasi_fd_t)dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path,
                          __WASI_OFLAGS_DIRECTORY, R_RO, R_ALL, 0, out);
}

static UNUSED __wasi_errno_t write_all(__wasi_fd_t fd, const void *buf, size_t len,
                                       size_t *written) {
  __wasi_ciovec_t iov = {(const uint8_t *)buf, len};
  return __wasi_fd_write(fd, &iov, 1, written);
}

static UNUSED __wasi_errno_t read_some(__wasi_fd_t fd, void *buf, size_t len, size_t *nread) {
  __wasi_iovec_t iov = {(uint8_t *)buf, len};
  return __wasi_fd_read(fd, &iov, 1, nread);
}

/* Creates (or truncates) a file at path with the given content. Returns errno. */
static UNUSED __wasi_errno_t put_file(int dirfd, const char *path, const char *content) {
  __wasi_fd_t fd;
  __wasi_errno_t e = open_at(dirfd, 0, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_RW, 0, &fd);
  if (e) return e;
  size_t n;
  e = write_all(fd, content, strlen(content), &n);
  __wasi_errno_t c = __wasi_fd_close(fd);
  return e ? e : c;
}

/* Reads up to cap-1 bytes of a file into buf (NUL-terminated). Returns errno. */
static UNUSED __wasi_errno_t get_file(int dirfd, __wasi_lookupflags_t lookup, const char *path,
                                      char *buf, size_t cap, size_t *len) {
  __wasi_fd_t fd;
  *len = 0;
  buf[0] = 0;
  __wasi_errno_t e = open_at(dirfd, lookup, path, 0, R_RO, 0, &fd);
  if (e) return e;
  size_t total = 0;
  while (total + 1 < cap) {
    size_t n;
    e = read_some(fd, buf + total, cap - 1 - total, &n);
    if (e || n == 0) break;
    total += n;
  }
  buf[total] = 0;
  *len = total;
  (void)__wasi_fd_close(fd);
  return e;
}

/* Reads all entry names of an open directory into one "\n"-separated string
 * (each name followed by '\n'). Returns errno. */
static UNUSED __wasi_errno_t list_dir_fd(__wasi_fd_t fd, char *out, size_t cap) {
  static uint8_t buf[8192];
  __wasi_dircookie_t cookie = 0;
  size_t used_out = 0;
  out[0] = 0;
  for (;;) {
    size_t used;
    __wasi_errno_t e = __wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used);
    if (e) return e;
    size_t off = 0;
    int progressed = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, buf + off, sizeof d);
      if (off + sizeof d + d.d_namlen > used) break;
      if (used_out + d.d_namlen + 2 < cap) {
        memcpy(out + used_out, buf + off + sizeof d, d.d_namlen);
        used_out += d.d_namlen;
        out[used_out++] = '\n';
        out[used_out] = 0;
      }
      cookie = d.d_next;
      off += sizeof d + d.d_namlen;
      progressed = 1;
    }
    if (used < sizeof buf || !progressed) return 0;
  }
}

/* Is `name` one of the lines of a list_dir_fd() result? */
static UNUSED int list_has(const char *list, const char *name) {
  size_t n = strlen(name);
  const char *p = list;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len == n && memcmp(p, name, n) == 0) return 1;
    if (!nl) break;
    p = nl + 1;
  }
  return 0;
}

#endif
