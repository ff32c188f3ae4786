/* Syscall-heavy benchmark guest, run by bench/run.mjs and bench/count-syscalls.mjs.
 *
 *   bench_syscalls MODE ITERATIONS DIR
 *
 * DIR must be a preopen (e.g. /bench). The guest first prepares its own small tree under
 * DIR (idempotent; the same work happens with ITERATIONS=0, so the bench subtracts it),
 * then runs a tight loop of ITERATIONS over one kind of call:
 *
 *   write    64-byte fd_write to a file, fd_seek back to 0 every 1000 writes
 *   read     64-byte fd_read from a 64 KiB file, fd_seek to 0 at its end
 *   seek     fd_seek (alternating offsets, SET)
 *   clock    clock_time_get(MONOTONIC)
 *   stat     path_filestat_get of a/b/c/file.txt (three directories deep)
 *   open     path_open of a/b/c/file.txt + fd_close
 *   readdir  fd_readdir of d/ (20 entries + . and ..) from cookie 0, the whole listing
 *   mixed    one of each of the above per iteration
 *
 * Raw __wasi_* calls only, so libc buffering cannot hide or merge calls. Nothing is
 * printed in the loop; one line at the end: "done MODE N". Exit 1 on any error. */
#include <wasi/api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_mode = "?";

static void die(const char *what, int err) {
  fprintf(stderr, "bench_syscalls %s: %s failed (errno %d)\n", g_mode, what, err);
  exit(1);
}

#define CHECK(what, call)            \
  do {                               \
    __wasi_errno_t e_ = (call);      \
    if (e_ != 0) die((what), e_);    \
  } while (0)

static const char DEEP[] = "a/b/c/file.txt";
static const char WFILE[] = "w.dat";
static const char RFILE[] = "r.dat";
static const char DDIR[] = "d";
#define NENTRIES 20
#define RSIZE 65536

static uint8_t g_buf[RSIZE];
static uint8_t g_dirbuf[4096];
static __wasi_rights_t g_inherit; /* what the preopen lets files opened under it have */

/* Finds the preopen whose name is DIR (ignoring a trailing '/'), scanning from fd 3. */
static __wasi_fd_t find_preopen(const char *dir) {
  size_t want = strlen(dir);
  while (want > 1 && dir[want - 1] == '/') want--;
  for (__wasi_fd_t fd = 3;; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) break;
    if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR) continue;
    char name[256];
    size_t len = ps.u.dir.pr_name_len;
    if (len >= sizeof name) continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len) != 0) continue;
    while (len > 1 && (name[len - 1] == '/' || name[len - 1] == '\0')) len--;
    if (len == want && memcmp(name, dir, want) == 0) return fd;
  }
  fprintf(stderr, "bench_syscalls: %s is not a preopen\n", dir);
  exit(1);
}

static void mkdir_p(__wasi_fd_t root, const char *path) {
  __wasi_errno_t e = __wasi_path_create_directory(root, path);
  if (e != 0 && e != __WASI_ERRNO_EXIST) die(path, e);
}

static __wasi_fd_t open_file(__wasi_fd_t root, const char *path, __wasi_oflags_t oflags) {
  __wasi_rights_t want = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
                         __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET;
  __wasi_fd_t fd;
  CHECK(path, __wasi_path_open(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags,
                               want & g_inherit, g_inherit, 0, &fd));
  return fd;
}

static __wasi_fd_t open_dir(__wasi_fd_t root, const char *path) {
  __wasi_rights_t want = __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_FD_FILESTAT_GET;
  __wasi_fd_t fd;
  CHECK(path, __wasi_path_open(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path,
                               __WASI_OFLAGS_DIRECTORY, want & g_inherit, g_inherit, 0, &fd));
  return fd;
}

static void write_all(__wasi_fd_t fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    __wasi_ciovec_t iov = {p, n};
    __wasi_size_t done;
    CHECK("fd_write", __wasi_fd_write(fd, &iov, 1, &done));
    p += done;
    n -= done;
  }
}

/* The tree: a/b/c/file.txt, d/e00..e19, w.dat (empty), r.dat (64 KiB). */
static void setup(__wasi_fd_t root) {
  mkdir_p(root, "a");
  mkdir_p(root, "a/b");
  mkdir_p(root, "a/b/c");
  mkdir_p(root, DDIR);
  __wasi_fd_t fd = open_file(root, DEEP, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC);
  write_all(fd, (const uint8_t *)"hello\n", 6);
  CHECK("fd_close", __wasi_fd_close(fd));
  for (int i = 0; i < NENTRIES; i++) {
    char name[16];
    snprintf(name, sizeof name, "%s/e%02d", DDIR, i);
    CHECK("fd_close", __wasi_fd_close(open_file(root, name, __WASI_OFLAGS_CREAT)));
  }
  for (size_t i = 0; i < RSIZE; i++) g_buf[i] = (uint8_t)('a' + i % 26);
  fd = open_file(root, RFILE, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC);
  write_all(fd, g_buf, RSIZE);
  CHECK("fd_close", __wasi_fd_close(fd));
}

