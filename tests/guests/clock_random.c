/* Clocks, random_get, sched_yield and poll_oneoff on clocks. No args needed. */
#include "common.h"

static __wasi_timestamp_t now(__wasi_clockid_t id) {
  __wasi_timestamp_t t = 0;
  if (__wasi_clock_time_get(id, 1, &t) != 0) return 0;
  return t;
}

static __wasi_subscription_t clock_sub(uint64_t userdata, __wasi_clockid_t id,
                                       __wasi_timestamp_t timeout, __wasi_subclockflags_t flags) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = userdata;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = id;
  s.u.u.clock.timeout = timeout;
  s.u.u.clock.precision = 0;
  s.u.u.clock.flags = flags;
  return s;
}

static uint8_t big[1 << 20], big2[1 << 20];

int main(void) {
  guest_begin("clock_random");
  char name[96];

  /* --- resolution and time ------------------------------------------------- */
  __wasi_timestamp_t res = 0, t = 0;
  check_errno("clock_res_get.realtime", __wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res), 0);
  check_true("clock_res_get.realtime.positive", res > 0 && res <= 1000000000ull,
             "resolution not in (0, 1s]");
  check_errno("clock_res_get.monotonic", __wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res), 0);
  check_true("clock_res_get.monotonic.positive", res > 0 && res <= 1000000000ull,
             "resolution not in (0, 1s]");
  check_errno("clock_time_get.realtime", __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t), 0);
  /* after 2020-09-13 and before 2100 */
  if (t > 1600000000ull * 1000000000ull && t < 4102444800ull * 1000000000ull)
    pass("clock_time_get.realtime.plausible");
  else
    fail("clock_time_get.realtime.plausible", "time (got %llu want 2020..2100 in ns)",
         (unsigned long long)t);
  check_errno("clock_time_get.monotonic", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t), 0);

  __wasi_timestamp_t prev = now(__WASI_CLOCKID_MONOTONIC), first = prev;
  int back = 0;
  for (int i = 0; i < 1000; i++) {
    __wasi_timestamp_t c = now(__WASI_CLOCKID_MONOTONIC);
    if (c < prev) back++;
    prev = c;
  }
  if (back == 0) pass("monotonic.never_back");
  else fail("monotonic.never_back", "went back (got %d times want 0)", back);
  (void)first;

  static const struct { __wasi_clockid_t id; const char *name; } cpu[] = {
    {__WASI_CLOCKID_PROCESS_CPUTIME_ID, "process_cputime"},
    {__WASI_CLOCKID_THREAD_CPUTIME_ID, "thread_cputime"},
  };
  for (int i = 0; i < 2; i++) {
    __wasi_errno_t e1 = __wasi_clock_res_get(cpu[i].id, &res);
    __wasi_errno_t e2 = __wasi_clock_time_get(cpu[i].id, 1, &t);
    snprintf(name, sizeof name, "clock.%s", cpu[i].name);
    if (e1 == 0 && e2 == 0)
      pass_note(name, "supported (res %llu ns)", (unsigned long long)res);
    else if ((e1 == __WASI_ERRNO_NOTSUP || e1 == __WASI_ERRNO_INVAL) &&
             (e2 == __WASI_ERRNO_NOTSUP || e2 == __WASI_ERRNO_INVAL))
      pass_note(name, "unsupported: res_get %s, time_get %s", errname(e1), errname(e2));
    else
      fail(name, "inconsistent (got res_get %s, time_get %s want both ok or both NOTSUP/INVAL)",
           errname(e1), errname(e2));
  }
  check_errno("clock_res_get.invalid_id", __wasi_clock_res_get(99, &res), __WASI_ERRNO_INVAL);
  check_errno("clock_time_get.invalid_id", __wasi_clock_time_get(99, 1, &t), __WASI_ERRNO_INVAL);

  /* --- random --------------------------------------------------------------- */
  check_errno("random_get.zero", __wasi_random_get(big, 0), 0);
  check_errno("random_get.1MiB", __wasi_random_get(big, sizeof big), 0);
  check_errno("random_get.1MiB.again", __wasi_random_get(big2, sizeof big2), 0);
  size_t zeros = 0;
  for (size_t i = 0; i < sizeof big; i++) zeros += big[i] == 0;
  /* expected ~4096 zero bytes in 1 MiB of random data */
  if (zeros < 8192) pass("random_get.not_zero");
  else fail("random_get.not_zero", "zero bytes (got %zu want about 4096)", zeros);
  check_true("random_get.differs", memcmp(big, big2, sizeof big) != 0, "two 1 MiB reads are equal");
  /* the tail must be filled too (a runtime that fills in 64 KiB chunks) */
  size_t tail_zeros = 0;
  for (size_t i = sizeof big - 4096; i < sizeof big; i++) tail_zeros += big[i] == 0;
  if (tail_zeros < 256) pass("random_get.tail_filled");
  else fail("random_get.tail_filled", "zero bytes in last 4 KiB (got %zu want about 16)", tail_zeros);

  check_errno("sched_yield", __wasi_sched_yield(), 0);

  /* --- poll_oneoff ------------------------------------------------------------ */
  __wasi_event_t ev[4];
  size_t nev = 0;
  __wasi_subscription_t s[3];

  s[0] = clock_sub(0x1234, __WASI_CLOCKID_MONOTONIC, 50000000ull, 0);
  __wasi_timestamp_t t0 = now(__WASI_CLOCKID_MONOTONIC);
  __wasi_errno_t e = __wasi_poll_oneoff(s, ev, 1, &nev);
  __wasi_timestamp_t slept = now(__WASI_CLOCKID_MONOTONIC) - t0;
  check_errno("poll_oneoff.relative", e, 0);
  check_u64("poll_oneoff.relative.nevents", nev, 1);
  if (nev == 1) {
    check_u64("poll_oneoff.relative.userdata", ev[0].userdata, 0x1234);
    check_u64("poll_oneoff.relative.type", ev[0].type, __WASI_EVENTTYPE_CLOCK);
    check_errno("poll_oneoff.relative.error", ev[0].error, 0);
  }
  if (slept >= 50000000ull) pass_note("poll_oneoff.relative.slept", "%llu ms", (unsigned long long)(slept / 1000000));
  else fail("poll_oneoff.relative.slept", "slept (got %llu ns want >= 50000000)", (unsigned long long)slept);
  if (slept < 2000000000ull) pass("poll_oneoff.relative.not_too_long");
  else fail("poll_oneoff.relative.not_too_long", "slept (got %llu ns want < 2 s)", (unsigned long long)slept);

  /* realtime relative clock works too */
  s[0] = clock_sub(7, __WASI_CLOCKID_REALTIME, 20000000ull, 0);
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  e = __wasi_poll_oneoff(s, ev, 1, &nev);
  slept = now(__WASI_CLOCKID_MONOTONIC) - t0;
  check_errno("poll_oneoff.realtime_relative", e, 0);
  if (slept >= 20000000ull) pass("poll_oneoff.realtime_relative.slept");
  else fail("poll_oneoff.realtime_relative.slept", "slept (got %llu ns want >= 20000000)", (unsigned long long)slept);

  /* two clocks: the 20 ms one fires, the 5 s one does not */
  s[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
  s[1] = clock_sub(2, __WASI_CLOCKID_MONOTONIC, 20000000ull, 0);
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  e = __wasi_poll_oneoff(s, ev, 2, &nev);
  slept = now(__WASI_CLOCKID_MONOTONIC) - t0;
  check_errno("poll_oneoff.two_clocks", e, 0);
  int saw2 = 0, saw1 = 0;
  for (size_t i = 0; i < nev && i < 4; i++) {
    saw1 |= ev[i].userdata == 1;
    saw2 |= ev[i].userdata == 2;
  }
  check_true("poll_oneoff.two_clocks.shortest_fired", saw2 && !saw1,
             "want only the 20 ms subscription (userdata 2) reported");
  if (slept >= 20000000ull && slept < 2000000000ull) pass("poll_oneoff.two_clocks.timing");
  else fail("poll_oneoff.two_clocks.timing", "slept (got %llu ns want 20 ms .. 2 s)", (unsigned long long)slept);

  /* zero timeout returns at once */
  s[0] = clock_sub(3, __WASI_CLOCKID_MONOTONIC, 0, 0);
  e = __wasi_poll_oneoff(s, ev, 1, &nev);
  check_errno("poll_oneoff.zero_timeout", e, 0);
  check_u64("poll_oneoff.zero_timeout.nevents", nev, 1);

  /* stdout is always writable */
  memset(&s[0], 0, sizeof s[0]);
  s[0].userdata = 9;
  s[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
  s[0].u.u.fd_write.file_descriptor = 1;
  e = __wasi_poll_oneoff(s, ev, 1, &nev);
  check_errno("poll_oneoff.fd_write_stdout", e, 0);
  if (e == 0 && nev == 1) {
    check_u64("poll_oneoff.fd_write_stdout.type", ev[0].type, __WASI_EVENTTYPE_FD_WRITE);
    check_errno("poll_oneoff.fd_write_stdout.error", ev[0].error, 0);
  } else {
    fail("poll_oneoff.fd_write_stdout.nevents", "count (got %zu want 1)", nev);
  }

  /* invalid clock id in a subscription: reported (errno of the call or of the event) */
  s[0] = clock_sub(5, 99, 1000000ull, 0);
  nev = 0;
  e = __wasi_poll_oneoff(s, ev, 1, &nev);
  if (e == __WASI_ERRNO_INVAL) pass_note("poll_oneoff.invalid_clock", "call INVAL");
  else if (e == 0 && nev == 1 && ev[0].error == __WASI_ERRNO_INVAL)
    pass_note("poll_oneoff.invalid_clock", "event INVAL");
  else
    fail("poll_oneoff.invalid_clock", "errno (got call %s, %zu events, event %s want INVAL)",
         errname(e), nev, nev ? errname(ev[0].error) : "-");

  check_errno("poll_oneoff.zero_subscriptions", __wasi_poll_oneoff(s, ev, 0, &nev),
              __WASI_ERRNO_INVAL);

  /* Absolute deadlines last: a runtime that reads them as relative sleeps for
   * decades here, and the checks above are already printed. */
  /* absolute deadline 30 ms from now on the monotonic clock */
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  s[0] = clock_sub(42, __WASI_CLOCKID_MONOTONIC, t0 + 30000000ull,
                   __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  e = __wasi_poll_oneoff(s, ev, 1, &nev);
  __wasi_timestamp_t t1 = now(__WASI_CLOCKID_MONOTONIC);
  check_errno("poll_oneoff.absolute", e, 0);
  check_u64("poll_oneoff.absolute.nevents", nev, 1);
  if (nev == 1) check_u64("poll_oneoff.absolute.userdata", ev[0].userdata, 42);
  if (t1 >= t0 + 30000000ull) pass("poll_oneoff.absolute.reached");
  else fail("poll_oneoff.absolute.reached", "woke early (got +%llu ns want >= +30000000)", (unsigned long long)(t1 - t0));

  /* absolute deadline in the past: returns at once */
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  s[0] = clock_sub(43, __WASI_CLOCKID_MONOTONIC, t0 > 1000000000ull ? t0 - 1000000000ull : 0,
                   __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  e = __wasi_poll_oneoff(s, ev, 1, &nev);
  slept = now(__WASI_CLOCKID_MONOTONIC) - t0;
  check_errno("poll_oneoff.absolute_past", e, 0);
  check_u64("poll_oneoff.absolute_past.nevents", nev, 1);
  if (slept < 500000000ull) pass("poll_oneoff.absolute_past.immediate");
  else fail("poll_oneoff.absolute_past.immediate", "slept (got %llu ns want < 500 ms)", (unsigned long long)slept);

  return guest_end();
}
