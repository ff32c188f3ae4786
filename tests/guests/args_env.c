/* args_* and environ_*: exact values, and pointers outside memory -> FAULT.
 * Harness: args `a b` (argv[0] is anything), environment exactly `FOO=bar`. */
#include "common.h"

WASI_RAW(args_sizes_get) int32_t raw_args_sizes_get(uint32_t argc_ptr, uint32_t size_ptr);
WASI_RAW(args_get) int32_t raw_args_get(uint32_t argv_ptr, uint32_t buf_ptr);
WASI_RAW(environ_sizes_get) int32_t raw_environ_sizes_get(uint32_t count_ptr, uint32_t size_ptr);
WASI_RAW(environ_get) int32_t raw_environ_get(uint32_t env_ptr, uint32_t buf_ptr);
WASI_RAW(fd_write) int32_t raw_fd_write(uint32_t fd, uint32_t iovs, uint32_t n, uint32_t nwritten);

#define BAD 0xFFFFFFF0u

static uint32_t p(void *x) { return (uint32_t)(uintptr_t)x; }

int main(int argc, char **argv) {
  guest_begin("args_env");

  /* --- args ---------------------------------------------------------------- */
  size_t n = 0, size = 0;
  check_errno("args_sizes_get", __wasi_args_sizes_get(&n, &size), 0);
  check_u64("args_sizes_get.count", n, 3);
  char *a[8] = {0};
  char *abuf = calloc(1, size + 16);
  if (n > 0 && n < 8) {
    check_errno("args_get", __wasi_args_get((uint8_t **)a, (uint8_t *)abuf), 0);
    size_t a0 = a[0] ? strlen(a[0]) + 1 : 0;
    check_u64("args_sizes_get.buf_size", size, a0 + 2 + 2);
    check_true("args_get.argv0_in_buf", a[0] == abuf, "argv[0] does not start the buffer");
    if (n == 3 && a[1] && a[2]) {
      check_bytes("args_get.argv1", a[1], strlen(a[1]), "a", 1);
      check_bytes("args_get.argv2", a[2], strlen(a[2]), "b", 1);
      check_true("args_get.contiguous", a[1] == abuf + a0 && a[2] == a[1] + 2,
                 "strings are not packed one after the other");
    }
  }
  check_u64("main.argc", (uint64_t)argc, 3);
  if (argc == 3) {
    check_bytes("main.argv1", argv[1], strlen(argv[1]), "a", 1);
    check_bytes("main.argv2", argv[2], strlen(argv[2]), "b", 1);
  }

  /* --- environ ------------------------------------------------------------- */
  size_t en = 0, esize = 0;
  check_errno("environ_sizes_get", __wasi_environ_sizes_get(&en, &esize), 0);
  check_u64("environ_sizes_get.count", en, 1);
  check_u64("environ_sizes_get.buf_size", esize, 8);
  if (en > 0 && en < 64) {
    char **e = calloc(en + 1, sizeof *e);
    char *ebuf = calloc(1, esize + 16);
    check_errno("environ_get", __wasi_environ_get((uint8_t **)e, (uint8_t *)ebuf), 0);
    if (e[0]) check_bytes("environ_get.value", e[0], strlen(e[0]), "FOO=bar", 7);
    check_true("environ_get.terminated", ebuf[esize - 1] == 0, "last string is not NUL-terminated");
  }
  const char *foo = getenv("FOO");
  check_bytes("getenv.FOO", foo ? foo : "(null)", foo ? strlen(foo) : 6, "bar", 3);

  /* --- pointers outside memory -> FAULT ------------------------------------ */
  uint32_t mem_end = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
  static uint32_t w1, w2;
  static uint32_t vec[8];
  static char vbuf[256];
  check_errno("fault.args_sizes_get.count", raw_args_sizes_get(BAD, p(&w2)), __WASI_ERRNO_FAULT);
  check_errno("fault.args_sizes_get.size", raw_args_sizes_get(p(&w1), BAD), __WASI_ERRNO_FAULT);
  check_errno("fault.args_sizes_get.straddle", raw_args_sizes_get(p(&w1), mem_end - 2),
              __WASI_ERRNO_FAULT);
  check_errno("fault.args_sizes_get.wrap", raw_args_sizes_get(p(&w1), 0xFFFFFFFEu),
              __WASI_ERRNO_FAULT);
  check_errno("fault.args_get.argv", raw_args_get(BAD, p(vbuf)), __WASI_ERRNO_FAULT);
  check_errno("fault.args_get.buf", raw_args_get(p(vec), BAD), __WASI_ERRNO_FAULT);
  check_errno("fault.args_get.buf_straddle", raw_args_get(p(vec), mem_end - 3), __WASI_ERRNO_FAULT);
  check_errno("fault.environ_sizes_get", raw_environ_sizes_get(BAD, p(&w2)), __WASI_ERRNO_FAULT);
  check_errno("fault.environ_get.env", raw_environ_get(BAD, p(vbuf)), __WASI_ERRNO_FAULT);
  check_errno("fault.environ_get.buf", raw_environ_get(p(vec), BAD), __WASI_ERRNO_FAULT);
  /* an iovec whose buffer lies past the end of memory */
  static uint32_t iov[2];
  iov[0] = BAD;
  iov[1] = 8;
  check_errno("fault.fd_write.iov_buf", raw_fd_write(1, p(iov), 1, p(&w1)), __WASI_ERRNO_FAULT);
  check_errno("fault.fd_write.iovs", raw_fd_write(1, BAD, 1, p(&w1)), __WASI_ERRNO_FAULT);

  return guest_end();
}
