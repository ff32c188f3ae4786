/* Runs a script of path operations, one per line, and prints one normalized result line per
 * operation. The same source is built twice: to wasm32-wasi (run by wtm; build.sh) and
 * natively with the machine's `cc -static` (run by the property test in tests/property/,
 * inside a private mount namespace and a chroot, so that Linux itself resolves the paths).
 * The property test compares the two outputs line by line, and the trees afterwards.
 *
 * Each operation is one call (or open + call + close) through the small `x_*` layer below:
 * POSIX *at calls natively, the raw `__wasi_*` calls under WASI. Not wasi-libc's *at
 * functions: those resolve an absolute path against the preopens themselves instead of
 * passing it to the runtime, so wtm would never see it. `x_openat` asks for the rights
 * wasi-libc's openat asks for, so what wtm sees is what a libc program would make it see.
 *
 * Script: one operation per line, fields separated by TAB (so a field may be empty):
 *   stat B P | lstat B P                      fstatat with / without AT_SYMLINK_NOFOLLOW
 *   read B P FL                               open O_RDONLY (FL: n = O_NOFOLLOW), read all
 *   write B P FL DATA                         open O_WRONLY (FL: c CREAT, x EXCL, t TRUNC,
 *                                             a APPEND, n NOFOLLOW, r RDWR), write DATA
 *   open B P FL                               open (FL as write plus d DIRECTORY, w WRONLY;
 *                                             neither w nor r: O_RDONLY), fstat, close
 *   opendir S B P FL                          open a directory into slot S ($1..$3), FL: n
 *   close S                                   close slot S
 *   ls B P                                    open as directory, list it (sorted)
 *   mkdir B P | rmdir B P | unlink B P        mkdirat / unlinkat(AT_REMOVEDIR) / unlinkat
 *   rename B1 P1 B2 P2                        renameat
 *   link B1 P1 B2 P2 FL                       linkat (FL: f = AT_SYMLINK_FOLLOW)
 *   symlink TARGET B P                        symlinkat
 *   readlink B P                              readlinkat
 *   utimes B P FL SEC                         utimensat to SEC (atime and mtime; FL: n nofollow)
 *   trunc B P SIZE                            open O_WRONLY, ftruncate, close
 * B names a directory fd: a preopen by its guest path (`/`, `/m1`, ...) or a slot (`$1`).
 *
 * Output, one line per operation: `ok SUMMARY` or `err ENAME` (symbolic, so both builds print
 * the same text). Summaries hold no inode numbers and no times but those a script set itself
 * (mtimes in [1e9, 1e9 + 1e6) print as `mt=OFFSET`).
 *
 * Native only (not under WASI): `pathops_script [--no-rules] [--root DIR [--ro-root]]
 * [--mount HOSTDIR:GUESTPATH[:ro]]... [SCRIPT|-]` first unshares the mount namespace,
 * bind-mounts DIR onto itself and each mount onto DIR/GUESTPATH (read-only when asked),
 * then chroots into DIR and opens the preopens. It also knows where wtm's RULES.md differs
 * from a chrooted kernel and, for such an operation, prints what wtm must answer instead
 * (without running it, or after undoing it), `ruleN E1|E2...` (any of them is right):
 *   rule0 EBADF[|E]        the dir fd is not open (WASI checks it first; the kernel would
 *                          ignore it for an absolute path)
 *   rule1 ENOTCAPABLE[|E]  an absolute path argument
 *   rule3 ENOTCAPABLE[|E]  the literal path climbs above its fd with `..`, also after links
 *   rule6 ELOOP            open without following, with O_DIRECTORY, of a symlink (Linux:
 *                          ENOTDIR)
 *   rule7 EPERM[|E]        symlink with an absolute target (E: what the kernel says to the
 *                          same call with a relative target, if it fails)
 *   rule9 EBUSY|EXDEV      rmdir or rename of a directory that holds a mount point (Linux:
 *                          NOTEMPTY, or the mount moves with a rename; EXDEV across mounts)
 * `|E` for the second path of rename/link: the kernel's error for the first path, which the
 * kernel reports first. `--no-rules` turns all that off (plain kernel answers; used to test
 * the harness itself). */
#ifndef __wasi__
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#else
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#endif

#define MAX_SLOTS 4

static int g_slots[MAX_SLOTS] = {-1, -1, -1, -1};

/* ---- output ------------------------------------------------------------------------------ */

static const char *ename(int e) {
  static char buf[32];
#define E(x) if (e == x) return #x;
  E(EPERM) E(ENOENT) E(EIO) E(EBADF) E(EACCES) E(EEXIST) E(EXDEV) E(ENOTDIR) E(EISDIR)
  E(EINVAL) E(ENFILE) E(EMFILE) E(EFBIG) E(ENOSPC) E(EROFS) E(EMLINK) E(ENAMETOOLONG)
  E(ENOTEMPTY) E(ELOOP) E(EBUSY) E(ENOSYS) E(ETXTBSY) E(EFAULT) E(EAGAIN) E(EOVERFLOW)
  E(ENXIO) E(ESTALE) E(EDQUOT) E(ENOMEM) E(ERANGE) E(ESPIPE)
#ifdef ENOTCAPABLE
  E(ENOTCAPABLE)
#endif
#undef E
  if (e == ENOTSUP) return "ENOTSUP";
  snprintf(buf, sizeof buf, "E#%d", e);
  return buf;
}

