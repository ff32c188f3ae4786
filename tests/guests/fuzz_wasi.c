/* Fuzzes the guest boundary (tests/fuzz.test.js): calls every wasi_snapshot_preview1 function
 * (proc_exit only at the end, by returning) and every `wtm` task call with random pointers,
 * lengths, flags, rights and fds, seeded:
 *   fuzz_wasi SEED COUNT MS   makes COUNT calls (or stops after MS ms), then prints
 *                             `FUZZ seed=S calls=N functions=F bad=B` and exits 0; B counts
 *                             returns that are not a WASI errno (0..76), each also printed.
 * A host exception would end the run as a trap (exit 134), never as a return.
 *
 * Pointers the host may write through stay inside a scratch area, low memory (0..1023, unused
 * by wasm-ld's layout), or are out of bounds (straddling the end of memory, past it, near
 * 2^32): in-bounds writes never reach the guest's own data, so the guest survives its own
 * fuzzing. Destructive fd calls (close, renumber, set flags and rights, writes) spare stdio
 * and the first preopen (fd 3), so the fuzzing goes on with something to work on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P(name) __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__(#name)))
#define W(name) __attribute__((__import_module__("wtm"), __import_name__(#name)))
typedef int32_t i32;
typedef int64_t i64;
typedef uint32_t u32;
typedef uint64_t u64;

i32 w_args_get(u32, u32) P(args_get);
i32 w_args_sizes_get(u32, u32) P(args_sizes_get);
i32 w_environ_get(u32, u32) P(environ_get);
i32 w_environ_sizes_get(u32, u32) P(environ_sizes_get);
i32 w_clock_res_get(u32, u32) P(clock_res_get);
i32 w_clock_time_get(u32, u64, u32) P(clock_time_get);
i32 w_fd_advise(u32, u64, u64, u32) P(fd_advise);
i32 w_fd_allocate(u32, u64, u64) P(fd_allocate);
i32 w_fd_close(u32) P(fd_close);
i32 w_fd_datasync(u32) P(fd_datasync);
i32 w_fd_fdstat_get(u32, u32) P(fd_fdstat_get);
i32 w_fd_fdstat_set_flags(u32, u32) P(fd_fdstat_set_flags);
i32 w_fd_fdstat_set_rights(u32, u64, u64) P(fd_fdstat_set_rights);
i32 w_fd_filestat_get(u32, u32) P(fd_filestat_get);
i32 w_fd_filestat_set_size(u32, u64) P(fd_filestat_set_size);
i32 w_fd_filestat_set_times(u32, u64, u64, u32) P(fd_filestat_set_times);
i32 w_fd_pread(u32, u32, u32, u64, u32) P(fd_pread);
i32 w_fd_prestat_get(u32, u32) P(fd_prestat_get);
i32 w_fd_prestat_dir_name(u32, u32, u32) P(fd_prestat_dir_name);
i32 w_fd_pwrite(u32, u32, u32, u64, u32) P(fd_pwrite);
i32 w_fd_read(u32, u32, u32, u32) P(fd_read);
i32 w_fd_readdir(u32, u32, u32, u64, u32) P(fd_readdir);
i32 w_fd_renumber(u32, u32) P(fd_renumber);
i32 w_fd_seek(u32, i64, u32, u32) P(fd_seek);
i32 w_fd_sync(u32) P(fd_sync);
i32 w_fd_tell(u32, u32) P(fd_tell);
i32 w_fd_write(u32, u32, u32, u32) P(fd_write);
i32 w_path_create_directory(u32, u32, u32) P(path_create_directory);
i32 w_path_filestat_get(u32, u32, u32, u32, u32) P(path_filestat_get);
i32 w_path_filestat_set_times(u32, u32, u32, u32, u64, u64, u32) P(path_filestat_set_times);
i32 w_path_link(u32, u32, u32, u32, u32, u32, u32) P(path_link);
i32 w_path_open(u32, u32, u32, u32, u32, u64, u64, u32, u32) P(path_open);
i32 w_path_readlink(u32, u32, u32, u32, u32, u32) P(path_readlink);
i32 w_path_remove_directory(u32, u32, u32) P(path_remove_directory);
i32 w_path_rename(u32, u32, u32, u32, u32, u32) P(path_rename);
i32 w_path_symlink(u32, u32, u32, u32, u32) P(path_symlink);
i32 w_path_unlink_file(u32, u32, u32) P(path_unlink_file);
i32 w_poll_oneoff(u32, u32, u32, u32) P(poll_oneoff);
i32 w_proc_raise(u32) P(proc_raise);
i32 w_sched_yield(void) P(sched_yield);
i32 w_random_get(u32, u32) P(random_get);
i32 w_sock_accept(u32, u32, u32) P(sock_accept);
i32 w_sock_recv(u32, u32, u32, u32, u32, u32) P(sock_recv);
i32 w_sock_send(u32, u32, u32, u32, u32) P(sock_send);
i32 w_sock_shutdown(u32, u32) P(sock_shutdown);
i32 w_task_submit(u32, u32, u32) W(task_submit);
i32 w_task_wait(u32, u32, u32, u32) W(task_wait);
i32 w_task_poll(u32, u32, u32) W(task_poll);
i32 w_task_cancel(u32) W(task_cancel);

#define SCR 65536
#define IOVS 4096
static uint8_t scratch[SCR] __attribute__((aligned(16)));
static u32 iovarea[2 * IOVS] __attribute__((aligned(16)));
static uint8_t subs[8 * 48] __attribute__((aligned(16)));
static u64 state;

static u64 rnd(void) {
  u64 z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static u32 r32(void) { return (u32)rnd(); }
static u32 below(u32 n) { return n ? (u32)(rnd() % n) : 0; }
static u32 memsize(void) { return (u32)__builtin_wasm_memory_size(0) * 65536u; }

/* A length: small, zero, or one no buffer in memory can have. */
static u32 olen(void) {
  switch (below(10)) {
    case 0: return 0;
    case 7: return 0xFFFFFFFFu - below(8);
    case 8: return memsize();
    case 9: return 0x80000000u;
    default: return below(300);
  }
}
/* A pointer the host may write `len` bytes at: inside scratch, in low memory, or out of bounds. */
static u32 optr(u32 len) {
  u32 k = below(10);
  u32 m = memsize();
  if (len > SCR) return (u32)(uintptr_t)scratch + below(SCR); /* len >= memory size: out of bounds */
  if (k < 7) return (u32)(uintptr_t)scratch + below(SCR - len + 1);
  if (k == 7 && len <= 1024) return below(1024 - len + 1);
  switch (below(3)) {
    case 0: return len ? m - below(len) : m; /* straddles the end (or is empty at it) */
    case 1: return 0xFFFFFFFFu - below(64);
    default: return m + below(1u << 20);
  }
}
/* A pointer the host only reads: anywhere at all. */
static u32 iptr(void) { return below(4) == 0 ? r32() : optr(below(300)); }

