/* A read-only mount: reads work, every write-type call fails with ROFS at the call itself,
 * as on a Linux read-only bind mount (fds there keep their rights, so never NOTCAPABLE for a
 * right the guest asked for), and changes nothing.
 * argv[1]: the guest path of a read-only mount (e.g. /ro) that holds exactly
 *   data.txt  containing "readonly data\n"
 *   sub/      an empty directory */
#include "common.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define DATA "readonly data\n"

static int R;
static char initial[8192];

/* Everything that a write could change, as one string. */
static void fingerprint(char *out, size_t cap) {
  char list[2048] = "", sublist[2048] = "", content[256] = "";
  size_t n = 0;
  __wasi_fd_t fd;
  if (open_dir(R, ".", &fd) == 0) {
    (void)list_dir_fd(fd, list, sizeof list);
    (void)__wasi_fd_close(fd);
  }
  if (open_dir(R, "sub", &fd) == 0) {
    (void)list_dir_fd(fd, sublist, sizeof sublist);
    (void)__wasi_fd_close(fd);
  }
  (void)get_file(R, 0, "data.txt", content, sizeof content, &n);
  __wasi_filestat_t d, s;
  memset(&d, 0, sizeof d);
  memset(&s, 0, sizeof s);
  (void)__wasi_path_filestat_get(R, 0, "data.txt", &d);
  (void)__wasi_path_filestat_get(R, 0, "sub", &s);
  /* directory listings in readdir order; a read-only tree does not reorder */
  snprintf(out, cap, "root[%s] sub[%s] data[%s] size=%llu mtim=%llu ino=%llu nlink=%llu sub_mtim=%llu",
           list, sublist, content, (unsigned long long)d.size, (unsigned long long)d.mtim,
           (unsigned long long)d.ino, (unsigned long long)d.nlink, (unsigned long long)s.mtim);
  for (char *c = out; *c; c++)
    if (*c == '\n') *c = ' ';
}

static void refused(const char *name, __wasi_errno_t e) {
  char nm[128], now[8192];
  check_errno(name, e, __WASI_ERRNO_ROFS);
  fingerprint(now, sizeof now);
  snprintf(nm, sizeof nm, "%s.unchanged", name);
  if (strcmp(now, initial) == 0) pass(nm);
  else fail(nm, "state (got %s want %s)", now, initial);
}

/* fd-based writes on an fd the guest opened for reading only: it lacks the rights it did not
 * ask for (NOTCAPABLE), or the host says BADF/ROFS. */
static void refused_fd(const char *name, __wasi_errno_t e) {
  char nm[128], now[8192];
  check_errno3(name, e, __WASI_ERRNO_ROFS, __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_BADF);
  fingerprint(now, sizeof now);
  snprintf(nm, sizeof nm, "%s.unchanged", name);
  if (strcmp(now, initial) == 0) pass(nm);
  else fail(nm, "state (got %s want %s)", now, initial);
}

static __wasi_errno_t try_open(__wasi_lookupflags_t fl, const char *path, __wasi_oflags_t of,
                               __wasi_rights_t rights, __wasi_fdflags_t fdflags) {
  __wasi_fd_t fd;
  __wasi_errno_t e = open_at(R, fl, path, of, rights, fdflags, &fd);
  if (e == 0) (void)__wasi_fd_close(fd);
  return e;
}