static void err_line(int e) { printf("err %s\n", ename(e)); }

static uint64_t fnv(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

/* ---- script ------------------------------------------------------------------------------ */

#define MAX_FIELDS 8

static int split_fields(char *line, char **f) {
  int n = 0;
  f[n++] = line;
  for (char *c = line; *c; c++) {
    if (*c == '\t') {
      *c = 0;
      if (n == MAX_FIELDS) break;
      f[n++] = c + 1;
    }
  }
  return n;
}

static int has(const char *flags, char c) { return strchr(flags, c) != NULL; }

static int open_flags(const char *fl, int base_mode) {
  int o = base_mode;
  if (has(fl, 'r')) o = O_RDWR;
  else if (has(fl, 'w')) o = O_WRONLY;
  if (has(fl, 'c')) o |= O_CREAT;
  if (has(fl, 'x')) o |= O_EXCL;
  if (has(fl, 't')) o |= O_TRUNC;
  if (has(fl, 'a')) o |= O_APPEND;
  if (has(fl, 'n')) o |= O_NOFOLLOW;
  if (has(fl, 'd')) o |= O_DIRECTORY;
  return o;
}

/* ---- the call layer: POSIX natively, raw WASI calls under WASI ------------------------------ */

struct xstat {
  char type; /* f d l o */
  long long size, nlink, mtime;
};

#define MAX_NAMES 512

#ifdef __wasi__
static int fail_e(__wasi_errno_t e) {
  errno = e; /* wasi-libc's E* values are the WASI errnos */
  return -1;
}
#define CHK(call)                        \
  do {                                   \
    __wasi_errno_t e_ = (call);          \
    if (e_ != 0) return fail_e(e_);      \
  } while (0)
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static char wasi_type(__wasi_filetype_t t) {
  return t == __WASI_FILETYPE_DIRECTORY ? 'd' : t == __WASI_FILETYPE_REGULAR_FILE ? 'f'
       : t == __WASI_FILETYPE_SYMBOLIC_LINK ? 'l' : 'o';
}

static void from_filestat(const __wasi_filestat_t *f, struct xstat *st) {
  st->type = wasi_type(f->filetype);
  st->size = (long long)f->size;
  st->nlink = (long long)f->nlink;
  st->mtime = (long long)(f->mtim / 1000000000ULL);
}

static int x_fstatat(int fd, const char *p, struct xstat *st, int nofollow) {
  __wasi_filestat_t f;
  CHK(__wasi_path_filestat_get((__wasi_fd_t)fd, nofollow ? 0 : FOLLOW, p, &f));
  from_filestat(&f, st);
  return 0;
}

static int x_fstat(int fd, struct xstat *st) {
  __wasi_filestat_t f;
  CHK(__wasi_fd_filestat_get((__wasi_fd_t)fd, &f));
  from_filestat(&f, st);
  return 0;
}

/* As wasi-libc's openat: the rights follow the access mode, masked by what the directory fd
 * passes on; `flags` are wasi-libc's O_* values (oflags in bits 12.., fdflags in 0..11). */
static int x_openat(int fd, const char *p, int flags) {
  __wasi_rights_t max = ~(__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE |
                          __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_READDIR |
                          __WASI_RIGHTS_FD_FILESTAT_SET_SIZE);
  if (flags & O_RDONLY) max |= __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_READDIR;
  if (flags & O_WRONLY)
    max |= __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE |
           __WASI_RIGHTS_FD_FILESTAT_SET_SIZE;
  __wasi_fdstat_t ds;
  CHK(__wasi_fd_fdstat_get((__wasi_fd_t)fd, &ds));
  __wasi_fd_t out;
  CHK(__wasi_path_open((__wasi_fd_t)fd, (flags & O_NOFOLLOW) ? 0 : FOLLOW, p,
                       (__wasi_oflags_t)((flags >> 12) & 0xfff), max & ds.fs_rights_inheriting,
                       ds.fs_rights_inheriting, (__wasi_fdflags_t)(flags & 0xfff), &out));
  return (int)out;
}

static int x_close(int fd) {
  CHK(__wasi_fd_close((__wasi_fd_t)fd));
  return 0;
}

static long x_read(int fd, void *buf, size_t n) {
  __wasi_iovec_t iov = {(uint8_t *)buf, n};
  size_t got;
  CHK(__wasi_fd_read((__wasi_fd_t)fd, &iov, 1, &got));
  return (long)got;
}

static long x_write(int fd, const void *buf, size_t n) {
  __wasi_ciovec_t iov = {(const uint8_t *)buf, n};
  size_t put;
  CHK(__wasi_fd_write((__wasi_fd_t)fd, &iov, 1, &put));
  return (long)put;
}

static int x_ftruncate(int fd, long long size) {
  CHK(__wasi_fd_filestat_set_size((__wasi_fd_t)fd, (__wasi_filesize_t)size));
  return 0;
}

static int x_mkdirat(int fd, const char *p) {
  CHK(__wasi_path_create_directory((__wasi_fd_t)fd, p));
  return 0;
}

static int x_unlinkat(int fd, const char *p, int dir) {
  CHK(dir ? __wasi_path_remove_directory((__wasi_fd_t)fd, p) : __wasi_path_unlink_file((__wasi_fd_t)fd, p));
  return 0;
}

static int x_renameat(int fd1, const char *p1, int fd2, const char *p2) {
  CHK(__wasi_path_rename((__wasi_fd_t)fd1, p1, (__wasi_fd_t)fd2, p2));
  return 0;
}

static int x_linkat(int fd1, const char *p1, int fd2, const char *p2, int follow) {
  CHK(__wasi_path_link((__wasi_fd_t)fd1, follow ? FOLLOW : 0, p1, (__wasi_fd_t)fd2, p2));
  return 0;
}

static int x_symlinkat(const char *target, int fd, const char *p) {
  CHK(__wasi_path_symlink(target, (__wasi_fd_t)fd, p));
  return 0;
}

static long x_readlinkat(int fd, const char *p, char *buf, size_t n) {
  size_t used;
  CHK(__wasi_path_readlink((__wasi_fd_t)fd, p, (uint8_t *)buf, n, &used));
  return (long)used;
}

static int x_utimensat(int fd, const char *p, long long sec, int nofollow) {
  __wasi_timestamp_t t = (__wasi_timestamp_t)sec * 1000000000ULL;
  CHK(__wasi_path_filestat_set_times((__wasi_fd_t)fd, nofollow ? 0 : FOLLOW, p, t, t,
                                     __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  return 0;
}

/* Lists the directory open as fd into names ("name:t") and closes fd; returns the count. */
static int x_listdir(int fd, char **names) {
  static uint8_t buf[1 << 16];
  __wasi_dircookie_t cookie = 0;
  int n = 0;
  for (;;) {
    size_t used;
    __wasi_errno_t e = __wasi_fd_readdir((__wasi_fd_t)fd, buf, sizeof buf, cookie, &used);
    if (e != 0) {
      for (int i = 0; i < n; i++) free(names[i]);
      (void)__wasi_fd_close((__wasi_fd_t)fd);
      return fail_e(e);
    }
    size_t off = 0;
    int progressed = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, buf + off, sizeof d);
      if (off + sizeof d + d.d_namlen > used) break;
      if (n < MAX_NAMES) {
        names[n] = malloc(d.d_namlen + 3);
        memcpy(names[n], buf + off + sizeof d, d.d_namlen);
        names[n][d.d_namlen] = ':';
        names[n][d.d_namlen + 1] = wasi_type(d.d_type);
        names[n][d.d_namlen + 2] = 0;
        n++;
      }
      cookie = d.d_next;
      off += sizeof d + d.d_namlen;
      progressed = 1;
    }
    if (used < sizeof buf || !progressed) break;
  }
  (void)__wasi_fd_close((__wasi_fd_t)fd);
  return n;
}
#else
static void from_stat(const struct stat *s, struct xstat *st) {
  st->type = S_ISREG(s->st_mode) ? 'f' : S_ISDIR(s->st_mode) ? 'd' : S_ISLNK(s->st_mode) ? 'l' : 'o';
  st->size = (long long)s->st_size;
  st->nlink = (long long)s->st_nlink;
  st->mtime = (long long)s->st_mtim.tv_sec;
}

static int x_fstatat(int fd, const char *p, struct xstat *st, int nofollow) {
  struct stat s;
  if (fstatat(fd, p, &s, nofollow ? AT_SYMLINK_NOFOLLOW : 0) != 0) return -1;
  from_stat(&s, st);
  return 0;
}

static int x_fstat(int fd, struct xstat *st) {
  struct stat s;
  if (fstat(fd, &s) != 0) return -1;
  from_stat(&s, st);
  return 0;
}

static int x_openat(int fd, const char *p, int flags) { return openat(fd, p, flags, 0644); }
static int x_close(int fd) { return close(fd); }
static long x_read(int fd, void *buf, size_t n) { return (long)read(fd, buf, n); }
static long x_write(int fd, const void *buf, size_t n) { return (long)write(fd, buf, n); }
static int x_ftruncate(int fd, long long size) { return ftruncate(fd, (off_t)size); }
static int x_mkdirat(int fd, const char *p) { return mkdirat(fd, p, 0755); }
static int x_unlinkat(int fd, const char *p, int dir) { return unlinkat(fd, p, dir ? AT_REMOVEDIR : 0); }
static int x_renameat(int fd1, const char *p1, int fd2, const char *p2) { return renameat(fd1, p1, fd2, p2); }
static int x_linkat(int fd1, const char *p1, int fd2, const char *p2, int follow) {
  return linkat(fd1, p1, fd2, p2, follow ? AT_SYMLINK_FOLLOW : 0);
}
static int x_symlinkat(const char *target, int fd, const char *p) { return symlinkat(target, fd, p); }
static long x_readlinkat(int fd, const char *p, char *buf, size_t n) { return (long)readlinkat(fd, p, buf, n); }
static int x_utimensat(int fd, const char *p, long long sec, int nofollow) {
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = (time_t)sec;
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  return utimensat(fd, p, ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0);
}

static int x_listdir(int fd, char **names) {
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL && n < MAX_NAMES) {
    char t = de->d_type == DT_DIR ? 'd' : de->d_type == DT_REG ? 'f' : de->d_type == DT_LNK ? 'l' : 'o';
    size_t len = strlen(de->d_name);
    names[n] = malloc(len + 3);
    memcpy(names[n], de->d_name, len);
    names[n][len] = ':';
    names[n][len + 1] = t;
    names[n][len + 2] = 0;
    n++;
  }
  closedir(d);
  return n;
}
#endif

