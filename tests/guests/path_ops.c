/* path_* calls: create/remove directories, unlink, rename, link, symlink, readlink,
 * filestat, set_times, path_open flags, trailing slashes, "..", loops, long chains.
 * argv[1]: a writable preopened directory (e.g. /work). Everything happens inside
 * its subdirectory path_ops.d/, which the guest creates and removes. */
#include "common.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define TOP "path_ops.d"

static int T; /* fd of TOP */

static void rm_rf(int dirfd, const char *path) {
  __wasi_filestat_t s;
  if (__wasi_path_filestat_get(dirfd, 0, path, &s) != 0) return;
  if (s.filetype != __WASI_FILETYPE_DIRECTORY) {
    (void)__wasi_path_unlink_file(dirfd, path);
    return;
  }
  __wasi_fd_t fd;
  if (open_dir(dirfd, path, &fd) == 0) {
    static char names[16][4096];
    static int depth;
    char *list = names[depth++ % 16];
    if (list_dir_fd(fd, list, 4096) == 0) {
      char *p = list;
      while (*p) {
        char *nl = strchr(p, '\n');
        *nl = 0;
        if (strcmp(p, ".") && strcmp(p, "..")) {
          char child[1024];
          snprintf(child, sizeof child, "%s/%s", path, p);
          rm_rf(dirfd, child);
        }
        p = nl + 1;
      }
    }
    depth--;
    (void)__wasi_fd_close(fd);
  }
  (void)__wasi_path_remove_directory(dirfd, path);
}

static __wasi_filestat_t stat_at(__wasi_lookupflags_t fl, const char *path, __wasi_errno_t *e) {
  __wasi_filestat_t s;
  memset(&s, 0, sizeof s);
  *e = __wasi_path_filestat_get(T, fl, path, &s);
  return s;
}

static int exists(const char *path) {
  __wasi_errno_t e;
  stat_at(0, path, &e);
  return e == 0;
}

static void content_is(const char *name, const char *path, const char *want) {
  char buf[256];
  size_t n;
  __wasi_errno_t e = get_file(T, FOLLOW, path, buf, sizeof buf, &n);
  if (e) fail(name, "open %s (got %s want SUCCESS)", path, errname(e));
  else check_bytes(name, buf, n, want, strlen(want));
}

static __wasi_errno_t try_open(__wasi_lookupflags_t fl, const char *path, __wasi_oflags_t of,
                               __wasi_rights_t rights) {
  __wasi_fd_t fd;
  __wasi_errno_t e = open_at(T, fl, path, of, rights, 0, &fd);
  if (e == 0) (void)__wasi_fd_close(fd);
  return e;
}

static __wasi_errno_t readlink_s(const char *path, char *buf, size_t cap, size_t *used) {
  memset(buf, 0, cap);
  *used = 0;
  return __wasi_path_readlink(T, path, (uint8_t *)buf, cap, used);
}

static void make_chain(const char *prefix, int links) {
  char name[64], target[64];
  for (int i = 0; i < links; i++) {
    snprintf(name, sizeof name, "%s_%d", prefix, i);
    if (i == links - 1) snprintf(target, sizeof target, "chain_target");
    else snprintf(target, sizeof target, "%s_%d", prefix, i + 1);
    (void)__wasi_path_symlink(target, T, name);
  }
}