int main(int argc, char **argv) {
  guest_begin("readonly");
  R = work_dir_or_exit(argc, argv);
  char buf[256];
  size_t n;
  __wasi_errno_t e;

  /* --- reading works --------------------------------------------------------------- */
  e = get_file(R, 0, "data.txt", buf, sizeof buf, &n);
  check_errno("read.open", e, 0);
  check_bytes("read.content", buf, n, DATA, strlen(DATA));
  __wasi_filestat_t st;
  e = __wasi_path_filestat_get(R, 0, "data.txt", &st);
  check_errno("read.stat", e, 0);
  check_u64("read.stat.size", st.size, strlen(DATA));
  e = __wasi_path_filestat_get(R, 0, "sub", &st);
  check_u64("read.stat.sub_is_dir", st.filetype, __WASI_FILETYPE_DIRECTORY);
  {
    __wasi_fd_t fd;
    char list[1024];
    e = open_dir(R, ".", &fd);
    check_errno("read.open_dir", e, 0);
    if (e == 0) {
      check_errno("read.readdir", list_dir_fd(fd, list, sizeof list), 0);
      check_true("read.readdir.names", list_has(list, "data.txt") && list_has(list, "sub"),
                 "data.txt or sub not listed");
      (void)__wasi_fd_close(fd);
    }
  }
  fingerprint(initial, sizeof initial);
  printf("# state: %s\n", initial);

  /* --- every write-type call is refused ---------------------------------------------------- */
  refused("open.write", try_open(0, "data.txt", 0, R_RW, 0));
  refused("open.write_append", try_open(0, "data.txt", 0, R_RW, __WASI_FDFLAGS_APPEND));
  refused("open.create", try_open(0, "new.txt", __WASI_OFLAGS_CREAT, R_RW, 0));
  refused("open.create_readonly_rights", try_open(0, "new2.txt", __WASI_OFLAGS_CREAT, R_RO, 0));
  refused("open.create_excl", try_open(0, "new3.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0));
  refused("open.trunc", try_open(0, "data.txt", __WASI_OFLAGS_TRUNC, R_RW, 0));
  refused("open.trunc_readonly_rights", try_open(0, "data.txt", __WASI_OFLAGS_TRUNC, R_RO, 0));
  refused("open.create_in_sub", try_open(0, "sub/new.txt", __WASI_OFLAGS_CREAT, R_RW, 0));
  refused("mkdir", __wasi_path_create_directory(R, "newdir"));
  refused("mkdir.in_sub", __wasi_path_create_directory(R, "sub/newdir"));
  refused("rmdir", __wasi_path_remove_directory(R, "sub"));
  refused("unlink", __wasi_path_unlink_file(R, "data.txt"));
  refused("rename.file", __wasi_path_rename(R, "data.txt", R, "renamed.txt"));
  refused("rename.dir", __wasi_path_rename(R, "sub", R, "sub2"));
  refused("rename.into_sub", __wasi_path_rename(R, "data.txt", R, "sub/data.txt"));
  refused("link", __wasi_path_link(R, 0, "data.txt", R, "link.txt"));
  refused("symlink", __wasi_path_symlink("data.txt", R, "sym"));
  refused("path_filestat_set_times",
          __wasi_path_filestat_set_times(R, 0, "data.txt", 1, 2, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  refused("path_filestat_set_times.now",
          __wasi_path_filestat_set_times(R, FOLLOW, "data.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  refused("path_filestat_set_times.dir",
          __wasi_path_filestat_set_times(R, 0, "sub", 0, 5, __WASI_FSTFLAGS_MTIM));

  /* fd-based writes through an fd opened for reading */
  __wasi_fd_t fd;
  e = open_at(R, 0, "data.txt", 0, R_RO, 0, &fd);
  check_errno("open.read_only", e, 0);
  if (e == 0) {
    refused_fd("fd_write", write_all(fd, "x", 1, &n));
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    refused_fd("fd_pwrite", __wasi_fd_pwrite(fd, &iov, 1, 0, &n));
    refused_fd("fd_filestat_set_size", __wasi_fd_filestat_set_size(fd, 0));
    refused_fd("fd_filestat_set_size.grow", __wasi_fd_filestat_set_size(fd, 100));
    refused_fd("fd_filestat_set_times",
               __wasi_fd_filestat_set_times(fd, 1, 2, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    e = __wasi_fd_allocate(fd, 0, 4096);
    if (e == __WASI_ERRNO_NOTSUP) {
      /* a runtime without fd_allocate (like wasmtime) refuses it everywhere */
      pass_note("fd_allocate", "NOTSUP");
    } else {
      refused_fd("fd_allocate", e);
    }
    e = __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND);
    if (e == 0) {
      refused_fd("fd_write.after_append_flag", write_all(fd, "x", 1, &n));
    } else {
      refused_fd("fd_fdstat_set_flags.append", e);
    }
    e = read_some(fd, buf, sizeof buf, &n);
    check_errno("fd_read.still_works", e, 0);
    (void)__wasi_fd_close(fd);
  }
  /* fd-based writes on the directory fd */
  /* the preopen has every right: the mount itself answers */
  refused("fd_filestat_set_times.dir_fd",
          __wasi_fd_filestat_set_times(R, 0, 5, __WASI_FSTFLAGS_MTIM));

  {
    char now[8192];
    fingerprint(now, sizeof now);
    if (strcmp(now, initial) == 0) pass("final.unchanged");
    else fail("final.unchanged", "state (got %s want %s)", now, initial);
    e = get_file(R, 0, "data.txt", buf, sizeof buf, &n);
    check_bytes("final.content", buf, n, DATA, strlen(DATA));
  }
  return guest_end();
}