/* ---- preopens ---------------------------------------------------------------------------- */

#ifdef __wasi__
static int same_guest_path(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  while (alen > 1 && a[alen - 1] == '/') alen--;
  while (blen > 1 && b[blen - 1] == '/') blen--;
  return alen == blen && memcmp(a, b, alen) == 0;
}

static int preopen_fd(const char *path) {
  for (__wasi_fd_t fd = 3; fd < 4096; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) break;
    if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR) continue;
    char name[4096];
    size_t n = ps.u.dir.pr_name_len;
    if (n >= sizeof name) continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, n) == 0 && same_guest_path(name, n, path))
      return (int)fd;
  }
  return -1;
}
#else
/* Natively (after the chroot) a preopen is the directory at that absolute path, opened once. */
#define MAX_PREOPENS 16
static char *g_pre_names[MAX_PREOPENS];
static int g_pre_fds[MAX_PREOPENS];
static int g_npre;

static int preopen_fd(const char *path) {
  for (int i = 0; i < g_npre; i++)
    if (strcmp(g_pre_names[i], path) == 0) return g_pre_fds[i];
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  if (g_npre < MAX_PREOPENS) {
    g_pre_names[g_npre] = strdup(path);
    g_pre_fds[g_npre++] = fd;
  }
  return fd;
}
#endif