struct state {
  __wasi_fd_t root, wfd, rfd, sfd, dfd;
  uint32_t writes;
  uint64_t sink;
};

static void op_write(struct state *s) {
  __wasi_ciovec_t iov = {g_buf, 64};
  __wasi_size_t n;
  CHECK("fd_write", __wasi_fd_write(s->wfd, &iov, 1, &n));
  if (++s->writes == 1000) {
    __wasi_filesize_t pos;
    s->writes = 0;
    CHECK("fd_seek", __wasi_fd_seek(s->wfd, 0, __WASI_WHENCE_SET, &pos));
  }
}

static void op_read(struct state *s) {
  __wasi_iovec_t iov = {g_buf, 64};
  __wasi_size_t n;
  CHECK("fd_read", __wasi_fd_read(s->rfd, &iov, 1, &n));
  if (n == 0) {
    __wasi_filesize_t pos;
    CHECK("fd_seek", __wasi_fd_seek(s->rfd, 0, __WASI_WHENCE_SET, &pos));
  }
  s->sink += n;
}

static void op_seek(struct state *s) {
  __wasi_filesize_t pos;
  CHECK("fd_seek", __wasi_fd_seek(s->sfd, (__wasi_filedelta_t)(s->sink & 1023), __WASI_WHENCE_SET, &pos));
  s->sink += pos + 1;
}

static void op_clock(struct state *s) {
  __wasi_timestamp_t t;
  CHECK("clock_time_get", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t));
  s->sink += t;
}

static void op_stat(struct state *s) {
  __wasi_filestat_t st;
  CHECK("path_filestat_get", __wasi_path_filestat_get(s->root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, DEEP, &st));
  s->sink += st.size;
}

static void op_open(struct state *s) {
  __wasi_fd_t fd;
  CHECK("path_open", __wasi_path_open(s->root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, DEEP, 0,
                                      __WASI_RIGHTS_FD_READ & g_inherit, g_inherit, 0, &fd));
  CHECK("fd_close", __wasi_fd_close(fd));
}

static void op_readdir(struct state *s) {
  /* One call from cookie 0 returns the whole listing (about 700 bytes); a short buffer
   * would mean more calls, as a libc readdir loop makes. */
  __wasi_size_t used;
  CHECK("fd_readdir", __wasi_fd_readdir(s->dfd, g_dirbuf, sizeof g_dirbuf, 0, &used));
  if (used == sizeof g_dirbuf) die("fd_readdir (listing larger than the buffer)", 0);
  s->sink += used;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bench_syscalls MODE ITERATIONS DIR\n"
                    "  MODE: write read seek clock stat open readdir mixed\n");
    return 2;
  }
  g_mode = argv[1];
  long n = strtol(argv[2], NULL, 10);
  void (*op)(struct state *) = NULL;
  int mixed = 0;
  if (!strcmp(g_mode, "write")) op = op_write;
  else if (!strcmp(g_mode, "read")) op = op_read;
  else if (!strcmp(g_mode, "seek")) op = op_seek;
  else if (!strcmp(g_mode, "clock")) op = op_clock;
  else if (!strcmp(g_mode, "stat")) op = op_stat;
  else if (!strcmp(g_mode, "open")) op = op_open;
  else if (!strcmp(g_mode, "readdir")) op = op_readdir;
  else if (!strcmp(g_mode, "mixed")) mixed = 1;
  else {
    fprintf(stderr, "bench_syscalls: unknown mode %s\n", g_mode);
    return 2;
  }

  struct state s = {0};
  s.root = find_preopen(argv[3]);
  __wasi_fdstat_t fs;
  CHECK("fd_fdstat_get", __wasi_fd_fdstat_get(s.root, &fs));
  g_inherit = fs.fs_rights_inheriting;
  setup(s.root);
  s.wfd = open_file(s.root, WFILE, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC);
  s.rfd = open_file(s.root, RFILE, 0);
  s.sfd = open_file(s.root, RFILE, 0);
  s.dfd = open_dir(s.root, DDIR);

  if (mixed) {
    for (long i = 0; i < n; i++) {
      op_write(&s);
      op_read(&s);
      op_seek(&s);
      op_clock(&s);
      op_stat(&s);
      op_open(&s);
      op_readdir(&s);
    }
  } else {
    for (long i = 0; i < n; i++) op(&s);
  }
  /* Keeps the loop's results alive without printing them. */
  if (s.sink == 0x5eed5eed5eedULL) puts("");
  printf("done %s %ld\n", g_mode, n);
  return 0;
}
