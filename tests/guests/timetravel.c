/* For `wtm replay --until N --inspect`: opens files in a known order through the preopen named
 * argv[1], so a test can stop after any call and check the fds the guest had open there.
 *
 *   a.txt  read-only          (must exist: its first 16 bytes are read into `marker`)
 *   b.txt  read-only          (must exist), closed after a.txt is read
 *   c.txt  CREAT|TRUNC write  (gets b.txt's fd number), 5 bytes written
 *   a.txt  seeked back to 2
 *   d.txt  CREAT|APPEND write, 1 byte written
 *
 * Then a marker string built at run time is put in memory and "done" printed. No output
 * before the end, so the calls are exactly: prestat lookups, then the opens above. */
#include "common.h"

static char marker[64];
static char from_file[17];

int main(int argc, char **argv) {
  int dir = work_dir_or_exit(argc, argv);
  __wasi_fd_t a, b, c, d;
  size_t n;
  if (open_at(dir, 0, "a.txt", 0, R_RO, 0, &a) != 0) return 2;
  if (open_at(dir, 0, "sub/../b.txt", 0, R_RO, 0, &b) != 0) return 3;
  if (read_some(a, from_file, 16, &n) != 0 || n != 16) return 4;
  if (__wasi_fd_close(b) != 0) return 5;
  if (open_at(dir, 0, "c.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_RW, 0, &c) != 0) return 6;
  if (write_all(c, "hello", 5, &n) != 0 || n != 5) return 7;
  __wasi_filesize_t pos;
  if (__wasi_fd_seek(a, 2, __WASI_WHENCE_SET, &pos) != 0 || pos != 2) return 8;
  if (open_at(dir, 0, "d.txt", __WASI_OFLAGS_CREAT, R_RW, __WASI_FDFLAGS_APPEND, &d) != 0) return 9;
  if (write_all(d, "x", 1, &n) != 0 || n != 1) return 10;
  /* Built at run time: only a memory dump taken after this point holds it. */
  strcpy(marker, "WTM-TIMETRAVEL-");
  for (int i = 0; i < 8; i++) marker[15 + i] = (char)('A' + (int)((a + 7 * i) % 26));
  printf("done %s %s\n", from_file, marker);
  return 0;
}
