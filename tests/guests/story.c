/* A guest whose file-system calls are known in advance, for the trace views (tests/trace.test.js).
 * In the preopen named argv[1] it: creates story.txt (CREAT|TRUNC), writes "hello trace\n",
 * seeks to 0, reads 5 bytes, closes it, renames it to renamed.txt, fails to open missing.txt
 * (NOENT), creates the directory sub, opens renamed.txt again and reads it whole, closes it,
 * unlinks renamed.txt, then writes "story done\n" to stdout. Exit 0, or 1 if a step went wrong. */
#include "common.h"

static void must(int ok, const char *what) {
  if (!ok) {
    size_t n;
    write_all(2, what, strlen(what), &n);
    write_all(2, "\n", 1, &n);
    exit(1);
  }
}

int main(int argc, char **argv) {
  int dir = work_dir_or_exit(argc, argv);
  __wasi_fd_t fd;
  size_t n;
  char buf[64];
  must(open_at(dir, 0, "story.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_RW, 0, &fd) == 0, "open story.txt");
  must(write_all(fd, "hello trace\n", 12, &n) == 0 && n == 12, "write");
  __wasi_filesize_t off;
  must(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &off) == 0 && off == 0, "seek");
  must(read_some(fd, buf, 5, &n) == 0 && n == 5, "read 5");
  must(__wasi_fd_close(fd) == 0, "close");
  must(__wasi_path_rename(dir, "story.txt", dir, "renamed.txt") == 0, "rename");
  must(open_at(dir, 0, "missing.txt", 0, R_RO, 0, &fd) == __WASI_ERRNO_NOENT, "missing.txt is NOENT");
  must(__wasi_path_create_directory(dir, "sub") == 0, "mkdir sub");
  must(open_at(dir, 0, "renamed.txt", 0, R_RO, 0, &fd) == 0, "open renamed.txt");
  must(read_some(fd, buf, sizeof buf, &n) == 0 && n == 12, "read whole");
  must(read_some(fd, buf, sizeof buf, &n) == 0 && n == 0, "read at end");
  must(__wasi_fd_close(fd) == 0, "close 2");
  must(__wasi_path_unlink_file(dir, "renamed.txt") == 0, "unlink");
  must(write_all(1, "story done\n", 11, &n) == 0, "stdout");
  return 0;
}
