/* Calls the other guests leave out: fd_fdstat_set_rights (rights only shrink), proc_raise,
 * and the sock_* calls, which have no socket to work on in wtm (no socket preopens).
 * argv[1]: a writable work directory (a preopen). */
#include "common.h"

/* wasi-libc no longer declares proc_raise: import it by hand. */
int32_t raw_proc_raise(int32_t sig) WASI_RAW(proc_raise);

int main(int argc, char **argv) {
  guest_begin("misc");
  int dir = work_dir_or_exit(argc, argv);
  __wasi_fd_t fd;
  check_errno("path_open", __wasi_path_open(dir, 0, "misc.txt", __WASI_OFLAGS_CREAT, R_RW, R_RW, 0, &fd), 0);

  /* fd_fdstat_set_rights: drop write, then writing fails; asking rights back fails. */
  __wasi_fdstat_t st;
  check_errno("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &st), 0);
  __wasi_rights_t keep = st.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE;
  check_errno("fd_fdstat_set_rights.drop", __wasi_fd_fdstat_set_rights(fd, keep, st.fs_rights_inheriting), 0);
  check_errno("fd_fdstat_get.after", __wasi_fd_fdstat_get(fd, &st), 0);
  check_true("fd_fdstat_set_rights.dropped", (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) == 0, "FD_WRITE still set");
  __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
  __wasi_size_t n;
  check_errno2("fd_write.without_right", __wasi_fd_write(fd, &iov, 1, &n), __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_BADF);
  check_errno("fd_fdstat_set_rights.regain", __wasi_fd_fdstat_set_rights(fd, keep | __WASI_RIGHTS_FD_WRITE, st.fs_rights_inheriting), __WASI_ERRNO_NOTCAPABLE);
  check_errno("fd_fdstat_set_rights.badf", __wasi_fd_fdstat_set_rights(999, 0, 0), __WASI_ERRNO_BADF);

  /* proc_raise: signals are not supported in the sandbox. */
  check_errno2("proc_raise", raw_proc_raise(15 /* SIGTERM */), __WASI_ERRNO_NOSYS, __WASI_ERRNO_NOTSUP);

  /* sock_*: a file is not a socket; a closed fd is BADF. */
  __wasi_fd_t nfd;
  check_errno("sock_accept.notsock", __wasi_sock_accept(fd, 0, &nfd), __WASI_ERRNO_NOTSOCK);
  check_errno("sock_accept.badf", __wasi_sock_accept(999, 0, &nfd), __WASI_ERRNO_BADF);
  uint8_t buf[8];
  __wasi_iovec_t riov = {buf, sizeof buf};
  __wasi_roflags_t rof;
  check_errno("sock_recv.notsock", __wasi_sock_recv(fd, &riov, 1, 0, &n, &rof), __WASI_ERRNO_NOTSOCK);
  check_errno("sock_recv.badf", __wasi_sock_recv(999, &riov, 1, 0, &n, &rof), __WASI_ERRNO_BADF);
  check_errno("sock_send.notsock", __wasi_sock_send(fd, &iov, 1, 0, &n), __WASI_ERRNO_NOTSOCK);
  check_errno("sock_send.badf", __wasi_sock_send(999, &iov, 1, 0, &n), __WASI_ERRNO_BADF);
  check_errno("sock_shutdown.notsock", __wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), __WASI_ERRNO_NOTSOCK);
  check_errno("sock_shutdown.badf", __wasi_sock_shutdown(999, __WASI_SDFLAGS_WR), __WASI_ERRNO_BADF);

  check_errno("fd_close", __wasi_fd_close(fd), 0);
  check_errno("path_unlink_file", __wasi_path_unlink_file(dir, "misc.txt"), 0);
  return guest_end();
}