/* The fd a base field names (-1 when it names nothing: calls then fail with EBADF). */
static int base_fd(const char *b) {
  if (b[0] == '$') {
    int i = atoi(b + 1);
    return i >= 0 && i < MAX_SLOTS ? g_slots[i] : -1;
  }
  return preopen_fd(b);
}

/* ---- the rules where wtm differs from a chrooted kernel (native only) --------------------- */

static int g_rules = 1;

#ifndef __wasi__
#define MAX_LINKS 40

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Is the directory open as `cur` strictly below the directory `top` in the guest's tree?
 * Walks up with `..`, which the kernel resolves exactly as wtm's tree does (a mount's root
 * goes to the directory holding the mount point; `/` of the chroot stays at `/`). */
static int strictly_below(int cur, const struct stat *top) {
  struct stat s, ps;
  if (fstat(cur, &s) != 0 || same_file(&s, top)) return 0;
  int p = dup(cur);
  for (int guard = 0; guard < 10000; guard++) {
    int np = openat(p, "..", O_PATH | O_DIRECTORY);
    close(p);
    if (np < 0 || fstat(np, &ps) != 0) {
      if (np >= 0) close(np);
      return 0;
    }
    if (same_file(&ps, top)) {
      close(np);
      return 1;
    }
    if (same_file(&ps, &s)) { /* `..` stayed: the root */
      close(np);
      return 0;
    }
    s = ps;
    p = np;
  }
  close(p);
  return 0;
}

struct comp {
  char *name;
  int literal; /* from the path argument itself, not from a link's target */
};

/* Does the literal path argument climb above its fd (RULES.md rule 3)? Walks `path` from
 * `base` component by component as the kernel would, following links in the middle of the
 * path, and checks each literal `..` against where the walk is at that moment. Stops (no
 * climb) at the first error: the kernel then reports it, and so must wtm. Returns 1 for a
 * climb, 0 otherwise. */
