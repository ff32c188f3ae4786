/* fd_* calls on a file created in the work dir, readdir, renumber, close, stdio.
 * argv[1]: a writable preopened directory (e.g. /work); the guest creates and
 * removes its own entries there (fd_ops.txt, fd_ops.other, fd_ops.dir/). */
#include "common.h"

#define F "fd_ops.txt"
#define F2 "fd_ops.other"
#define D "fd_ops.dir"

static __wasi_filestat_t st(__wasi_fd_t fd, __wasi_errno_t *e) {
  __wasi_filestat_t s;
  memset(&s, 0, sizeof s);
  *e = __wasi_fd_filestat_get(fd, &s);
  return s;
}

static uint64_t size_of(__wasi_fd_t fd) {
  __wasi_errno_t e;
  __wasi_filestat_t s = st(fd, &e);
  return e ? (uint64_t)-1 : s.size;
}

static __wasi_errno_t pread_str(__wasi_fd_t fd, char *buf, size_t len, uint64_t off, size_t *n) {
  __wasi_iovec_t iov = {(uint8_t *)buf, len};
  return __wasi_fd_pread(fd, &iov, 1, off, n);
}

static __wasi_errno_t pwrite_str(__wasi_fd_t fd, const char *s, uint64_t off, size_t *n) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  return __wasi_fd_pwrite(fd, &iov, 1, off, n);
}

static uint64_t tell(__wasi_fd_t fd) {
  __wasi_filesize_t p = (uint64_t)-1;
  if (__wasi_fd_tell(fd, &p) != 0) return (uint64_t)-1;
  return p;
}

/* Reads a directory with a tiny buffer, resuming from each last whole entry's
 * d_next. Returns the number of readdir calls, or -1 on error. */
static int read_dir_small(__wasi_fd_t fd, size_t bufsize, char *names, size_t cap) {
  uint8_t buf[256];
  __wasi_dircookie_t cookie = 0;
  size_t out = 0;
  int calls = 0;
  names[0] = 0;
  for (;;) {
    size_t used = 0;
    if (++calls > 100) return -1;
    if (__wasi_fd_readdir(fd, buf, bufsize, cookie, &used) != 0) return -1;
    size_t off = 0;
    int whole = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, buf + off, sizeof d);
      if (off + sizeof d + d.d_namlen > used) break;
      if (out + d.d_namlen + 2 < cap) {
        memcpy(names + out, buf + off + sizeof d, d.d_namlen);
        out += d.d_namlen;
        names[out++] = '\n';
        names[out] = 0;
      }
      cookie = d.d_next;
      off += sizeof d + d.d_namlen;
      whole++;
    }
    if (used < bufsize) return calls;
    if (whole == 0) return -1; /* buffer too small for even one entry */
  }
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