static const char *const PATHS[] = {
  "", ".", "..", "a", "a/b", "a/../a", "../x", "/etc/passwd", "/", "d/", "d/e/f", "f.txt", "l",
  "./././a", "a//b", "..//..", "\xff\xfe", "a\0b", "loooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooong",
};
/* A path argument: a name worth trying (copied to scratch) or random memory. */
static void path(u32 *p, u32 *len) {
  if (below(3) == 0) { *p = iptr(); *len = olen(); return; }
  const char *s = PATHS[below(sizeof PATHS / sizeof *PATHS)];
  u32 n = (u32)strlen(s);
  if (s == PATHS[17]) n = 3;
  u32 at = SCR - 512 + below(256);
  memcpy(scratch + at, s, n);
  *p = (u32)(uintptr_t)scratch + at;
  *len = below(8) == 0 ? olen() : n;
}

static u32 opened[16];
static int nopened;
/* An fd: preopens and what path_open gave, stdio, or nonsense. `harm`: never 0..3. */
static u32 fd(int harm) {
  u32 f;
  switch (below(10)) {
    case 0: case 1: case 2: f = 3 + below(10); break;
    case 3: case 4: f = nopened ? opened[below(nopened)] : 4; break;
    case 5: f = below(3); break;
    case 6: f = 0xFFFFFFFFu; break;
    case 7: f = r32(); break;
    default: f = 1000 + below(100);
  }
  if (harm && f <= 3) f = 4 + below(9);
  return f;
}