static int climbs(int base, const char *path) {
  struct stat top;
  if (base < 0 || fstat(base, &top) != 0) return 0;
  if (strlen(path) >= 4096) return 0; /* the kernel answers ENAMETOOLONG first */
  size_t cap = 64, n = 0, i = 0;
  struct comp *c = malloc(cap * sizeof *c);
  /* Components of the path, in order. */
  {
    char *dup_path = strdup(path), *save = NULL;
    for (char *tok = dup_path;; tok = NULL) {
      /* strtok would drop empty components; they behave like `.`, so dropping is fine. */
      char *t = strtok_r(tok, "/", &save);
      if (!t) break;
      if (n == cap) c = realloc(c, (cap *= 2) * sizeof *c);
      c[n].name = strdup(t);
      c[n++].literal = 1;
    }
    free(dup_path);
  }
  int cur = openat(base, ".", O_PATH | O_DIRECTORY);
  int links = 0, result = 0;
  while (i < n && cur >= 0) {
    /* Nothing to check once no literal `..` is left. */
    int more = 0;
    for (size_t j = i; j < n; j++)
      if (c[j].literal && strcmp(c[j].name, "..") == 0) more = 1;
    if (!more) break;
    struct comp k = c[i++];
    if (strcmp(k.name, ".") == 0) continue;
    if (strcmp(k.name, "..") == 0) {
      if (k.literal && !strictly_below(cur, &top)) {
        result = 1;
        break;
      }
      int up = openat(cur, "..", O_PATH | O_DIRECTORY);
      close(cur);
      cur = up;
      continue;
    }
    struct stat st;
    if (fstatat(cur, k.name, &st, AT_SYMLINK_NOFOLLOW) != 0) break;
    if (S_ISDIR(st.st_mode)) {
      int next = openat(cur, k.name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
      close(cur);
      cur = next;
      continue;
    }
    if (!S_ISLNK(st.st_mode)) break; /* ENOTDIR */
    if (++links > MAX_LINKS) break;  /* ELOOP */
    char target[4097];
    ssize_t tl = readlinkat(cur, k.name, target, sizeof target - 1);
    if (tl <= 0) break;
    target[tl] = 0;
    if (target[0] == '/') {
      close(cur);
      cur = open("/", O_PATH | O_DIRECTORY);
    }
    /* Splice the target's components (not literal) in front of the rest. */
    struct comp tc[2048];
    size_t tn = 0;
    char *save = NULL;
    for (char *tok = target;; tok = NULL) {
      char *t = strtok_r(tok, "/", &save);
      if (!t || tn == 2048) break;
      tc[tn].name = strdup(t);
      tc[tn++].literal = 0;
    }
    size_t rest = n - i;
    while (n + tn > cap) c = realloc(c, (cap *= 2) * sizeof *c);
    memmove(c + tn, c + i, rest * sizeof *c);
    memcpy(c, tc, tn * sizeof *c);
    n = tn + rest;
    i = 0;
  }
  if (cur >= 0) close(cur);
  for (size_t j = 0; j < n; j++) free(c[j].name);
  free(c);
  return result;
}

/* Prints the rule's answer for an operation whose (first) path argument `p` is refused by
 * rule 1 or 3, and returns 1; returns 0 when the operation must be run for real. */
static int refused(int base, const char *p, const char *also) {
  if (!g_rules) return 0;
  if (base < 0) { /* not an open fd: BADF (the kernel would ignore it for an absolute path) */
    printf("rule0 EBADF%s%s\n", also ? "|" : "", also ? also : "");
    return 1;
  }
  if (p[0] == '/' && strlen(p) < 4096) {
    printf("rule1 ENOTCAPABLE%s%s\n", also ? "|" : "", also ? also : "");
    return 1;
  }
  if (climbs(base, p)) {
    /* A one-sided check of the oracle by the kernel itself: a path that RESOLVE_BENEATH
     * resolves never leaves the fd's subtree, so no literal `..` of it can climb. */
    struct open_how how = {.flags = O_PATH, .resolve = RESOLVE_BENEATH};
    long t = syscall(SYS_openat2, base, p, &how, sizeof how);
    if (t >= 0) {
      close((int)t);
      printf("oracle-error: rule 3 says this climbs, RESOLVE_BENEATH resolves it\n");
      return 1;
    }
    printf("rule3 ENOTCAPABLE%s%s\n", also ? "|" : "", also ? also : "");
    return 1;
  }
  return 0;
}

/* The guest paths of the mounts (--mount), for rule 9. */
static const char *g_mount_paths[64];
static int g_nmount_paths;

/* The last component of `p` (trailing slashes aside) is a name, not `.` or `..`. */
static int names_a_name(const char *p) {
  size_t n = strlen(p);
  if (n == 0) return 0; /* the kernel's ENOENT */
  while (n > 1 && p[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && p[b - 1] != '/') b--;
  return !((n - b == 1 && p[b] == '.') || (n - b == 2 && p[b] == '.' && p[b + 1] == '.'));
}

/* The directory holding the last component of `p` exists (the kernel's first lookup). */
static int parent_exists(int base, const char *p) {
  char d[4200];
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') n--;
  while (n > 0 && p[n - 1] != '/') n--;
  if (n == 0) return 1;
  snprintf(d, sizeof d, "%.*s", (int)n, p);
  struct stat st;
  return fstatat(base, d, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/* Rule 9: is `p` (from `base`, its last component not followed) a directory that strictly
 * holds a mount point? Compared by identity with every ancestor of every mount point but `/`. */
static int holds_mount(int base, const char *p) {
  struct stat st, a;
  /* Only a last component that is a name: `.` and `..` get the kernel's own answers first. */
  if (!names_a_name(p)) return 0;
  /* Without its trailing slashes: rmdir and rename never follow a final link. */
  char q[4200];
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') n--;
  snprintf(q, sizeof q, "%.*s", (int)n, p);
  if (!g_rules || fstatat(base, q, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) return 0;
  for (int i = 0; i < g_nmount_paths; i++) {
    char anc[4096];
    snprintf(anc, sizeof anc, "%s", g_mount_paths[i]);
    for (char *slash = strrchr(anc, '/'); slash && slash != anc; slash = strrchr(anc, '/')) {
      *slash = 0;
      if (stat(anc, &a) == 0 && a.st_dev == st.st_dev && a.st_ino == st.st_ino) return 1;
    }
  }
  return 0;
}

/* For the second path argument of rename/link: the kernel looks the first one up before the
 * second, so wtm may report the first one's error instead of NOTCAPABLE. */
static const char *first_error(int base, const char *p, int follow) {
  struct stat st;
  if (fstatat(base, p, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0) return NULL;
  static char buf[32];
  snprintf(buf, sizeof buf, "%s", ename(errno));
  return buf;
}
#else
static int refused(int base, const char *p, const char *also) { return 0; }
static int holds_mount(int base, const char *p) { return 0; }
static int names_a_name(const char *p) { return 1; }
static int parent_exists(int base, const char *p) { return 1; }
static const char *first_error(int base, const char *p, int follow) { return NULL; }
#endif

/* ---- operations -------------------------------------------------------------------------- */

/* Times the script set itself (utimes) are printed as offsets; others are left out. */
#define T_BASE 1000000000LL
#define T_SPAN 1000000LL

static void stat_summary(const struct xstat *st) {
  printf("ok %c", st->type);
  if (st->type == 'f' || st->type == 'l') printf(" size=%lld", st->size);
  if (st->type == 'f') printf(" nlink=%lld", st->nlink);
  if (st->mtime >= T_BASE && st->mtime < T_BASE + T_SPAN) printf(" mt=%lld", st->mtime - T_BASE);
  printf("\n");
}

/* Prints an open's error. Rule 6: path_open without SYMLINK_FOLLOW on a symlink is LOOP,
 * where Linux says ENOTDIR when O_DIRECTORY is given too. */
static void open_error(int fd, const char *p, int flags, int e) {
#ifndef __wasi__
  size_t n = strlen(p);
  struct stat st;
  if (g_rules && e == ENOTDIR && (flags & O_NOFOLLOW) && (flags & O_DIRECTORY) && n > 0 &&
      p[n - 1] != '/' && fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    printf("rule6 ELOOP\n");
    return;
  }
#endif
  err_line(e);
}

static void op_stat(const char *b, const char *p, int nofollow) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  struct xstat st;
  if (x_fstatat(fd, p, &st, nofollow) != 0) return err_line(errno);
  stat_summary(&st);
}

static void op_read(const char *b, const char *p, const char *fl) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  int f = x_openat(fd, p, O_RDONLY | (has(fl, 'n') ? O_NOFOLLOW : 0));
  if (f < 0) return err_line(errno);
  struct xstat st;
  if (x_fstat(f, &st) != 0) {
    err_line(errno);
    x_close(f);
    return;
  }
  if (st.type != 'f') { /* reading a directory fd is not a path question */
    printf("ok %c\n", st.type);
    x_close(f);
    return;
  }
  static unsigned char buf[1 << 16];
  size_t total = 0;
  while (total < sizeof buf) {
    long r = x_read(f, buf + total, sizeof buf - total);
    if (r < 0) {
      err_line(errno);
      x_close(f);
      return;
    }
    if (r == 0) break;
    total += (size_t)r;
  }
  x_close(f);
  printf("ok n=%zu h=%016llx \"", total, (unsigned long long)fnv(buf, total));
  for (size_t i = 0; i < total && i < 80; i++)
    putchar(buf[i] >= 0x20 && buf[i] < 0x7f && buf[i] != '"' && buf[i] != '\\' ? buf[i] : '?');
  printf("\"\n");
}

static void op_write(const char *b, const char *p, const char *fl, const char *data) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  int f = x_openat(fd, p, open_flags(fl, O_WRONLY));
  if (f < 0) return err_line(errno);
  long w = x_write(f, data, strlen(data));
  int e = errno;
  x_close(f);
  if (w < 0) return err_line(e);
  printf("ok n=%ld\n", w);
}

static void op_open(const char *b, const char *p, const char *fl) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  int flags = open_flags(fl, O_RDONLY);
  int f = x_openat(fd, p, flags);
  if (f < 0) return open_error(fd, p, flags, errno);
  struct xstat st;
  if (x_fstat(f, &st) != 0) err_line(errno);
  else stat_summary(&st);
  x_close(f);
}

static void op_opendir(const char *s, const char *b, const char *p, const char *fl) {
  int i = s[0] == '$' ? atoi(s + 1) : -1;
  if (i < 0 || i >= MAX_SLOTS) return err_line(EINVAL);
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  int flags = O_RDONLY | O_DIRECTORY | (has(fl, 'n') ? O_NOFOLLOW : 0);
  int f = x_openat(fd, p, flags);
  if (f < 0) return open_error(fd, p, flags, errno);
  if (g_slots[i] >= 0) x_close(g_slots[i]);
  g_slots[i] = f;
  printf("ok\n");
}

static void op_close(const char *s) {
  int i = s[0] == '$' ? atoi(s + 1) : -1;
  if (i < 0 || i >= MAX_SLOTS || g_slots[i] < 0) return err_line(EBADF);
  x_close(g_slots[i]);
  g_slots[i] = -1;
  printf("ok\n");
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void op_ls(const char *b, const char *p) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  int f = x_openat(fd, p, O_RDONLY | O_DIRECTORY);
  if (f < 0) return err_line(errno);
  static char *names[MAX_NAMES];
  int n = x_listdir(f, names);
  if (n < 0) return err_line(errno);
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  printf("ok");
  for (int i = 0; i < n; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

static void op_simple(const char *op, const char *b, const char *p) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  if (strcmp(op, "rmdir") == 0 && holds_mount(fd, p)) {
    printf("rule9 EBUSY|EXDEV|EROFS\n");
    return;
  }
  int r = strcmp(op, "mkdir") == 0 ? x_mkdirat(fd, p) : x_unlinkat(fd, p, strcmp(op, "rmdir") == 0);
  if (r != 0) return err_line(errno);
  printf("ok\n");
}

static void op_two(const char *op, const char *b1, const char *p1, const char *b2, const char *p2,
                   const char *fl) {
  int fd1 = base_fd(b1), fd2 = base_fd(b2);
  int is_link = strcmp(op, "link") == 0;
  int follow = is_link && has(fl, 'f');
  if (refused(fd1, p1, NULL)) return;
  if (refused(fd2, p2, first_error(fd1, p1, follow))) return;
  if (!is_link && (holds_mount(fd1, p1) || holds_mount(fd2, p2)) && names_a_name(p1) && names_a_name(p2) &&
      parent_exists(fd1, p1) && parent_exists(fd2, p2)) {
    printf("rule9 EBUSY|EXDEV|EROFS\n");
    return;
  }
  int r = is_link ? x_linkat(fd1, p1, fd2, p2, follow) : x_renameat(fd1, p1, fd2, p2);
  if (r != 0) return err_line(errno);
  printf("ok\n");
}

static void op_symlink(const char *target, const char *b, const char *p) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
#ifndef __wasi__
  if (g_rules && target[0] == '/') {
    /* Rule 7: a guest may not create a link with an absolute target. What would the kernel
     * have said? Try with a harmless relative target, then undo it (and the parent's times). */
    const char *slash = strrchr(p, '/');
    char parent[4200];
    if (slash) snprintf(parent, sizeof parent, "%.*s", (int)(slash - p) + 1, p);
    else strcpy(parent, ".");
    struct stat pst;
    int pfd = openat(fd, parent, O_RDONLY | O_DIRECTORY);
    int have = pfd >= 0 && fstat(pfd, &pst) == 0;
    if (symlinkat("placeholder", fd, p) != 0) {
      printf("rule7 EPERM|%s\n", ename(errno));
    } else {
      unlinkat(fd, p, 0);
      if (have) {
        struct timespec ts[2] = {pst.st_atim, pst.st_mtim};
        futimens(pfd, ts);
      }
      printf("rule7 EPERM\n");
    }
    if (pfd >= 0) close(pfd);
    return;
  }
#endif
  if (x_symlinkat(target, fd, p) != 0) return err_line(errno);
  printf("ok\n");
}

static void op_readlink(const char *b, const char *p) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  char buf[4097];
  long n = x_readlinkat(fd, p, buf, sizeof buf - 1);
  if (n < 0) return err_line(errno);
  buf[n] = 0;
  printf("ok \"%s\"\n", buf);
}

static void op_utimes(const char *b, const char *p, const char *fl, const char *sec) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  if (x_utimensat(fd, p, T_BASE + atoll(sec), has(fl, 'n')) != 0) return err_line(errno);
  printf("ok\n");
}

