/* The concurrency stress guest (tests/stress.test.js): for a bounded time it churns a shared
 * writable mount while the host swaps directories for symlinks under it, and tries, between
 * its own operations, to write into the :ro mount and to reach outside its tree.
 *
 *   churn main ID MS NSLOTS TOKEN [CHILD-SECRET CHILD-MS]
 *       mounts: /w (writable, shared by every task; the host swaps /w/swapK and /w/swapK/in,
 *       K < 2, for symlinks and back), /ro (read-only: RO-file-0..3.txt, RO-dir/RO-sub.txt,
 *       churn.wasm), its own fresh root at /. Writes TOKEN to /token-ID.txt and churns for MS
 *       milliseconds. With CHILD-SECRET it also starts tasks of its own (`child`, one at a
 *       time, CHILD-MS each, named c<ID>_<k> with the token TOKEN-c<ID>_<k>-CHILD-SECRET)
 *       sharing /w/t-ID/share (writable, as /s) and /w/swap0/in or /w/swap1/in (read-only, as
 *       /s2), and swaps /w/t-ID/share for symlinks of its own while they run.
 *   churn child ID PARENT-ID MS TOKEN
 *       the task a `main` starts: churns in /s, reads and lists /s2, tries to write there, and
 *       churns in its own root.
 *   churn stale DIR MS PATH...
 *       reads each DIR/PATH over and over for MS ms and prints each change of answer (the
 *       host moves the directory holding it out of the mount meanwhile; see stale() below).
 *
 * What it may see: files it reads through /w hold W-..., SWAP-..., SHARE-... (written by the
 * tasks and the host into /w), or OWN-ID-.../TOKEN-ID-... (its own root: a symlink to `/` or
 * `../..` leads there, as in a chroot); listings through /w never show the names of the host
 * directories around the mounts (outside, tasks, canary-beside.txt, the host's /), RO-* files
 * (only through /ro or a link of its own into it) or another task's token or own-* directory.
 * Anything else read or listed is an ESCAPE, and so is any success of a forbidden operation
 * (a write of any kind into /ro, a hard link or rename out of it, `..` above a preopen or an
 * fd, an absolute path or symlink target, a write into /s2). A forbidden operation answered
 * with an errno other than the rule's (RULES.md) is WRONG.
 *
 * Output: `ESCAPE: ...` and `WRONG: ...` lines (at most 40 of each), then
 *   churn ID ops=N mkdir=.. rmdir=.. rename=.. link=.. unlink=.. symlink=.. open=.. list=..
 *     deep=.. ro=.. out=.. dotdot=.. selfswaps=.. children=.. s2=0|1 slot=.. slotmiss=.. ms=..
 *     setup_ms=..
 *   (slot: operations on a directory the host swaps; slotmiss: those that found it swapped)
 *   attempts=N escapes=M wrong=K
 * Exit 0 only when escapes == 0 and wrong == 0. */
#include "attack.h"
#include "wtm.h"

static int W = -1, RO = -1, ROOT = -1, S = -1, S2 = -1;
static const char *ID, *PID, *TOKEN;
static int NSLOTS = 4;
static unsigned seq;
static long n_ops, n_mkdir, n_rmdir, n_rename, n_link, n_unlink, n_symlink, n_open, n_list, n_deep,
    n_ro, n_out, n_dotdot, n_selfswap;
static int printed_escapes, printed_wrong;
static uint64_t setup_ms;

#define DEPTH 300 /* deeper than the directory cache (256 handles) */
static char *deep_w, *deep_root; /* "t-ID/deep/x/x/.../x" and "own-ID/deep/x/.../x" */

/* ---- reporting --------------------------------------------------------------------------- */

static void esc(const char *what, const char *detail) {
  escapes++;
  if (printed_escapes++ < 40) printf("ESCAPE: %s: %s\n", what, detail);
}

static void wrg(const char *what, const char *detail) {
  wrongs++;
  if (printed_wrong++ < 40) printf("WRONG: %s: %s\n", what, detail);
}

/* A forbidden operation answered e: success is an escape; an errno outside want1/want2 is wrong. */
static void forbidden(const char *what, __wasi_errno_t e, __wasi_errno_t want1, __wasi_errno_t want2) {
  attempts++;
  if (e == 0) esc(what, "succeeded");
  else if (e != want1 && e != want2) wrg(what, fmt("got %s want %s", errname(e), errname(want1)));
}