/* iovecs in iovarea (the rest of it stays zero: empty buffers), or out of bounds. */
static u32 iovs(u32 *count) {
  u32 k = below(10);
  u32 m = memsize();
  if (k == 0) { *count = 0xFFFFFFFFu - below(4); return (u32)(uintptr_t)iovarea; }
  if (k == 1) { *count = 0x20000000u; return (u32)(uintptr_t)iovarea; } /* count*8 wraps to 0 in 32 bits */
  if (k == 2) { *count = 1 + below(4); return m - below(8); }
  if (k == 3) { *count = m / 8 + below(100); return (u32)(uintptr_t)iovarea; }
  u32 n = below(5);
  for (u32 i = 0; i < n; i++) {
    u32 len = below(8) == 0 ? olen() : below(200);
    iovarea[2 * i] = optr(len);
    iovarea[2 * i + 1] = len;
  }
  *count = n;
  return (u32)(uintptr_t)iovarea;
}
static void clear_iovs(void) { memset(iovarea, 0, 8 * 8); }

static u64 r64(void) {
  switch (below(6)) {
    case 0: return 0;
    case 1: return ~0ull;
    case 2: return 1ull << 63;
    case 3: return below(1u << 20);
    default: return rnd();
  }
}

static i32 poll(void) {
  u32 n = below(9);
  memset(subs, 0, sizeof subs);
  for (u32 i = 0; i < n; i++) {
    uint8_t *s = subs + 48 * i;
    u64 ud = rnd();
    memcpy(s, &ud, 8);
    u32 tag = i == 0 ? 0 : below(4);
    s[8] = (uint8_t)tag;
    if (tag == 0) {
      u32 id = i == 0 ? 1 : below(5);
      u64 t = below(1000000); /* at most 1 ms: the fuzzing never sleeps long */
      uint16_t flags = (uint16_t)(i == 0 ? 0 : below(4));
      if (flags & 1) {
        u64 now = 0;
        if (w_clock_time_get(id, 1, (u32)(uintptr_t)&now) == 0) t += now;
      }
      u64 prec = rnd();
      memcpy(s + 16, &id, 4);
      memcpy(s + 24, &t, 8);
      memcpy(s + 32, &prec, 8);
      memcpy(s + 40, &flags, 2);
    } else {
      u32 f = fd(0);
      memcpy(s + 16, &f, 4);
    }
  }
  /* Subscriptions from anywhere else could ask for a long sleep (and get it): a bad pointer
   * or count is out of bounds instead. */
  u32 m = memsize();
  u32 in = (u32)(uintptr_t)subs, count = n;
  switch (below(12)) {
    case 0: in = below(2) ? m - below(48) : 0xFFFFFFF0u; count = 1 + below(8); break;
    case 1: count = below(2) ? 0xFFFFFFFFu : m / 48 + 1; break;
    case 2: count = 0x05555556u; break; /* count*48 wraps to 32 in 32 bits */
    default: break;
  }
  u32 outlen = count <= 8 ? count * 32 : 0xFFFFFFFFu;
  return w_poll_oneoff(in, optr(outlen), count, optr(4));
}