int main(int argc, char **argv) {
  guest_begin("fd_ops");
  int dir = work_dir_or_exit(argc, argv);
  __wasi_errno_t e;
  __wasi_fd_t fd = (__wasi_fd_t)-1, fd2 = (__wasi_fd_t)-1;
  size_t n = 0;
  char buf[256];

  /* leftovers of an earlier run */
  (void)__wasi_path_unlink_file(dir, F);
  (void)__wasi_path_unlink_file(dir, F2);
  (void)__wasi_path_unlink_file(dir, D "/alpha");
  (void)__wasi_path_unlink_file(dir, D "/beta");
  (void)__wasi_path_remove_directory(dir, D "/gamma");
  (void)__wasi_path_remove_directory(dir, D);

  e = open_at(dir, 0, F, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &fd);
  if (!check_errno("path_open.create", e, 0)) return guest_end();

  /* --- write / read / seek / tell ------------------------------------------------ */
  e = write_all(fd, "hello world", 11, &n);
  check_errno("fd_write", e, 0);
  check_u64("fd_write.nwritten", n, 11);
  check_u64("fd_tell.after_write", tell(fd), 11);
  __wasi_filesize_t pos = 0;
  check_errno("fd_seek.set", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos), 0);
  check_u64("fd_seek.set.pos", pos, 0);
  memset(buf, 0, sizeof buf);
  e = read_some(fd, buf, 5, &n);
  check_errno("fd_read", e, 0);
  check_bytes("fd_read.data", buf, n, "hello", 5);
  check_u64("fd_tell", tell(fd), 5);
  check_errno("fd_seek.cur", __wasi_fd_seek(fd, 1, __WASI_WHENCE_CUR, &pos), 0);
  check_u64("fd_seek.cur.pos", pos, 6);
  e = read_some(fd, buf, sizeof buf, &n);
  check_bytes("fd_read.rest", buf, n, "world", 5);
  e = read_some(fd, buf, sizeof buf, &n);
  check_errno("fd_read.eof", e, 0);
  check_u64("fd_read.eof.n", n, 0);
  check_errno("fd_seek.end", __wasi_fd_seek(fd, -3, __WASI_WHENCE_END, &pos), 0);
  check_u64("fd_seek.end.pos", pos, 8);
  check_errno("fd_seek.cur_zero", __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos), 0);
  check_u64("fd_seek.cur_zero.pos", pos, 8);
  check_errno("fd_seek.negative_set", __wasi_fd_seek(fd, -1, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_INVAL);
  check_errno("fd_seek.negative_cur", __wasi_fd_seek(fd, -100, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_INVAL);
  check_u64("fd_seek.failed_keeps_pos", tell(fd), 8);
  check_errno("fd_seek.bad_whence", __wasi_fd_seek(fd, 0, 7, &pos), __WASI_ERRNO_INVAL);
  check_errno("fd_seek.past_end", __wasi_fd_seek(fd, 100, __WASI_WHENCE_SET, &pos), 0);
  check_u64("fd_seek.past_end.pos", pos, 100);
  check_u64("fd_seek.past_end.size_unchanged", size_of(fd), 11);

  /* scatter / gather */
  {
    __wasi_ciovec_t w[3] = {{(const uint8_t *)"ab", 2}, {(const uint8_t *)"", 0}, {(const uint8_t *)"cde", 3}};
    (void)__wasi_fd_seek(fd, 20, __WASI_WHENCE_SET, &pos);
    check_errno("fd_write.gather", __wasi_fd_write(fd, w, 3, &n), 0);
    check_u64("fd_write.gather.n", n, 5);
    char x[2] = {0}, y[8] = {0};
    __wasi_iovec_t r[2] = {{(uint8_t *)x, 2}, {(uint8_t *)y, 8}};
    (void)__wasi_fd_seek(fd, 20, __WASI_WHENCE_SET, &pos);
    check_errno("fd_read.scatter", __wasi_fd_read(fd, r, 2, &n), 0);
    check_u64("fd_read.scatter.n", n, 5);
    check_true("fd_read.scatter.data", memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0,
               "iovecs not filled in order");
    check_u64("fd_write.gather.size", size_of(fd), 25);
    /* the hole between 11 and 20 reads as zeros */
    e = pread_str(fd, buf, 9, 11, &n);
    int zeros = n == 9;
    for (size_t i = 0; i < n; i++) zeros &= buf[i] == 0;
    check_true("fd_pread.hole_zeros", e == 0 && zeros, "hole is not 9 zero bytes");
  }

  /* --- pread / pwrite leave the position alone -------------------------------- */
  (void)__wasi_fd_seek(fd, 3, __WASI_WHENCE_SET, &pos);
  e = pread_str(fd, buf, 5, 6, &n);
  check_errno("fd_pread", e, 0);
  check_bytes("fd_pread.data", buf, n, "world", 5);
  check_u64("fd_pread.keeps_pos", tell(fd), 3);
  e = pwrite_str(fd, "HELLO", 0, &n);
  check_errno("fd_pwrite", e, 0);
  check_u64("fd_pwrite.n", n, 5);
  check_u64("fd_pwrite.keeps_pos", tell(fd), 3);
  e = pread_str(fd, buf, 11, 0, &n);
  check_bytes("fd_pwrite.data", buf, n, "HELLO world", 11);
  e = pread_str(fd, buf, 10, 1000, &n);
  check_errno("fd_pread.past_end", e, 0);
  check_u64("fd_pread.past_end.n", n, 0);

  /* --- fdstat ------------------------------------------------------------------------ */
  __wasi_fdstat_t fs;
  memset(&fs, 0, sizeof fs);
  check_errno("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &fs), 0);
  check_u64("fd_fdstat_get.filetype", fs.fs_filetype, __WASI_FILETYPE_REGULAR_FILE);
  check_u64("fd_fdstat_get.flags", fs.fs_flags, 0);
  check_true("fd_fdstat_get.rights",
             (fs.fs_rights_base & (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE)) ==
                 (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE),
             "rights_base lacks FD_READ or FD_WRITE");

  check_errno("fd_fdstat_set_flags.append", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND), 0);
  memset(&fs, 0, sizeof fs);
  (void)__wasi_fd_fdstat_get(fd, &fs);
  check_u64("fd_fdstat_get.append_flag", fs.fs_flags & __WASI_FDFLAGS_APPEND, __WASI_FDFLAGS_APPEND);
  uint64_t before = size_of(fd);
  (void)__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
  e = write_all(fd, "X", 1, &n);
  check_errno("fd_write.append", e, 0);
  check_u64("fd_write.append.size", size_of(fd), before + 1);
  e = pread_str(fd, buf, 1, before, &n);
  check_bytes("fd_write.append.at_end", buf, n, "X", 1);
  e = pread_str(fd, buf, 1, 0, &n);
  check_bytes("fd_write.append.start_untouched", buf, n, "H", 1);
  check_errno("fd_fdstat_set_flags.clear", __wasi_fd_fdstat_set_flags(fd, 0), 0);
  (void)__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
  e = write_all(fd, "J", 1, &n);
  e = pread_str(fd, buf, 2, 0, &n);
  check_bytes("fd_write.no_append", buf, n, "JE", 2);

  /* --- filestat, set_size, set_times ------------------------------------------- */
  __wasi_filestat_t s = st(fd, &e);
  check_errno("fd_filestat_get", e, 0);
  check_u64("fd_filestat_get.filetype", s.filetype, __WASI_FILETYPE_REGULAR_FILE);
  check_u64("fd_filestat_get.size", s.size, 26);
  check_u64("fd_filestat_get.nlink", s.nlink, 1);
  {
    __wasi_filestat_t ps;
    e = __wasi_path_filestat_get(dir, 0, F, &ps);
    check_true("fd_filestat_get.same_as_path", e == 0 && ps.ino == s.ino && ps.dev == s.dev,
               "fd and path report different dev/ino");
  }
  check_errno("fd_filestat_set_size.grow", __wasi_fd_filestat_set_size(fd, 100), 0);
  check_u64("fd_filestat_set_size.grow.size", size_of(fd), 100);
  e = pread_str(fd, buf, 4, 90, &n);
  check_true("fd_filestat_set_size.grow.zeros", e == 0 && n == 4 && !buf[0] && !buf[1] && !buf[2] && !buf[3],
             "grown part is not zero-filled");
  check_errno("fd_filestat_set_size.shrink", __wasi_fd_filestat_set_size(fd, 3), 0);
  check_u64("fd_filestat_set_size.shrink.size", size_of(fd), 3);
  e = pread_str(fd, buf, 10, 0, &n);
  check_bytes("fd_filestat_set_size.shrink.data", buf, n, "JEL", 3);

  const uint64_t AT = 1500000000111111111ull, MT = 1600000000123456789ull;
  check_errno("fd_filestat_set_times",
              __wasi_fd_filestat_set_times(fd, AT, MT, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), 0);
  s = st(fd, &e);
  check_u64("fd_filestat_set_times.mtim_exact", s.mtim, MT);
  check_u64("fd_filestat_set_times.atim_exact", s.atim, AT);
  check_errno("fd_filestat_set_times.mtim_only", __wasi_fd_filestat_set_times(fd, 0, MT + 1000, __WASI_FSTFLAGS_MTIM), 0);
  s = st(fd, &e);
  check_u64("fd_filestat_set_times.mtim_only.mtim", s.mtim, MT + 1000);
  check_u64("fd_filestat_set_times.mtim_only.atim_kept", s.atim, AT);
  check_errno("fd_filestat_set_times.now", __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW), 0);
  {
    __wasi_timestamp_t rt = 0;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt);
    s = st(fd, &e);
    uint64_t d = s.mtim > rt ? s.mtim - rt : rt - s.mtim;
    if (d < 60000000000ull) pass("fd_filestat_set_times.now.value");
    else fail("fd_filestat_set_times.now.value", "mtim off by %llu ns (got %llu want about %llu)",
              (unsigned long long)d, (unsigned long long)s.mtim, (unsigned long long)rt);
  }
  check_errno("fd_filestat_set_times.conflict",
              __wasi_fd_filestat_set_times(fd, 1, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
              __WASI_ERRNO_INVAL);

  /* --- advise, allocate, sync -------------------------------------------------------- */
  check_errno("fd_advise.normal", __wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_NORMAL), 0);
  check_errno("fd_advise.sequential", __wasi_fd_advise(fd, 0, 100, __WASI_ADVICE_SEQUENTIAL), 0);
  check_errno("fd_advise.dontneed", __wasi_fd_advise(fd, 0, 100, __WASI_ADVICE_DONTNEED), 0);
  check_errno("fd_advise.bad_advice", __wasi_fd_advise(fd, 0, 0, 99), __WASI_ERRNO_INVAL);
  e = __wasi_fd_allocate(fd, 0, 4096);
  if (e == 0) {
    uint64_t sz = size_of(fd);
    if (sz >= 4096) pass_note("fd_allocate", "supported, size %llu", (unsigned long long)sz);
    else fail("fd_allocate", "size (got %llu want >= 4096)", (unsigned long long)sz);
    e = pread_str(fd, buf, 3, 0, &n);
    check_bytes("fd_allocate.keeps_data", buf, n, "JEL", 3);
  } else {
    check_errno("fd_allocate", e, __WASI_ERRNO_NOTSUP);
  }
  check_errno("fd_datasync", __wasi_fd_datasync(fd), 0);
  check_errno("fd_sync", __wasi_fd_sync(fd), 0);
  check_errno("fd_prestat_get.not_preopen", ({ __wasi_prestat_t p; __wasi_fd_prestat_get(fd, &p); }),
              __WASI_ERRNO_BADF);

  /* --- read-only fd ------------------------------------------------------------------ */
  __wasi_fd_t ro;
  e = open_at(dir, 0, F, 0, R_RO, 0, &ro);
  uint64_t ro_size = size_of(fd);
  check_errno("path_open.read_only", e, 0);
  if (e == 0) {
    check_errno2("fd_write.read_only_fd", write_all(ro, "z", 1, &n), __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
    check_errno2("fd_filestat_set_size.read_only_fd", __wasi_fd_filestat_set_size(ro, 0),
                 __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
    check_u64("read_only_fd.size_unchanged", size_of(fd), ro_size);
    (void)__wasi_fd_close(ro);
  }

  /* --- renumber, close ------------------------------------------------------------ */
  e = open_at(dir, 0, F2, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_RW, 0, &fd2);
  check_errno("path_open.second", e, 0);
  uint64_t size1 = size_of(fd);
  check_errno("fd_renumber", __wasi_fd_renumber(fd, fd2), 0);
  check_u64("fd_renumber.target_is_file", size_of(fd2), size1);
  {
    __wasi_fdstat_t x;
    check_errno("fd_renumber.source_closed", __wasi_fd_fdstat_get(fd, &x), __WASI_ERRNO_BADF);
  }
  check_errno("fd_renumber.from_closed", __wasi_fd_renumber(fd, fd2), __WASI_ERRNO_BADF);
  check_errno("fd_renumber.to_unopened", __wasi_fd_renumber(fd2, 4000), __WASI_ERRNO_BADF);
  check_errno("fd_close", __wasi_fd_close(fd2), 0);
  check_errno("fd_close.twice", __wasi_fd_close(fd2), __WASI_ERRNO_BADF);
  check_errno("fd_read.closed", read_some(fd2, buf, 4, &n), __WASI_ERRNO_BADF);
  check_errno("fd_write.closed", write_all(fd2, "a", 1, &n), __WASI_ERRNO_BADF);
  check_errno("fd_seek.closed", __wasi_fd_seek(fd2, 0, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_BADF);
  check_errno("fd_filestat_get.closed", ({ __wasi_filestat_t x; __wasi_fd_filestat_get(fd2, &x); }), __WASI_ERRNO_BADF);
  check_errno("fd_close.never_opened", __wasi_fd_close(3999), __WASI_ERRNO_BADF);

  /* --- directories ----------------------------------------------------------------- */
  e = read_some(dir, buf, 4, &n);
  check_errno2("fd_read.dir.errno", e, __WASI_ERRNO_BADF, __WASI_ERRNO_ISDIR);
  e = write_all(dir, "a", 1, &n);
  check_errno2("fd_write.dir", e, __WASI_ERRNO_BADF, __WASI_ERRNO_ISDIR);
  memset(&fs, 0, sizeof fs);
  check_errno("fd_fdstat_get.dir", __wasi_fd_fdstat_get(dir, &fs), 0);
  check_u64("fd_fdstat_get.dir.filetype", fs.fs_filetype, __WASI_FILETYPE_DIRECTORY);

  check_errno("path_create_directory", __wasi_path_create_directory(dir, D), 0);
  check_errno("readdir.setup.alpha", put_file(dir, D "/alpha", "1"), 0);
  check_errno("readdir.setup.beta", put_file(dir, D "/beta", "22"), 0);
  check_errno("readdir.setup.gamma", __wasi_path_create_directory(dir, D "/gamma"), 0);
  __wasi_fd_t dfd;
  e = open_dir(dir, D, &dfd);
  check_errno("path_open.dir", e, 0);
  if (e == 0) {
    static uint8_t dbuf[4096];
    size_t used = 0;
    e = __wasi_fd_readdir(dfd, dbuf, sizeof dbuf, 0, &used);
    check_errno("fd_readdir", e, 0);
    int seen_dot = 0, seen_dotdot = 0, seen_a = 0, seen_b = 0, seen_g = 0, other = 0, types_ok = 1,
        ino_ok = 1;
    size_t off = 0;
    __wasi_dircookie_t second_cookie = 0;
    int idx = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, dbuf + off, sizeof d);
      const char *nm = (const char *)dbuf + off + sizeof d;
      char name[64] = {0};
      memcpy(name, nm, d.d_namlen < 63 ? d.d_namlen : 63);
      if (!strcmp(name, ".")) seen_dot++;
      else if (!strcmp(name, "..")) seen_dotdot++;
      else if (!strcmp(name, "alpha")) { seen_a++; types_ok &= d.d_type == __WASI_FILETYPE_REGULAR_FILE; }
      else if (!strcmp(name, "beta")) { seen_b++; types_ok &= d.d_type == __WASI_FILETYPE_REGULAR_FILE; }
      else if (!strcmp(name, "gamma")) { seen_g++; types_ok &= d.d_type == __WASI_FILETYPE_DIRECTORY; }
      else other++;
      if (!strcmp(name, "alpha") || !strcmp(name, "gamma")) {
        char p[64];
        __wasi_filestat_t fst;
        snprintf(p, sizeof p, D "/%s", name);
        if (__wasi_path_filestat_get(dir, 0, p, &fst) != 0 || fst.ino != d.d_ino) ino_ok = 0;
      }
      if (++idx == 2) second_cookie = d.d_next;
      off += sizeof d + d.d_namlen;
    }
    check_true("fd_readdir.names", seen_a == 1 && seen_b == 1 && seen_g == 1 && other == 0,
               "want alpha, beta, gamma exactly once and nothing else");
    check_true("fd_readdir.dot_entries", seen_dot == 1 && seen_dotdot == 1, "want . and .. once each");
    check_true("fd_readdir.types", types_ok, "d_type wrong for a file or a directory");
    check_true("fd_readdir.d_ino", ino_ok, "d_ino differs from path_filestat_get ino");

    /* resume from the second entry's cookie: exactly the entries after it */
    if (second_cookie) {
      size_t used2 = 0;
      static uint8_t dbuf2[4096];
      e = __wasi_fd_readdir(dfd, dbuf2, sizeof dbuf2, second_cookie, &used2);
      int rest = 0;
      for (off = 0; off + sizeof(__wasi_dirent_t) <= used2; rest++) {
        __wasi_dirent_t d;
        memcpy(&d, dbuf2 + off, sizeof d);
        off += sizeof d + d.d_namlen;
      }
      check_u64("fd_readdir.resume_cookie", rest, idx - 2);
    } else {
      fail("fd_readdir.resume_cookie", "fewer than 2 entries (got %d want 5)", idx);
    }

    /* tiny buffers: every name exactly once across many calls */
    /* 29 = one dirent header + "alpha", the longest name */
    size_t sizes[] = {29, 32, 40, 60, 100};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      char names[256];
      char nm[64];
      int calls = read_dir_small(dfd, sizes[i], names, sizeof names);
      snprintf(nm, sizeof nm, "fd_readdir.small_buffer_%zu", sizes[i]);
      int good = calls > 0 && count_lines(names) == 5 && list_has(names, ".") && list_has(names, "..") &&
                 list_has(names, "alpha") && list_has(names, "beta") && list_has(names, "gamma");
      if (good) pass_note(nm, "%d calls", calls);
      else fail(nm, "names (got \"%s\" after %d calls want . .. alpha beta gamma)", names, calls);
    }
    e = __wasi_fd_readdir(dfd, dbuf, sizeof dbuf, 1000000, &used);
    check_true("fd_readdir.cookie_past_end", e == 0 && used == 0, "want success with 0 bytes");
    __wasi_prestat_t pst;
    check_errno("fd_prestat_get.non_preopen_dir", __wasi_fd_prestat_get(dfd, &pst), __WASI_ERRNO_BADF);
    (void)__wasi_fd_close(dfd);
  }
  {
    __wasi_fd_t ffd;
    if (open_at(dir, 0, D "/alpha", 0, R_RO, 0, &ffd) == 0) {
      static uint8_t dbuf[256];
      size_t used;
      /* wasmtime says NOTDIR; a runtime that checks rights says NOTCAPABLE */
      check_errno3("fd_readdir.on_file", __wasi_fd_readdir(ffd, dbuf, sizeof dbuf, 0, &used),
                   __WASI_ERRNO_NOTDIR, __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
      (void)__wasi_fd_close(ffd);
    }
  }

  /* --- stdio ----------------------------------------------------------------------- */
  memset(&fs, 0, sizeof fs);
  check_errno("fd_fdstat_get.stdout", __wasi_fd_fdstat_get(1, &fs), 0);
  check_true("fd_fdstat_get.stdout.rights", (fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0,
             "stdout lacks FD_WRITE");
  fflush(stdout);
  e = write_all(1, "# raw write to fd 1\n", 20, &n);
  check_errno("fd_write.stdout", e, 0);
  check_u64("fd_write.stdout.n", n, 20);
  __wasi_prestat_t pst;
  check_errno("fd_prestat_get.stdout", __wasi_fd_prestat_get(1, &pst), __WASI_ERRNO_BADF);
  check_errno("fd_fdstat_get.unopened", __wasi_fd_fdstat_get(3999, &fs), __WASI_ERRNO_BADF);

  /* cleanup */
  (void)__wasi_path_unlink_file(dir, F);
  (void)__wasi_path_unlink_file(dir, F2);
  (void)__wasi_path_unlink_file(dir, D "/alpha");
  (void)__wasi_path_unlink_file(dir, D "/beta");
  (void)__wasi_path_remove_directory(dir, D "/gamma");
  check_errno("cleanup.dir", __wasi_path_remove_directory(dir, D), 0);
  (void)fd;
  return guest_end();
}