/* Control characters as spaces, at most 60 bytes: a line of its own. */
static const char *printable(const char *s) {
  char *b = fmt("%.60s", s);
  for (char *c = b; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
  return b;
}

/* ---- what may be seen ---------------------------------------------------------------------- */

enum { ALLOW_RO = 1, ALLOW_PARENT = 2 };

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int content_ok(const char *buf, int flags) {
  if (strstr(buf, "CANARY")) return 0;
  if (!buf[0] || starts(buf, "W-") || starts(buf, "SWAP-") || starts(buf, "SHARE-")) return 1;
  if (starts(buf, fmt("OWN-%s-", ID)) || starts(buf, fmt("TOKEN-%s-", ID))) return 1;
  if ((flags & ALLOW_PARENT) && PID && (starts(buf, fmt("OWN-%s-", PID)) || starts(buf, fmt("TOKEN-%s-", PID)))) return 1;
  if ((flags & ALLOW_RO) && starts(buf, "RO-")) return 1;
  return 0;
}

static const char *const host_names[] = {
  "outside", "canary-beside.txt", "tasks", "secret.txt", "etc", "proc", "usr", "sys", "dev", "var", "tmp",
  "home", "root", "work", "lib", "bin", "sbin", "boot", "opt", "srv", "run", "mnt", "media", NULL,
};

static int name_ok(const char *n, int flags) {
  for (int i = 0; host_names[i]; i++)
    if (!strcmp(n, host_names[i])) return 0;
  if (starts(n, "RO-") && !(flags & ALLOW_RO)) return 0;
  if (starts(n, "token-") && strcmp(n, fmt("token-%s.txt", ID)) && !((flags & ALLOW_PARENT) && PID && !strcmp(n, fmt("token-%s.txt", PID)))) return 0;
  if (starts(n, "own-") && strcmp(n, fmt("own-%s", ID)) && !((flags & ALLOW_PARENT) && PID && !strcmp(n, fmt("own-%s", PID)))) return 0;
  return 1;
}

/* Reads dirfd/path (following links) and judges what it holds. Returns the errno. */
static __wasi_errno_t read_judged(int dirfd, const char *path, int flags, const char *what) {
  char buf[256];
  attempts++;
  n_open++;
  __wasi_errno_t e = slurp(dirfd, FOLLOW, path, buf, sizeof buf);
  if (e == 0 && !content_ok(buf, flags)) esc(what, fmt("%s holds \"%s\"", path, printable(buf)));
  return e;
}

/* Lists an open directory and judges the names (and reads `marker` if it is there). */
static void list_judged(__wasi_fd_t fd, int flags, const char *what) {
  static char list[1 << 16];
  attempts++;
  n_list++;
  if (list_dir_fd(fd, list, sizeof list)) return;
  for (char *p = list; *p;) {
    char *nl = strchr(p, '\n');
    if (!nl) break;
    *nl = 0;
    if (!name_ok(p, flags)) esc(what, fmt("lists \"%s\"", printable(p)));
    p = nl + 1;
  }
  (void)read_judged((int)fd, "marker", flags, what);
}

/* ---- randomness, time --------------------------------------------------------------------- */

static uint64_t rs;
static unsigned rnd(unsigned n) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (unsigned)(rs % n);
}