static i32 task_spec(void) {
  static const char *const SPECS[] = {
    "{}", "{\"module\":\"/nope.wasm\"}", "{\"module\":\"a\"}", "{\"module\":\"/f.txt\",\"args\":[1]}",
    "{\"module\":\"/x.wasm\",\"mounts\":[{\"host\":\"/\",\"guest\":\"/\"}]}", "[", "null", "{\"image\":\"x\"}",
    "{\"module\":\"/x.wasm\",\"timeoutMs\":-1}", "{\"module\":\"/x.wasm\",\"memoryLimitBytes\":1e300}",
  };
  u32 p, len;
  if (below(3) == 0) { p = iptr(); len = olen(); }
  else {
    const char *s = SPECS[below(sizeof SPECS / sizeof *SPECS)];
    len = (u32)strlen(s);
    memcpy(scratch + 1024, s, len);
    p = (u32)(uintptr_t)scratch + 1024;
  }
  return w_task_submit(p, len, optr(4));
}

#define NFUNCS 49
static const char *const NAMES[NFUNCS] = {
  "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get", "clock_time_get",
  "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
  "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
  "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
  "fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
  "path_link", "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
  "path_unlink_file", "poll_oneoff", "proc_raise", "sched_yield", "random_get", "sock_accept", "sock_recv",
  "sock_send", "sock_shutdown", "wtm.task_submit", "wtm.task_wait", "wtm.task_poll", "wtm.task_cancel",
};