int main(int argc, char **argv) {
  guest_begin("path_ops");
  int dir = work_dir_or_exit(argc, argv);
  __wasi_errno_t e;
  __wasi_filestat_t s;
  char buf[256];
  size_t n;

  rm_rf(dir, TOP);
  if (!check_errno("setup.mkdir", __wasi_path_create_directory(dir, TOP), 0)) return guest_end();
  __wasi_fd_t tfd;
  if (!check_errno("setup.open", open_dir(dir, TOP, &tfd), 0)) return guest_end();
  T = (int)tfd;
  check_errno("setup.file", put_file(T, "f", "hello"), 0);

  /* --- create_directory / remove_directory ---------------------------------------- */
  check_errno("path_create_directory", __wasi_path_create_directory(T, "d"), 0);
  s = stat_at(0, "d", &e);
  check_u64("path_create_directory.is_dir", s.filetype, __WASI_FILETYPE_DIRECTORY);
  check_errno("path_create_directory.exists", __wasi_path_create_directory(T, "d"), __WASI_ERRNO_EXIST);
  check_errno("path_create_directory.over_file", __wasi_path_create_directory(T, "f"), __WASI_ERRNO_EXIST);
  check_errno("path_create_directory.missing_parent", __wasi_path_create_directory(T, "nope/d"), __WASI_ERRNO_NOENT);
  check_errno("path_create_directory.parent_is_file", __wasi_path_create_directory(T, "f/d"), __WASI_ERRNO_NOTDIR);
  check_errno("path_create_directory.trailing_slash", __wasi_path_create_directory(T, "d2/"), 0);
  check_errno("setup.d_x", put_file(T, "d/x", "x"), 0);
  check_errno("path_remove_directory.not_empty", __wasi_path_remove_directory(T, "d"), __WASI_ERRNO_NOTEMPTY);
  check_errno("path_remove_directory.file", __wasi_path_remove_directory(T, "f"), __WASI_ERRNO_NOTDIR);
  check_errno("path_remove_directory.missing", __wasi_path_remove_directory(T, "nope"), __WASI_ERRNO_NOENT);
  check_errno("path_remove_directory", __wasi_path_remove_directory(T, "d2"), 0);
  check_true("path_remove_directory.gone", !exists("d2"), "d2 still exists");

  /* --- unlink_file -------------------------------------------------------------------- */
  check_errno("path_unlink_file.dir", __wasi_path_unlink_file(T, "d"), __WASI_ERRNO_ISDIR);
  check_errno("path_unlink_file.missing", __wasi_path_unlink_file(T, "nope"), __WASI_ERRNO_NOENT);
  check_errno("path_unlink_file.trailing_slash", __wasi_path_unlink_file(T, "f/"), __WASI_ERRNO_NOTDIR);
  check_true("path_unlink_file.trailing_slash.kept", exists("f"), "f was removed");
  check_errno("setup.sl_f", __wasi_path_symlink("f", T, "sl_f"), 0);
  check_errno("path_unlink_file.symlink", __wasi_path_unlink_file(T, "sl_f"), 0);
  check_true("path_unlink_file.symlink.link_gone", !exists("sl_f"), "link still exists");
  check_true("path_unlink_file.symlink.target_kept", exists("f"), "target was removed");
  check_errno("setup.victim", put_file(T, "victim", "v"), 0);
  check_errno("path_unlink_file", __wasi_path_unlink_file(T, "victim"), 0);
  check_true("path_unlink_file.gone", !exists("victim"), "file still exists");

  /* --- rename ------------------------------------------------------------------------- */
  (void)put_file(T, "r1", "one");
  (void)put_file(T, "r2", "two");
  check_errno("path_rename.file_over_file", __wasi_path_rename(T, "r1", T, "r2"), 0);
  content_is("path_rename.file_over_file.content", "r2", "one");
  check_true("path_rename.file_over_file.source_gone", !exists("r1"), "r1 still exists");
  (void)__wasi_path_create_directory(T, "rd1");
  (void)put_file(T, "rd1/inner", "in");
  (void)__wasi_path_create_directory(T, "rd2");
  check_errno("path_rename.dir_over_empty_dir", __wasi_path_rename(T, "rd1", T, "rd2"), 0);
  content_is("path_rename.dir_over_empty_dir.content", "rd2/inner", "in");
  check_true("path_rename.dir_over_empty_dir.source_gone", !exists("rd1"), "rd1 still exists");
  (void)__wasi_path_create_directory(T, "rd3");
  check_errno("path_rename.dir_over_nonempty_dir", __wasi_path_rename(T, "rd3", T, "rd2"), __WASI_ERRNO_NOTEMPTY);
  check_true("path_rename.dir_over_nonempty_dir.kept", exists("rd3") && exists("rd2/inner"), "a directory changed");
  check_errno("path_rename.missing", __wasi_path_rename(T, "nope", T, "r3"), __WASI_ERRNO_NOENT);
  check_errno("path_rename.file_over_dir", __wasi_path_rename(T, "r2", T, "rd3"), __WASI_ERRNO_ISDIR);
  check_errno("path_rename.dir_over_file", __wasi_path_rename(T, "rd3", T, "r2"), __WASI_ERRNO_NOTDIR);
  check_errno("path_rename.into_itself", __wasi_path_rename(T, "rd2", T, "rd2/sub"), __WASI_ERRNO_INVAL);
  check_errno("path_rename.same_name", __wasi_path_rename(T, "r2", T, "r2"), 0);
  content_is("path_rename.same_name.content", "r2", "one");
  check_errno("path_rename.into_subdir", __wasi_path_rename(T, "r2", T, "rd2/r2"), 0);
  content_is("path_rename.into_subdir.content", "rd2/r2", "one");
  check_errno("path_rename.trailing_slash_file", __wasi_path_rename(T, "rd2/r2/", T, "r9"), __WASI_ERRNO_NOTDIR);

  /* --- link ------------------------------------------------------------------------- */
  check_errno("path_link", __wasi_path_link(T, 0, "f", T, "f_hard"), 0);
  __wasi_filestat_t s1 = stat_at(0, "f", &e), s2 = stat_at(0, "f_hard", &e);
  check_u64("path_link.nlink", s1.nlink, 2);
  check_true("path_link.same_inode", s1.ino == s2.ino && s1.dev == s2.dev, "different dev/ino");
  content_is("path_link.content", "f_hard", "hello");
  check_errno("path_link.exists", __wasi_path_link(T, 0, "f", T, "f_hard"), __WASI_ERRNO_EXIST);
  check_errno("path_link.missing", __wasi_path_link(T, 0, "nope", T, "nope2"), __WASI_ERRNO_NOENT);
  check_errno("path_link.dir", __wasi_path_link(T, 0, "d", T, "d_hard"), __WASI_ERRNO_PERM);
  (void)__wasi_path_unlink_file(T, "f_hard");
  s1 = stat_at(0, "f", &e);
  check_u64("path_link.nlink_after_unlink", s1.nlink, 1);

  /* --- symlink / readlink ------------------------------------------------------------ */
  (void)put_file(T, "target.txt", "12345");
  check_errno("path_symlink", __wasi_path_symlink("target.txt", T, "sl"), 0);
  e = readlink_s("sl", buf, 64, &n);
  check_errno("path_readlink", e, 0);
  check_bytes("path_readlink.bytes", buf, n, "target.txt", 10);
  memset(buf, 0, sizeof buf);
  n = 0;
  e = __wasi_path_readlink(T, "sl", (uint8_t *)buf, 4, &n);
  check_errno("path_readlink.small_buffer", e, 0);
  check_bytes("path_readlink.small_buffer.truncated", buf, n, "targ", 4);
  check_true("path_readlink.small_buffer.no_overrun", buf[4] == 0, "wrote past buf_len");
  check_errno("path_readlink.not_link", readlink_s("f", buf, 64, &n), __WASI_ERRNO_INVAL);
  check_errno("path_readlink.missing", readlink_s("nope", buf, 64, &n), __WASI_ERRNO_NOENT);
  check_errno("path_symlink.exists", __wasi_path_symlink("x", T, "sl"), __WASI_ERRNO_EXIST);
  check_errno("path_symlink.dangling", __wasi_path_symlink("nothere", T, "dangle"), 0);
  e = readlink_s("dangle", buf, 64, &n);
  check_bytes("path_readlink.dangling", buf, n, "nothere", 7);
  check_errno("path_symlink.dotdot_target_allowed", __wasi_path_symlink("../" TOP "/f", T, "sl_up"), 0);
  e = __wasi_path_symlink("/etc/passwd", T, "sl_abs");
  check_errno2("path_symlink.absolute_target", e, __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_PERM);
  check_true("path_symlink.absolute_target.not_created", !exists("sl_abs"), "sl_abs exists");

  /* --- filestat with and without follow ---------------------------------------------- */
  s = stat_at(FOLLOW, "sl", &e);
  check_errno("path_filestat_get.follow", e, 0);
  check_u64("path_filestat_get.follow.type", s.filetype, __WASI_FILETYPE_REGULAR_FILE);
  check_u64("path_filestat_get.follow.size", s.size, 5);
  s = stat_at(0, "sl", &e);
  check_errno("path_filestat_get.nofollow", e, 0);
  check_u64("path_filestat_get.nofollow.type", s.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
  check_u64("path_filestat_get.nofollow.size", s.size, 10);
  s = stat_at(0, "d", &e);
  check_u64("path_filestat_get.dir", s.filetype, __WASI_FILETYPE_DIRECTORY);
  stat_at(0, "nope", &e);
  check_errno("path_filestat_get.missing", e, __WASI_ERRNO_NOENT);
  stat_at(FOLLOW, "dangle", &e);
  check_errno("path_filestat_get.dangling_follow", e, __WASI_ERRNO_NOENT);

  /* --- filestat_set_times on a path ------------------------------------------------- */
  const uint64_t AT = 1500000000111111111ull, MT = 1600000000123456789ull;
  e = __wasi_path_filestat_set_times(T, 0, "target.txt", AT, MT, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM);
  check_errno("path_filestat_set_times", e, 0);
  s = stat_at(0, "target.txt", &e);
  check_u64("path_filestat_set_times.mtim_exact", s.mtim, MT);
  check_u64("path_filestat_set_times.atim_exact", s.atim, AT);
  e = __wasi_path_filestat_set_times(T, FOLLOW, "sl", 0, MT + 5, __WASI_FSTFLAGS_MTIM);
  check_errno("path_filestat_set_times.follow", e, 0);
  s = stat_at(0, "target.txt", &e);
  check_u64("path_filestat_set_times.follow.target_mtim", s.mtim, MT + 5);
  e = __wasi_path_filestat_set_times(T, 0, "sl", 0, MT + 7000, __WASI_FSTFLAGS_MTIM);
  check_errno("path_filestat_set_times.nofollow", e, 0);
  s = stat_at(0, "sl", &e);
  check_u64("path_filestat_set_times.nofollow.link_mtim", s.mtim, MT + 7000);
  s = stat_at(0, "target.txt", &e);
  check_u64("path_filestat_set_times.nofollow.target_kept", s.mtim, MT + 5);
  e = __wasi_path_filestat_set_times(T, 0, "nope", 0, MT, __WASI_FSTFLAGS_MTIM);
  check_errno("path_filestat_set_times.missing", e, __WASI_ERRNO_NOENT);

  /* --- path_open flags ---------------------------------------------------------------- */
  check_errno("path_open.creat", try_open(0, "p1", __WASI_OFLAGS_CREAT, R_RW), 0);
  check_true("path_open.creat.exists", exists("p1"), "p1 missing");
  check_errno("path_open.creat_existing", try_open(0, "p1", __WASI_OFLAGS_CREAT, R_RW), 0);
  check_errno("path_open.excl", try_open(0, "p1", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW), __WASI_ERRNO_EXIST);
  (void)put_file(T, "p2", "some content");
  check_errno("path_open.trunc", try_open(0, "p2", __WASI_OFLAGS_TRUNC, R_RW), 0);
  s = stat_at(0, "p2", &e);
  check_u64("path_open.trunc.size", s.size, 0);
  check_errno("path_open.missing", try_open(0, "nope", 0, R_RO), __WASI_ERRNO_NOENT);
  check_errno("path_open.directory_on_file", try_open(0, "f", __WASI_OFLAGS_DIRECTORY, R_RO), __WASI_ERRNO_NOTDIR);
  {
    __wasi_fd_t fd;
    __wasi_fdstat_t fs;
    e = open_at(T, 0, "d", __WASI_OFLAGS_DIRECTORY, R_RO, 0, &fd);
    check_errno("path_open.directory", e, 0);
    if (e == 0) {
      (void)__wasi_fd_fdstat_get(fd, &fs);
      check_u64("path_open.directory.filetype", fs.fs_filetype, __WASI_FILETYPE_DIRECTORY);
      (void)__wasi_fd_close(fd);
    }
  }
  check_errno("path_open.dir_for_write", try_open(0, "d", 0, R_RW), __WASI_ERRNO_ISDIR);
  check_errno("path_open.empty_path", try_open(0, "", 0, R_RO), __WASI_ERRNO_NOENT);
  check_errno("path_open.nofollow_symlink", try_open(0, "sl", 0, R_RO), __WASI_ERRNO_LOOP);
  (void)__wasi_path_symlink("d", T, "sld");
  check_errno2("path_open.nofollow_symlink_dir", try_open(0, "sld", __WASI_OFLAGS_DIRECTORY, R_RO),
               __WASI_ERRNO_LOOP, __WASI_ERRNO_NOTDIR);
  content_is("path_open.follow_symlink", "sl", "12345");
  content_is("path_open.symlink_dir_component", "sld/x", "x");
  check_errno("path_open.dangling_creat", try_open(FOLLOW, "dangle", __WASI_OFLAGS_CREAT, R_RW), 0);
  check_true("path_open.dangling_creat.created_target", exists("nothere"), "nothere was not created");
  s = stat_at(0, "dangle", &e);
  check_u64("path_open.dangling_creat.link_kept", s.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
  (void)__wasi_path_symlink("nothere2", T, "dangle2");
  check_errno("path_open.dangling_creat_excl",
              try_open(FOLLOW, "dangle2", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW), __WASI_ERRNO_EXIST);
  check_true("path_open.dangling_creat_excl.nothing_created", !exists("nothere2"), "nothere2 created");

  /* --- trailing slashes ---------------------------------------------------------------- */
  check_errno("trailing_slash.open_file", try_open(FOLLOW, "f/", 0, R_RO), __WASI_ERRNO_NOTDIR);
  stat_at(FOLLOW, "f/", &e);
  check_errno("trailing_slash.stat_file", e, __WASI_ERRNO_NOTDIR);
  check_errno2("trailing_slash.creat_file", try_open(FOLLOW, "newfile/", __WASI_OFLAGS_CREAT, R_RW),
               __WASI_ERRNO_ISDIR, __WASI_ERRNO_NOTDIR);
  check_true("trailing_slash.creat_file.not_created", !exists("newfile"), "newfile was created");
  check_errno("trailing_slash.open_dir", try_open(FOLLOW, "d/", __WASI_OFLAGS_DIRECTORY, R_RO), 0);
  s = stat_at(0, "sld/", &e);
  check_errno("trailing_slash.symlink_to_dir", e, 0);
  check_u64("trailing_slash.symlink_to_dir.followed", s.filetype, __WASI_FILETYPE_DIRECTORY);

  /* --- ".." and "." inside the tree ---------------------------------------------------- */
  (void)__wasi_path_create_directory(T, "a");
  (void)put_file(T, "b", "bee");
  content_is("dotdot.a_up_b", "a/../b", "bee");
  content_is("dotdot.a_dot_up_b", "a/./../b", "bee");
  content_is("dotdot.double_slash", "a//..//b", "bee");
  content_is("dotdot.dot_b", "./b", "bee");
  content_is("dotdot.via_symlink_dir", "sld/../b", "bee");
  {
    __wasi_filestat_t self;
    (void)__wasi_fd_filestat_get(T, &self);
    s = stat_at(0, "a/..", &e);
    check_true("dotdot.a_up_is_self", e == 0 && s.ino == self.ino && s.dev == self.dev,
               "a/.. is not the directory itself");
    s = stat_at(0, ".", &e);
    check_true("dot.is_self", e == 0 && s.ino == self.ino, ". is not the directory itself");
  }
  check_errno("dotdot.missing_component", try_open(0, "nope/../b", 0, R_RO), __WASI_ERRNO_NOENT);
  check_errno("dotdot.file_component", try_open(0, "b/../b", 0, R_RO), __WASI_ERRNO_NOTDIR);
  check_errno("dotdot.above_fd", try_open(0, "..", __WASI_OFLAGS_DIRECTORY, R_RO), __WASI_ERRNO_NOTCAPABLE);
  check_errno("dotdot.above_fd_and_back", try_open(0, "../" TOP "/b", 0, R_RO), __WASI_ERRNO_NOTCAPABLE);
  check_errno("dotdot.a_up_up", try_open(0, "a/../..", __WASI_OFLAGS_DIRECTORY, R_RO), __WASI_ERRNO_NOTCAPABLE);
  {
    __wasi_fd_t x;
    e = open_at(dir, 0, "..", __WASI_OFLAGS_DIRECTORY, R_RO, 0, &x);
    if (e == 0) (void)__wasi_fd_close(x);
    check_errno("dotdot.above_preopen", e, __WASI_ERRNO_NOTCAPABLE);
  }
  check_errno("dotdot.stat_above_fd", ({ stat_at(0, "../" TOP, &e); e; }), __WASI_ERRNO_NOTCAPABLE);
  check_errno("dotdot.mkdir_above_fd", __wasi_path_create_directory(T, "../escape_dir"), __WASI_ERRNO_NOTCAPABLE);
  check_errno("absolute.open", try_open(0, "/b", 0, R_RO), __WASI_ERRNO_NOTCAPABLE);
  check_errno("absolute.stat", ({ stat_at(0, "/", &e); e; }), __WASI_ERRNO_NOTCAPABLE);
  check_errno("absolute.mkdir", __wasi_path_create_directory(T, "/abs_dir"), __WASI_ERRNO_NOTCAPABLE);
  /* sl_up -> ../path_ops.d/f climbs above T and comes back. wasmtime confines
   * symlinks to the fd (NOTCAPABLE); wtm follows them inside the guest's whole
   * tree (then the file is read). Either is fine here; escape.c tests leaving. */
  {
    size_t got = 0;
    e = get_file(T, FOLLOW, "sl_up", buf, sizeof buf, &got);
    if (e == __WASI_ERRNO_NOTCAPABLE) pass_note("dotdot.symlink_above_fd", "NOTCAPABLE");
    else if (e == 0 && got == 5 && !memcmp(buf, "hello", 5)) pass_note("dotdot.symlink_above_fd", "followed within the tree");
    else fail("dotdot.symlink_above_fd", "(got %s \"%s\" want NOTCAPABLE or the content hello)", errname(e), buf);
  }

  /* --- loops and chains ------------------------------------------------------------- */
  (void)__wasi_path_symlink("l2", T, "l1");
  (void)__wasi_path_symlink("l1", T, "l2");
  check_errno("loop.open", try_open(FOLLOW, "l1", 0, R_RO), __WASI_ERRNO_LOOP);
  stat_at(FOLLOW, "l1", &e);
  check_errno("loop.stat_follow", e, __WASI_ERRNO_LOOP);
  s = stat_at(0, "l1", &e);
  check_u64("loop.stat_nofollow", s.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
  check_errno("loop.as_directory", try_open(0, "l1/x", 0, R_RO), __WASI_ERRNO_LOOP);
  check_errno("loop.creat", try_open(FOLLOW, "l1", __WASI_OFLAGS_CREAT, R_RW), __WASI_ERRNO_LOOP);
  (void)__wasi_path_symlink("self", T, "self");
  check_errno("loop.self", try_open(FOLLOW, "self", 0, R_RO), __WASI_ERRNO_LOOP);

  (void)put_file(T, "chain_target", "end");
  make_chain("c41", 41);
  make_chain("c40", 40);
  make_chain("c39", 39);
  check_errno("chain.41_links", try_open(FOLLOW, "c41_0", 0, R_RO), __WASI_ERRNO_LOOP);
  stat_at(FOLLOW, "c41_0", &e);
  check_errno("chain.41_links.stat", e, __WASI_ERRNO_LOOP);
  content_is("chain.40_links", "c40_0", "end");
  content_is("chain.39_links", "c39_0", "end");
  s = stat_at(FOLLOW, "c39_0", &e);
  check_u64("chain.39_links.stat", s.size, 3);

  /* Last, because node:wasi (uvwasi) returns from this error without releasing a
   * lock, and every later call on the fd table then hangs. */
  e = __wasi_path_filestat_set_times(T, 0, "target.txt", 1, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW);
  check_errno("path_filestat_set_times.conflict", e, __WASI_ERRNO_INVAL);

  /* --- cleanup ------------------------------------------------------------------------- */
  (void)__wasi_fd_close(tfd);
  rm_rf(dir, TOP);
  check_true("cleanup", ({ __wasi_filestat_t x; __wasi_path_filestat_get(dir, 0, TOP, &x) == __WASI_ERRNO_NOENT; }),
             TOP " still exists");
  (void)buf;
  return guest_end();
}