static uint64_t now_ms(void) {
  __wasi_timestamp_t t = 0;
  (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
  return t / 1000000ull;
}

/* A directory the host swaps: "swapK" or "swapK/in"; slot_marker is what its marker holds. */
static const char *slot_marker;
static long n_slot, n_slotmiss; /* operations on a swapped directory; those that met a link */
static const char *slot(void) {
  unsigned k = rnd((unsigned)NSLOTS);
  n_slot++;
  int in = k < 2 && rnd(2);
  slot_marker = in ? fmt("SWAP-%u-in", k) : fmt("SWAP-%u", k);
  return in ? fmt("swap%u/in", k) : fmt("swap%u", k);
}

/* ---- setup --------------------------------------------------------------------------------- */

/* base/x/x/.../x (DEPTH levels), made one level at a time through directory fds (a path
 * per level would cost DEPTH^2/2 lookups), with `leaf` and `top -> ../..` back to the directory
 * holding base at the bottom. Returns the path of the bottom directory. */
static char *make_deep(int dirfd, const char *base, const char *leaf_content) {
  char *p = malloc(strlen(base) + 2 * DEPTH + 8);
  strcpy(p, base);
  (void)__wasi_path_create_directory(dirfd, p);
  __wasi_fd_t fd;
  if (open_dir(dirfd, p, &fd)) return p;
  for (int i = 0; i < DEPTH; i++) {
    __wasi_fd_t next;
    strcat(p, "/x");
    (void)__wasi_path_create_directory(fd, "x");
    __wasi_errno_t e = open_dir(fd, "x", &next);
    (void)__wasi_fd_close(fd);
    if (e) return p;
    fd = next;
  }
  (void)put_file(fd, "leaf", leaf_content);
  char *t = malloc(3 * (DEPTH + 1) + 1);
  t[0] = 0;
  for (int i = 0; i <= DEPTH; i++) strcat(t, i ? "/.." : "..");
  (void)__wasi_path_symlink(t, fd, "top");
  (void)__wasi_fd_close(fd);
  free(t);
  return p;
}

static void setup_main(void) {
  const char *t = fmt("t-%s", ID);
  (void)__wasi_path_create_directory(W, t);
  (void)put_file(W, fmt("%s/probe", t), fmt("W-%s-probe", ID));
  (void)put_file(W, fmt("%s/lf", t), fmt("W-%s-lf", ID));
  (void)__wasi_path_create_directory(W, fmt("%s/rd", t));
  (void)put_file(W, fmt("%s/rd/in", t), fmt("W-%s-rd", ID));
  /* relative links with .. (a guest cannot make absolute ones) */
  (void)__wasi_path_symlink("..", W, fmt("%s/up", t));
  (void)__wasi_path_symlink("../..", W, fmt("%s/upup", t));
  (void)__wasi_path_symlink("../../ro/RO-file-0.txt", W, fmt("%s/rolink", t));
  (void)__wasi_path_symlink("../../../../outside/secret.txt", W, fmt("%s/out", t));
  (void)__wasi_path_symlink(fmt("../../token-%s.txt", ID), W, fmt("%s/rootlink", t));
  for (int k = 0; k < NSLOTS; k++) {
    (void)__wasi_path_symlink(fmt("../swap%d", k), W, fmt("%s/sw-%d", t, k));
    (void)__wasi_path_symlink(fmt("../swap%d/in", k), W, fmt("%s/swin-%d", t, k));
  }
  deep_w = make_deep(W, fmt("%s/deep", t), fmt("W-%s-leaf", ID));
}

static void setup_root(void) {
  if (put_file(ROOT, fmt("token-%s.txt", ID), TOKEN)) wrg("setup", "cannot write the token");
  (void)__wasi_path_create_directory(ROOT, fmt("own-%s", ID));
  deep_root = make_deep(ROOT, fmt("own-%s/deep", ID), fmt("OWN-%s-leaf", ID));
}

/* ---- operations in the shared mount -------------------------------------------------------- */

static void op_slot_write(void) {
  const char *s = slot();
  unsigned n = seq++;
  const char *f = fmt("%s/f-%s-%u", s, ID, n);
  __wasi_errno_t e = put_file(W, f, fmt("W-%s-%u", ID, n));
  if (e) n_slotmiss++;
  if (e == 0) {
    (void)read_judged(W, f, 0, "read back through a swapped directory");
    if (__wasi_path_unlink_file(W, f) == 0) n_unlink++;
  }
}

static void op_slot_mkdir(void) {
  const char *s = slot();
  unsigned n = seq++;
  const char *d = fmt("%s/d-%s-%u", s, ID, n), *e = fmt("%s/e-%s-%u", s, ID, n);
  if (__wasi_path_create_directory(W, d)) {
    n_slotmiss++;
    return;
  }
  n_mkdir++;
  (void)put_file(W, fmt("%s/x", d), fmt("W-%s-%u", ID, n));
  if (__wasi_path_rename(W, d, W, e) == 0) {
    n_rename++;
    if (__wasi_path_rename(W, e, W, d) == 0) n_rename++;
  }
  (void)__wasi_path_unlink_file(W, fmt("%s/x", d));
  (void)__wasi_path_unlink_file(W, fmt("%s/x", e));
  if (__wasi_path_remove_directory(W, d) == 0) n_rmdir++;
  if (__wasi_path_remove_directory(W, e) == 0) n_rmdir++;
}

static void op_slot_fd(void) {
  __wasi_fd_t fd;
  const char *s = slot();
  if (open_dir(W, s, &fd)) {
    n_slotmiss++;
    return;
  }
  n_open++;
  char m[64];
  if (slurp(fd, 0, "marker", m, sizeof m) || strcmp(m, slot_marker)) n_slotmiss++;
  list_judged(fd, 0, fmt("a directory fd on %s", s));
  /* A link to .. made in it leads to its parent in the guest's tree, even when the host has
   * meanwhile moved the directory out of the mount (beside the canary). */
  const char *u = fmt("u-%s-%u", ID, seq++);
  if (__wasi_path_symlink("..", fd, u) == 0) {
    __wasi_fd_t ufd;
    n_symlink++;
    (void)read_judged((int)fd, fmt("%s/marker", u), 0, fmt("a link to .. in a directory fd on %s", s));
    if (open_dir(fd, u, &ufd) == 0) {
      n_open++;
      list_judged(ufd, 0, fmt("a link to .. in a directory fd on %s", s));
      (void)__wasi_fd_close(ufd);
    }
    if (__wasi_path_unlink_file(fd, u) == 0) n_unlink++;
  }
  __wasi_filestat_t st;
  forbidden(fmt("stat .. of a directory fd on %s", s), __wasi_path_filestat_get(fd, 0, "..", &st), __WASI_ERRNO_NOTCAPABLE, 0);
  forbidden(fmt("open ../marker from a directory fd on %s", s), slurp(fd, FOLLOW, "../marker", (char[64]){0}, 64), __WASI_ERRNO_NOTCAPABLE, 0);
  unsigned n = seq++;
  if (put_file(fd, fmt("g-%s-%u", ID, n), fmt("W-%s-%u", ID, n)) == 0 &&
      __wasi_path_unlink_file(fd, fmt("g-%s-%u", ID, n)) == 0)
    n_unlink++;
  (void)__wasi_fd_close(fd);
}

static void op_rename_cross(void) {
  const char *t = fmt("t-%s", ID), *s = slot();
  unsigned n = seq++;
  const char *mv = fmt("%s/mv", t), *there = fmt("%s/mv-%s-%u", s, ID, n);
  (void)put_file(W, mv, fmt("W-%s-mv", ID));
  if (__wasi_path_rename(W, mv, W, there) == 0) {
    n_rename++;
    if (__wasi_path_rename(W, there, W, mv) == 0) n_rename++;
    else if (__wasi_path_unlink_file(W, there) == 0) n_unlink++;
  }
  /* a directory back and forth, and into a swapped one */
  const char *rd = fmt("%s/rd", t), *rd2 = fmt("%s/rd2", t), *rdx = fmt("%s/rd-%s-%u", s, ID, n);
  if (__wasi_path_rename(W, rd, W, rd2) == 0 && __wasi_path_rename(W, rd2, W, rd) == 0) n_rename += 2;
  if (__wasi_path_rename(W, rd, W, rdx) == 0) {
    n_rename++;
    if (__wasi_path_rename(W, rdx, W, rd) == 0) n_rename++;
  }
  if (!exists_at(W, fmt("%s/rd/in", t))) {
    (void)__wasi_path_create_directory(W, rd);
    (void)put_file(W, fmt("%s/rd/in", t), fmt("W-%s-rd", ID));
  }
}

static void op_link(void) {
  const char *t = fmt("t-%s", ID), *s = slot();
  unsigned n = seq++;
  if (__wasi_path_link(W, 0, fmt("%s/lf", t), W, fmt("%s/lf2", t)) == 0) {
    n_link++;
    __wasi_filestat_t st;
    attempts++;
    if (__wasi_path_filestat_get(W, 0, fmt("%s/lf", t), &st) == 0 && st.nlink < 2)
      wrg("link", fmt("nlink %llu after a link", (unsigned long long)st.nlink));
    if (__wasi_path_unlink_file(W, fmt("%s/lf2", t)) == 0) n_unlink++;
  }
  const char *l = fmt("%s/l-%s-%u", s, ID, n);
  if (__wasi_path_link(W, 0, fmt("%s/lf", t), W, l) == 0) {
    n_link++;
    (void)read_judged(W, l, 0, "a hard link in a swapped directory");
    if (__wasi_path_unlink_file(W, l) == 0) n_unlink++;
  }
}

static void op_symlink(void) {
  const char *t = fmt("t-%s", ID);
  unsigned n = seq++, k = rnd((unsigned)NSLOTS);
  static const char *const targets[] = {"../swap%u/..", "../swap%u", "../swap%u/in/../..", "../swap%u/in/../../..", "../swap%u/../t-%s/../.."};
  const char *tg = fmt(targets[rnd(5)], k, ID);
  const char *l = fmt("%s/s-%s-%u", t, ID, n);
  if (__wasi_path_symlink(tg, W, l)) return;
  n_symlink++;
  (void)read_judged(W, fmt("%s/marker", l), 0, fmt("a link %s", tg));
  (void)read_judged(W, fmt("%s/t-%s/probe", l), 0, fmt("a link %s", tg));
  __wasi_fd_t fd;
  if (open_dir(W, l, &fd) == 0) {
    n_open++;
    list_judged(fd, 0, fmt("a directory opened through a link %s", tg));
    (void)__wasi_fd_close(fd);
  }
  if (__wasi_path_unlink_file(W, l) == 0) n_unlink++;
}

static void op_links_open(void) {
  const char *t = fmt("t-%s", ID);
  unsigned k = rnd((unsigned)NSLOTS);
  char buf[256];
  (void)read_judged(W, fmt("%s/sw-%u/marker", t, k), 0, "through t/sw-K");
  (void)read_judged(W, fmt("%s/swin-%u/marker", t, k), 0, "through t/swin-K");
  (void)read_judged(W, fmt("%s/up/swap%u/marker", t, k), 0, "through t/up");
  /* upup -> ../.. and rootlink -> ../../token: the guest's own root, always */
  attempts++;
  n_open++;
  __wasi_errno_t e = slurp(W, FOLLOW, fmt("%s/upup/token-%s.txt", t, ID), buf, sizeof buf);
  if (e) wrg("t/upup/token", errname(e));
  else if (strcmp(buf, TOKEN)) esc("t/upup/token", fmt("holds \"%s\"", printable(buf)));
  attempts++;
  n_open++;
  e = slurp(W, FOLLOW, fmt("%s/rootlink", t), buf, sizeof buf);
  if (e) wrg("t/rootlink", errname(e));
  else if (strcmp(buf, TOKEN)) esc("t/rootlink", fmt("holds \"%s\"", printable(buf)));
  /* the link into /ro reads, but never writes */
  (void)read_judged(W, fmt("%s/rolink", t), ALLOW_RO, "through t/rolink");
  __wasi_fd_t fd;
  n_ro++;
  e = open_at(W, FOLLOW, fmt("%s/rolink", t), 0, R_RW, 0, &fd);
  if (e == 0) (void)__wasi_fd_close(fd);
  forbidden("open t/rolink for writing", e, __WASI_ERRNO_ROFS, 0);
}

static void op_dotdot(void) {
  const char *t = fmt("t-%s", ID);
  unsigned k = rnd((unsigned)NSLOTS);
  __wasi_filestat_t st;
  n_dotdot++;
  forbidden("t/up/../x (.. above the fd after a link)", __wasi_path_filestat_get(W, FOLLOW, fmt("%s/up/../x", t), &st), __WASI_ERRNO_NOTCAPABLE, 0);
  forbidden("t/upup/.. (.. after a link out of the fd's subtree)", __wasi_path_filestat_get(W, 0, fmt("%s/upup/..", t), &st), __WASI_ERRNO_NOTCAPABLE, 0);
  forbidden("create t/up/../x", put_file(W, fmt("%s/up/../f-%s-%u", t, ID, seq++), "W-x"), __WASI_ERRNO_NOTCAPABLE, 0);
  /* through a swapped directory: whatever it is now, the answer is the probe or an error */
  (void)read_judged(W, fmt("%s/sw-%u/../t-%s/probe", t, k, ID), 0, "t/sw-K/../t/probe");
  (void)read_judged(W, fmt("swap%u/in/../../t-%s/probe", k, ID), 0, "swapK/in/../../t/probe");
  char buf[64];
  attempts++;
  __wasi_errno_t e = slurp(W, FOLLOW, fmt("%s/../%s/probe", t, t), buf, sizeof buf);
  if (e) wrg("t/../t/probe", errname(e));
  else if (strcmp(buf, fmt("W-%s-probe", ID))) esc("t/../t/probe", fmt("holds \"%s\"", printable(buf)));
}

/* One walk 300 directories deep (past the directory cache), in /w or in its own root: a
 * few ms each, so one kind at a time. */
static void op_deep(void) {
  char buf[64];
  __wasi_filestat_t st;
  __wasi_errno_t e;
  unsigned n = seq++;
  n_deep++;
  switch (rnd(8)) {
  case 0:
    attempts++;
    e = slurp(W, FOLLOW, fmt("%s/leaf", deep_w), buf, sizeof buf);
    if (e || strcmp(buf, fmt("W-%s-leaf", ID))) wrg("deep leaf in /w", e ? errname(e) : printable(buf));
    break;
  case 1:
    attempts++;
    e = slurp(ROOT, FOLLOW, fmt("%s/leaf", deep_root), buf, sizeof buf);
    if (e || strcmp(buf, fmt("OWN-%s-leaf", ID))) wrg("deep leaf in the root", e ? errname(e) : printable(buf));
    break;
  case 2:
    /* top -> back to t-ID; `..` after it may climb to /w (t-ID is below it), no further */
    (void)read_judged(W, fmt("%s/top/probe", deep_w), 0, "deep/top/probe");
    break;
  case 3:
    (void)read_judged(W, fmt("%s/top/../swap%u/marker", deep_w, rnd((unsigned)NSLOTS)), 0, "deep/top/../swapK/marker");
    break;
  case 4:
    forbidden("deep/top/../../x", __wasi_path_filestat_get(W, 0, fmt("%s/top/../../x", deep_w), &st), __WASI_ERRNO_NOTCAPABLE, 0);
    break;
  case 5:
    forbidden("own deep/top/../../x", __wasi_path_filestat_get(ROOT, 0, fmt("%s/top/../../x", deep_root), &st), __WASI_ERRNO_NOTCAPABLE, 0);
    break;
  case 6: {
    /* a file created at the bottom, renamed to the top */
    const char *bottom = fmt("%s/b-%s-%u", deep_w, ID, n), *top = fmt("t-%s/b-%s-%u", ID, ID, n);
    if (put_file(W, bottom, fmt("W-%s-%u", ID, n)) == 0) {
      if (__wasi_path_rename(W, bottom, W, top) == 0) n_rename++;
      (void)read_judged(W, top, 0, "deep file renamed up");
      if (__wasi_path_unlink_file(W, top) == 0) n_unlink++;
    }
    break;
  }
  default: {
    /* two-path calls whose second walk goes past the cache after the first one's directory */
    const char *l = fmt("%s/l-%s-%u", deep_w, ID, n);
    if (__wasi_path_link(W, 0, fmt("t-%s/lf", ID), W, l) == 0) {
      n_link++;
      attempts++;
      e = slurp(W, 0, l, buf, sizeof buf);
      if (e || strcmp(buf, fmt("W-%s-lf", ID))) wrg("a link made at the bottom", e ? errname(e) : printable(buf));
      if (__wasi_path_unlink_file(W, l) == 0) n_unlink++;
    }
    const char *mv = fmt("t-%s/mv", ID), *there = fmt("%s/mv-%s-%u", deep_w, ID, n);
    (void)put_file(W, mv, fmt("W-%s-mv", ID));
    if (__wasi_path_rename(W, mv, W, there) == 0) {
      n_rename++;
      (void)read_judged(W, there, 0, "a file renamed to the bottom");
      if (__wasi_path_unlink_file(W, there) == 0) n_unlink++;
    }
    break;
  }
  }
}

/* ---- forbidden: the :ro mount, outside ---------------------------------------------------- */

static void op_ro(void) {
  __wasi_fd_t fd;
  __wasi_errno_t e;
  const char *t = fmt("t-%s", ID);
  unsigned n = seq++;
  n_ro++;
  switch (rnd(12)) {
  case 0:
    e = open_at(RO, 0, "RO-file-1.txt", 0, R_RW, 0, &fd);
    if (!e) (void)__wasi_fd_close(fd);
    forbidden("open /ro file for writing", e, __WASI_ERRNO_ROFS, 0);
    break;
  case 1:
    forbidden("create in /ro", put_file(RO, fmt("new-%s-%u", ID, n), "x"), __WASI_ERRNO_ROFS, 0);
    break;
  case 2:
    forbidden("mkdir in /ro", __wasi_path_create_directory(RO, fmt("d-%s-%u", ID, n)), __WASI_ERRNO_ROFS, 0);
    break;
  case 3:
    forbidden("unlink in /ro", __wasi_path_unlink_file(RO, "RO-file-2.txt"), __WASI_ERRNO_ROFS, 0);
    break;
  case 4:
    forbidden("rmdir in /ro", __wasi_path_remove_directory(RO, "RO-dir"), __WASI_ERRNO_ROFS, __WASI_ERRNO_NOTEMPTY);
    break;
  case 5:
    forbidden("rename in /ro", __wasi_path_rename(RO, "RO-file-3.txt", RO, "RO-file-9.txt"), __WASI_ERRNO_ROFS, 0);
    break;
  case 6:
    forbidden("rename /ro -> /w", __wasi_path_rename(RO, "RO-file-3.txt", W, fmt("%s/st-%s-%u", t, ID, n)), __WASI_ERRNO_XDEV, __WASI_ERRNO_ROFS);
    break;
  case 7:
    forbidden("link /ro -> /w", __wasi_path_link(RO, 0, "RO-file-0.txt", W, fmt("%s/hl-%s-%u", t, ID, n)), __WASI_ERRNO_XDEV, __WASI_ERRNO_ROFS);
    break;
  case 8:
    forbidden("link t/rolink (followed) -> /w", __wasi_path_link(W, FOLLOW, fmt("%s/rolink", t), W, fmt("%s/hl-%s-%u", t, ID, n)), __WASI_ERRNO_XDEV, __WASI_ERRNO_ROFS);
    forbidden("rename t/upup/ro/RO-file-1.txt -> /w", __wasi_path_rename(W, fmt("%s/upup/ro/RO-file-1.txt", t), W, fmt("%s/st-%s-%u", t, ID, n)), __WASI_ERRNO_XDEV, __WASI_ERRNO_ROFS);
    break;
  case 9:
    forbidden("symlink in /ro", __wasi_path_symlink("RO-file-0.txt", RO, fmt("sl-%s-%u", ID, n)), __WASI_ERRNO_ROFS, 0);
    forbidden("set times in /ro", __wasi_path_filestat_set_times(RO, 0, "RO-file-0.txt", 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), __WASI_ERRNO_ROFS, 0);
    break;
  case 10:
    e = open_at(RO, 0, "RO-dir/RO-sub.txt", __WASI_OFLAGS_TRUNC, R_RW, 0, &fd);
    if (!e) (void)__wasi_fd_close(fd);
    forbidden("open /ro file with TRUNC", e, __WASI_ERRNO_ROFS, 0);
    break;
  default:
    /* an fd opened for reading with full rights: every change through it fails */
    if (open_at(RO, 0, "RO-file-0.txt", 0, R_RO | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES, 0, &fd) == 0) {
      size_t w;
      forbidden("fd_write on a /ro file", write_all(fd, "x", 1, &w), __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_BADF);
      forbidden("fd_filestat_set_size on a /ro file", __wasi_fd_filestat_set_size(fd, 0), __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_ROFS);
      forbidden("fd_filestat_set_times on a /ro file", __wasi_fd_filestat_set_times(fd, 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), __WASI_ERRNO_ROFS, 0);
      (void)__wasi_fd_close(fd);
    }
    break;
  }
}

static void op_out(void) {
  const char *t = fmt("t-%s", ID);
  __wasi_filestat_t st;
  char buf[64];
  unsigned n = seq++;
  n_out++;
  switch (rnd(6)) {
  case 0:
    forbidden("absolute path", __wasi_path_filestat_get(W, 0, "/etc/passwd", &st), __WASI_ERRNO_NOTCAPABLE, 0);
    break;
  case 1:
    forbidden("../outside from /w", slurp(W, FOLLOW, "../outside/secret.txt", buf, sizeof buf), __WASI_ERRNO_NOTCAPABLE, 0);
    forbidden("../.. from /", __wasi_path_filestat_get(ROOT, 0, "../..", &st), __WASI_ERRNO_NOTCAPABLE, 0);
    break;
  case 2:
    attempts++;
    {
      __wasi_errno_t e = slurp(W, FOLLOW, fmt("%s/out", t), buf, sizeof buf);
      if (e == 0) esc("t/out (-> ../../../../outside/secret.txt)", fmt("read \"%s\"", printable(buf)));
      else if (e != __WASI_ERRNO_NOENT) wrg("t/out", errname(e));
    }
    break;
  case 3:
    forbidden("absolute symlink target", __wasi_path_symlink("/", W, fmt("%s/abs-%s-%u", t, ID, n)), __WASI_ERRNO_PERM, __WASI_ERRNO_NOTCAPABLE);
    break;
  case 4:
    forbidden("create ../x from /w", put_file(W, fmt("../f-%s-%u", ID, n), "W-x"), __WASI_ERRNO_NOTCAPABLE, 0);
    forbidden("mkdir ../x from /", __wasi_path_create_directory(ROOT, fmt("../d-%s-%u", ID, n)), __WASI_ERRNO_NOTCAPABLE, 0);
    break;
  default:
    /* a swapped directory opened as an fd, then .. from it */
    {
      __wasi_fd_t fd;
      const char *s = slot();
      if (open_dir(W, s, &fd) == 0) {
        forbidden(fmt("mkdir ../x from an fd on %s", s), __wasi_path_create_directory(fd, fmt("../d-%s-%u", ID, n)), __WASI_ERRNO_NOTCAPABLE, 0);
        (void)__wasi_fd_close(fd);
      }
    }
    break;
  }
}

static void op_own(void) {
  unsigned n = seq++;
  const char *a = fmt("own-%s/a-%s-%u", ID, ID, n), *b = fmt("own-%s/b-%s-%u", ID, ID, n), *d = fmt("own-%s/d-%s-%u", ID, ID, n);
  if (put_file(ROOT, a, fmt("OWN-%s-%u", ID, n))) return;
  if (__wasi_path_rename(ROOT, a, ROOT, b) == 0) n_rename++;
  if (__wasi_path_link(ROOT, 0, b, ROOT, a) == 0) n_link++;
  (void)read_judged(ROOT, a, 0, "own file");
  if (__wasi_path_unlink_file(ROOT, a) == 0) n_unlink++;
  if (__wasi_path_unlink_file(ROOT, b) == 0) n_unlink++;
  if (__wasi_path_create_directory(ROOT, d) == 0) n_mkdir++;
  if (__wasi_path_remove_directory(ROOT, d) == 0) n_rmdir++;
}

/* ---- the parent's own swap of the directory it shared ------------------------------------- */

static int share_swapped;
static void op_selfswap(void) {
  const char *t = fmt("t-%s", ID);
  const char *sh = fmt("%s/share", t), *away = fmt("%s/share.away", t);
  if (!share_swapped) {
    static const char *const targets[] = {"..", "../..", "../../..", "../swap0", "../../../../../.."};
    if (__wasi_path_rename(W, sh, W, away)) return;
    (void)__wasi_path_symlink(targets[rnd(5)], W, sh);
    share_swapped = 1;
  } else {
    (void)__wasi_path_unlink_file(W, sh);
    if (__wasi_path_rename(W, away, W, sh) == 0) share_swapped = 0;
  }
  n_selfswap++;
  unsigned n = seq++;
  if (put_file(W, fmt("%s/p-%s-%u", sh, ID, n), fmt("W-%s-%u", ID, n)) == 0) (void)__wasi_path_unlink_file(W, fmt("%s/p-%s-%u", sh, ID, n));
}

/* ---- the child: /s (writable share), /s2 (read-only share of a swapped directory) --------- */

static void op_child(void) {
  unsigned n = seq++;
  switch (rnd(4)) {
  case 0: {
    const char *a = fmt("c-%s-%u", ID, n), *b = fmt("cb-%s-%u", ID, n);
    if (put_file(S, a, fmt("W-%s-%u", ID, n))) break;
    if (__wasi_path_rename(S, a, S, b) == 0) n_rename++;
    if (__wasi_path_link(S, 0, b, S, a) == 0) n_link++;
    (void)read_judged(S, a, ALLOW_PARENT, "/s file");
    if (__wasi_path_unlink_file(S, a) == 0) n_unlink++;
    if (__wasi_path_unlink_file(S, b) == 0) n_unlink++;
    if (__wasi_path_create_directory(S, a) == 0) n_mkdir++;
    if (__wasi_path_remove_directory(S, a) == 0) n_rmdir++;
    break;
  }
  case 1: {
    /* /s is the directory the parent shared: its marker, its names, nothing above it */
    static char list[1 << 16];
    char buf[64];
    attempts++;
    n_open++;
    __wasi_errno_t e = slurp(S, FOLLOW, "marker", buf, sizeof buf);
    if (e || strcmp(buf, fmt("SHARE-%s", PID))) esc("/s/marker", e ? fmt("%s: /s is not the directory shared", errname(e)) : fmt("holds \"%s\"", printable(buf)));
    attempts++;
    n_list++;
    if (list_dir_fd((__wasi_fd_t)S, list, sizeof list) == 0)
      for (char *p = list; *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        if (strcmp(p, ".") && strcmp(p, "..") && strcmp(p, "marker") && !strstr(p, fmt("-%s-", ID)) && !strstr(p, fmt("-%s-", PID)))
          esc("/s lists", fmt("\"%s\" (not in the shared directory)", printable(p)));
        p = nl + 1;
      }
    __wasi_filestat_t st;
    forbidden("/s/..", __wasi_path_filestat_get(S, 0, "../marker", &st), __WASI_ERRNO_NOTCAPABLE, 0);
    break;
  }
  case 2:
    if (S2 >= 0) {
      list_judged((__wasi_fd_t)S2, ALLOW_PARENT, "/s2 (a read-only share of swap1/in)");
      forbidden("write into /s2", put_file(S2, fmt("c-%s-%u", ID, n), "W-x"), __WASI_ERRNO_ROFS, 0);
      forbidden("mkdir in /s2", __wasi_path_create_directory(S2, fmt("c-%s-%u", ID, n)), __WASI_ERRNO_ROFS, 0);
    }
    break;
  default:
    op_own();
    break;
  }
}

/* ---- main ---------------------------------------------------------------------------------- */

static char result[1 << 16];
static const char *CHILD_SECRET; /* a child's token is TOKEN-<its id>-<CHILD_SECRET> */
static uint64_t child_ms;
static uint32_t child_id;
static int n_children, n_child_failed;

static void summary(uint64_t ms) {
  printf("churn %s ops=%ld mkdir=%ld rmdir=%ld rename=%ld link=%ld unlink=%ld symlink=%ld open=%ld list=%ld deep=%ld ro=%ld out=%ld dotdot=%ld selfswaps=%ld children=%d s2=%d slot=%ld slotmiss=%ld ms=%llu setup_ms=%llu\n",
         ID, n_ops, n_mkdir, n_rmdir, n_rename, n_link, n_unlink, n_symlink, n_open, n_list, n_deep, n_ro, n_out,
         n_dotdot, n_selfswap, n_children, S2 >= 0, n_slot, n_slotmiss, (unsigned long long)ms, (unsigned long long)setup_ms);
}

/* Starts the next child (c<ID>_<k>), sharing t-ID/share (which this guest swaps) as /s and a
 * directory the host swaps, swapK/in, read-only as /s2 (the share fails while that path is not
 * a directory: then it is tried again, and the last try leaves /s2 out). */
static void start_child(void) {
  const char *cid = fmt("c%s_%d", ID, n_children);
  if (share_swapped) op_selfswap(); /* /s must be the shared directory itself when submitted */
  if (share_swapped) return;
  for (int tries = 0; tries < 40; tries++) {
    const char *with2 = tries < 39 ? fmt(",{\"guest\":\"/s2\",\"path\":\"/w/swap%u/in\",\"readonly\":true}", rnd(2)) : "";
    const char *spec = fmt("{\"module\":\"/ro/churn.wasm\",\"args\":[\"child\",\"%s\",\"%s\",\"%llu\",\"TOKEN-%s-%s\"],\"timeout_ms\":%llu,"
                           "\"mounts\":[{\"guest\":\"/s\",\"path\":\"/w/t-%s/share\"}%s]}",
                           cid, ID, (unsigned long long)child_ms, cid, CHILD_SECRET, (unsigned long long)(child_ms * 4 + 60000), ID, with2);
    int32_t e = wtm_task_submit(spec, (uint32_t)strlen(spec), &child_id);
    if (e == 0) {
      n_children++;
      op_selfswap(); /* at once: the child must still get the directory that was checked */
      return;
    }
    child_id = 0;
  }
  wrg("task_submit", fmt("%s never started", cid));
}

/* Collects the child's result (waiting for it with `wait`); its state is printed for the host. */
static void collect_child(int wait) {
  uint32_t used = 0;
  int32_t e = wait ? wtm_task_wait(child_id, result, sizeof result - 1, &used) : wtm_task_poll(result, sizeof result - 1, &used);
  if (e == WTM_ERRNO_AGAIN) return;
  result[e == 0 ? used : 0] = 0;
  const char *st = strstr(result, "\"state\":\"");
  if (e || !st || strncmp(st + 9, "success", 7)) n_child_failed++;
  printf("# child %d: %s %.12s\n", n_children - 1, e ? errname(e) : "done", st ? st + 9 : "?");
  child_id = 0;
}

/* churn stale DIR MS PATH...: reads each DIR/PATH every millisecond for MS ms (after the
 * first round it creates DIR/ready, for the host to move things) and prints each change of
 * answer:  read N PATH: ERRNO CONTENT */
static int stale(const char *dir, uint64_t ms, int npaths, char **paths) {
  int d = find_preopen(dir);
  if (d < 0) return 2;
  static char last[8][300], cur[300];
  char buf[256];
  if (npaths > 8) npaths = 8;
  uint64_t t0 = now_ms();
  for (long i = 0; now_ms() - t0 < ms; i++) {
    for (int k = 0; k < npaths; k++) {
      __wasi_errno_t e = slurp(d, 0, paths[k], buf, sizeof buf);
      snprintf(cur, sizeof cur, "%s %s", errname(e), e ? "" : printable(buf));
      if (strcmp(cur, last[k])) printf("read %ld %s: %s\n", i, paths[k], cur);
      strcpy(last[k], cur);
    }
    if (i == 0) (void)put_file(d, "ready", "W-ready");
    sleep_ms(1);
  }
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  (void)__wasi_random_get((uint8_t *)&rs, sizeof rs);
  rs |= 1;
  if (argc >= 5 && !strcmp(argv[1], "stale")) return stale(argv[2], (uint64_t)atoi(argv[3]), argc - 4, argv + 4);
  int child = argc >= 6 && !strcmp(argv[1], "child");
  if (!child && !(argc >= 6 && !strcmp(argv[1], "main"))) {
    printf("usage: churn main ID MS NSLOTS TOKEN [CHILD-SECRET CHILD-MS] | churn child ID PARENT-ID MS TOKEN\n");
    return 2;
  }
  ID = argv[2];
  uint64_t ms;
  if (child) {
    PID = argv[3];
    ms = (uint64_t)atoi(argv[4]);
    TOKEN = argv[5];
    S = find_preopen("/s");
    S2 = find_preopen("/s2");
  } else {
    ms = (uint64_t)atoi(argv[3]);
    NSLOTS = atoi(argv[4]);
    TOKEN = argv[5];
    W = find_preopen("/w");
    RO = find_preopen("/ro");
    if (argc >= 8) {
      CHILD_SECRET = argv[6];
      child_ms = (uint64_t)atoi(argv[7]);
    }
  }
  ROOT = find_preopen("/");
  if (ROOT < 0 || (child ? S < 0 : (W < 0 || RO < 0 || NSLOTS < 1))) {
    list_preopens();
    printf("churn %s: missing preopens\n", ID);
    return 2;
  }
  uint64_t setup0 = now_ms();
  setup_root();
  if (!child) {
    setup_main();
    if (CHILD_SECRET) {
      (void)__wasi_path_create_directory(W, fmt("t-%s/share", ID));
      (void)put_file(W, fmt("t-%s/share/marker", ID), fmt("SHARE-%s", ID));
    }
  }
  uint64_t t0 = now_ms(), t = t0;
  setup_ms = t0 - setup0;
  while (t - t0 < ms) {
    n_ops++;
    if (child) {
      op_child();
    } else {
      /* tasks of its own, one at a time, one after the other, while there is time */
      if (CHILD_SECRET && !child_id && t - t0 + child_ms + 200 < ms) start_child();
      if (child_id && (n_ops & 7) == 0) collect_child(0);
      switch (rnd(CHILD_SECRET ? 16 : 14)) {
      case 0: case 1: op_slot_write(); break;
      case 2: op_slot_mkdir(); break;
      case 3: op_slot_fd(); break;
      case 4: op_rename_cross(); break;
      case 5: op_link(); break;
      case 6: op_symlink(); break;
      case 7: op_links_open(); break;
      case 8: op_dotdot(); break;
      case 10: case 11: op_ro(); break;
      case 12: op_out(); break;
      case 9: case 13: op_own(); break;
      default: op_selfswap(); break;
      }
    }
    /* a deep walk (past the directory cache; as long as ~15 other operations) every 64 operations, the child's too */
    if ((n_ops & 63) == 0) {
      if (!child) op_deep();
      else {
        char buf[64];
        n_deep++;
        attempts++;
        __wasi_errno_t e = slurp(ROOT, FOLLOW, fmt("%s/leaf", deep_root), buf, sizeof buf);
        if (e || strcmp(buf, fmt("OWN-%s-leaf", ID))) wrg("deep leaf in the root", e ? errname(e) : printable(buf));
      }
    }
    t = now_ms();
  }
  if (share_swapped) op_selfswap();
  if (child_id) collect_child(1);
  summary(t - t0);
  return attack_end(child ? "churn child" : "churn");
}