static void op_trunc(const char *b, const char *p, const char *size) {
  int fd = base_fd(b);
  if (refused(fd, p, NULL)) return;
  int f = x_openat(fd, p, O_WRONLY);
  if (f < 0) return err_line(errno);
  int r = x_ftruncate(f, atoll(size));
  int e = errno;
  x_close(f);
  if (r != 0) return err_line(e);
  printf("ok\n");
}

static void run_line(char *line) {
  char *f[MAX_FIELDS];
  int n = split_fields(line, f);
  for (int i = n; i < MAX_FIELDS; i++) f[i] = "";
  const char *op = f[0];
  if (strcmp(op, "stat") == 0) op_stat(f[1], f[2], 0);
  else if (strcmp(op, "lstat") == 0) op_stat(f[1], f[2], 1);
  else if (strcmp(op, "read") == 0) op_read(f[1], f[2], f[3]);
  else if (strcmp(op, "write") == 0) op_write(f[1], f[2], f[3], f[4]);
  else if (strcmp(op, "open") == 0) op_open(f[1], f[2], f[3]);
  else if (strcmp(op, "opendir") == 0) op_opendir(f[1], f[2], f[3], f[4]);
  else if (strcmp(op, "close") == 0) op_close(f[1]);
  else if (strcmp(op, "ls") == 0) op_ls(f[1], f[2]);
  else if (strcmp(op, "mkdir") == 0 || strcmp(op, "rmdir") == 0 || strcmp(op, "unlink") == 0)
    op_simple(op, f[1], f[2]);
  else if (strcmp(op, "rename") == 0 || strcmp(op, "link") == 0) op_two(op, f[1], f[2], f[3], f[4], f[5]);
  else if (strcmp(op, "symlink") == 0) op_symlink(f[1], f[2], f[3]);
  else if (strcmp(op, "readlink") == 0) op_readlink(f[1], f[2]);
  else if (strcmp(op, "utimes") == 0) op_utimes(f[1], f[2], f[3], f[4]);
  else if (strcmp(op, "trunc") == 0) op_trunc(f[1], f[2], f[3]);
  else printf("bad op %s\n", op);
}