static i32 call(int which) {
  u32 p1, l1, p2, l2, n;
  switch (which) {
    case 0: { u32 a = optr(4 * 8), b = optr(256); return w_args_get(a, b); }
    case 1: return w_args_sizes_get(optr(4), optr(4));
    case 2: return w_environ_get(optr(4 * 64), optr(4096));
    case 3: return w_environ_sizes_get(optr(4), optr(4));
    case 4: return w_clock_res_get(below(6) == 5 ? r32() : below(5), optr(8));
    case 5: return w_clock_time_get(below(6) == 5 ? r32() : below(5), r64(), optr(8));
    case 6: return w_fd_advise(fd(0), r64(), r64(), below(8) == 0 ? r32() : below(7));
    case 7: return w_fd_allocate(fd(1), r64(), r64());
    case 8: return w_fd_close(fd(1));
    case 9: return w_fd_datasync(fd(0));
    case 10: return w_fd_fdstat_get(fd(0), optr(24));
    case 11: return w_fd_fdstat_set_flags(fd(1), below(3) ? below(32) : r32());
    case 12: return w_fd_fdstat_set_rights(fd(1), r64(), r64());
    case 13: return w_fd_filestat_get(fd(0), optr(64));
    case 14: return w_fd_filestat_set_size(fd(1), r64());
    case 15: return w_fd_filestat_set_times(fd(1), r64(), r64(), below(3) ? below(16) : r32());
    case 16: { u32 v = iovs(&n); i32 r = w_fd_pread(fd(0), v, n, r64(), optr(4)); clear_iovs(); return r; }
    case 17: return w_fd_prestat_get(fd(0), optr(8));
    case 18: { u32 len = olen(); return w_fd_prestat_dir_name(fd(0), optr(len), len); }
    case 19: { u32 v = iovs(&n); i32 r = w_fd_pwrite(fd(1), v, n, r64(), optr(4)); clear_iovs(); return r; }
    case 20: { u32 f = fd(0); if (f == 1 || f == 2) f = 0; u32 v = iovs(&n); i32 r = w_fd_read(f, v, n, optr(4)); clear_iovs(); return r; }
    case 21: { u32 len = olen(); return w_fd_readdir(fd(0), optr(len), len, r64(), optr(4)); }
    case 22: return w_fd_renumber(fd(1), fd(1));
    case 23: return w_fd_seek(fd(0), (i64)r64(), below(4) ? below(3) : r32(), optr(8));
    case 24: return w_fd_sync(fd(0));
    case 25: return w_fd_tell(fd(0), optr(8));
    case 26: { u32 v = iovs(&n); i32 r = w_fd_write(fd(1), v, n, optr(4)); clear_iovs(); return r; }
    case 27: path(&p1, &l1); return w_path_create_directory(fd(0), p1, l1);
    case 28: path(&p1, &l1); return w_path_filestat_get(fd(0), below(3) ? below(2) : r32(), p1, l1, optr(64));
    case 29: path(&p1, &l1); return w_path_filestat_set_times(fd(0), below(2), p1, l1, r64(), r64(), below(3) ? below(16) : r32());
    case 30: path(&p1, &l1); path(&p2, &l2); return w_path_link(fd(0), below(2), p1, l1, fd(0), p2, l2);
    case 31: {
      path(&p1, &l1);
      u32 out = below(4) ? (u32)(uintptr_t)(scratch + 2048) : optr(4);
      i32 r = w_path_open(fd(0), below(3) ? below(2) : r32(), p1, l1, below(3) ? below(16) : r32(),
                          below(2) ? ~0ull : r64(), below(2) ? ~0ull : r64(), below(3) ? below(32) : r32(), out);
      if (r == 0 && out == (u32)(uintptr_t)(scratch + 2048)) {
        u32 f;
        memcpy(&f, scratch + 2048, 4);
        if (nopened < 16) opened[nopened++] = f; else opened[below(16)] = f;
      }
      return r;
    }
    case 32: { path(&p1, &l1); u32 len = olen(); return w_path_readlink(fd(0), p1, l1, optr(len), len, optr(4)); }
    case 33: path(&p1, &l1); return w_path_remove_directory(fd(0), p1, l1);
    case 34: path(&p1, &l1); path(&p2, &l2); return w_path_rename(fd(0), p1, l1, fd(0), p2, l2);
    case 35: path(&p1, &l1); path(&p2, &l2); return w_path_symlink(p1, l1, fd(0), p2, l2);
    case 36: path(&p1, &l1); return w_path_unlink_file(fd(0), p1, l1);
    case 37: return poll();
    case 38: { u32 s = below(3) ? below(32) : r32(); if (s == 0) s = 1000; return w_proc_raise(s); }
    case 39: return w_sched_yield();
    case 40: { u32 len = olen(); return w_random_get(optr(len), len); }
    case 41: return w_sock_accept(fd(0), below(3) ? below(8) : r32(), optr(4));
    case 42: { u32 v = iovs(&n); i32 r = w_sock_recv(fd(0), v, n, below(3) ? below(4) : r32(), optr(4), optr(2)); clear_iovs(); return r; }
    case 43: { u32 v = iovs(&n); i32 r = w_sock_send(fd(1), v, n, r32(), optr(4)); clear_iovs(); return r; }
    case 44: return w_sock_shutdown(fd(0), below(3) ? below(4) : r32());
    case 45: return task_spec();
    case 46: { u32 len = olen(); return w_task_wait(below(2) ? below(8) : r32(), optr(len), len, optr(4)); }
    case 47: { u32 len = olen(); return w_task_poll(optr(len), len, optr(4)); }
    default: return w_task_cancel(below(2) ? below(8) : r32());
  }
}

static u64 now_ms(void) {
  u64 t = 0;
  w_clock_time_get(1, 1, (u32)(uintptr_t)&t);
  return t / 1000000;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fuzz_wasi SEED COUNT MS\n");
    return 2;
  }
  u64 seed = strtoull(argv[1], NULL, 10);
  long count = atol(argv[2]);
  u64 ms = strtoull(argv[3], NULL, 10);
  state = seed;
  static long per[NFUNCS];
  long calls = 0, bad = 0;
  u64 t0 = now_ms();
  for (; calls < count; calls++) {
    if ((calls & 63) == 0 && now_ms() - t0 > ms) break;
    int which = (int)below(NFUNCS);
    i32 r = call(which);
    per[which]++;
    if (r < 0 || r > 76) {
      bad++;
      printf("FUZZ bad return %d from %s at call %ld (seed %llu)\n", r, NAMES[which], calls, (unsigned long long)seed);
    }
  }
  int functions = 0;
  for (int i = 0; i < NFUNCS; i++) functions += per[i] > 0;
  printf("FUZZ seed=%llu calls=%ld functions=%d bad=%ld\n", (unsigned long long)seed, calls, functions, bad);
  return 0;
}