/* ---- native setup: namespace, mounts, chroot ----------------------------------------------- */

#ifndef __wasi__
static void die(const char *what, const char *arg) {
  fprintf(stderr, "pathops_script: %s %s: %s\n", what, arg, strerror(errno));
  exit(2);
}

static void sandbox(const char *root, int ro_root, char **mounts, int nmounts) {
  if (unshare(CLONE_NEWNS) != 0) die("unshare", "CLONE_NEWNS");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("make private", "/");
  if (mount(root, root, NULL, MS_BIND, NULL) != 0) die("bind", root);
  for (int i = 0; i < nmounts; i++) {
    char *spec = strdup(mounts[i]);
    char *colon = strchr(spec, ':');
    if (!colon) die("bad --mount", mounts[i]);
    *colon = 0;
    char *guest = colon + 1, *ro = strchr(guest, ':');
    if (ro) *ro++ = 0;
    char dst[8192];
    snprintf(dst, sizeof dst, "%s%s", root, guest);
    if (mount(spec, dst, NULL, MS_BIND, NULL) != 0) die("bind", dst);
    if (ro && strcmp(ro, "ro") == 0 &&
        mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
      die("remount ro", dst);
    free(spec);
  }
  if (ro_root && mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
    die("remount ro", root);
  if (chroot(root) != 0) die("chroot", root);
  if (chdir("/") != 0) die("chdir", "/");
  /* The preopens are opened now, as a runtime opens them before the guest starts (a script
   * may rename what leads to them). */
  preopen_fd("/");
  for (int i = 0; i < nmounts; i++) {
    char *guest = strchr(mounts[i], ':') + 1, *end = strchr(guest, ':');
    char name[4096];
    snprintf(name, sizeof name, "%.*s", end ? (int)(end - guest) : (int)strlen(guest), guest);
    preopen_fd(name);
    if (g_nmount_paths < 64) g_mount_paths[g_nmount_paths++] = strdup(name);
  }
}
#endif

int main(int argc, char **argv) {
  const char *script = "-";
#ifndef __wasi__
  const char *root = NULL;
  int ro_root = 0, nmounts = 0;
  char *mounts[64];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--no-rules") == 0) g_rules = 0;
    else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) root = argv[++i];
    else if (strcmp(argv[i], "--ro-root") == 0) ro_root = 1;
    else if (strcmp(argv[i], "--mount") == 0 && i + 1 < argc && nmounts < 64) mounts[nmounts++] = argv[++i];
    else script = argv[i];
  }
  /* Read the script before the chroot: its file may be outside. */
#else
  g_rules = 0;
  if (argc > 1) script = argv[1];
#endif
  FILE *in = strcmp(script, "-") == 0 ? stdin : fopen(script, "r");
  if (!in) {
    fprintf(stderr, "pathops_script: cannot open %s\n", script);
    return 2;
  }
  size_t cap = 1 << 16, len = 0;
  char *text = malloc(cap);
  for (;;) {
    if (len + 4096 > cap) text = realloc(text, cap *= 2);
    size_t r = fread(text + len, 1, cap - len - 1, in);
    if (r == 0) break;
    len += r;
  }
  text[len] = 0;
#ifndef __wasi__
  if (root) sandbox(root, ro_root, mounts, nmounts);
#endif
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *save = NULL;
  for (char *line = text;; line = NULL) {
    /* strtok_r skips empty lines, which the script never has. */
    char *l = strtok_r(line, "\n", &save);
    if (!l) break;
    run_line(l);
  }
  printf("done\n");
  return 0;
}
