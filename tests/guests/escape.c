/* THE ESCAPE BATTERY: tries every way out of the guest's root that we could think
 * of, and counts the ones that worked.
 *
 * Contract with the host test (see escape-scenario.mjs, which prepares it):
 *   argv[1]  guest path of the writable root, normally "/"
 *   argv[2]  host path of the outside directory (a sibling of the root's host dir)
 *   argv[3]  name of the outside directory relative to the root's parent
 * Inside the root the host prepared:
 *   up -> ..      upup -> ../..      deep -> ../../../../../../../../..
 *   abs -> HOST-PATH-OF-OUTSIDE        abs_etc -> /etc
 *   chain1 -> chain2 -> chain3 -> ..   loop1 -> loop2 -> loop1
 *   sub/          sub/up -> ../..
 * The outside directory holds secret.txt containing TOP-SECRET.
 *
 * An escape is any try that read TOP-SECRET (or any file that exists only
 * outside), listed or stat'ed a directory outside the root, learnt that an outside
 * name exists (EXIST/NOTEMPTY where the tree has no such name), or created or
 * changed anything outside. A write-type call that succeeds is only accepted when
 * what it made turns up inside the root (where a chroot-like resolution puts it,
 * e.g. "up/x" -> "/x"); the host then checks that nothing outside changed.
 *
 * Output: "# try N DESC: RESULT" per attempt, "ESCAPE: DESC: DETAIL" per escape,
 * and a last line "attempts=N escapes=M". Exit 0 when escapes == 0, else 1
 * (2 when the root is not preopened).
 *
 * The battery assumes argv[1] is "/", so that ".." at the root may resolve to the
 * root itself; with another root every success that does not stay inside it counts
 * as an escape. Writes through "upup" and "deep" only ever target the outside
 * directory, so a runtime that leaks does not litter the host above it. */
#include "common.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define SECRET "TOP-SECRET"

WASI_RAW(path_open)
int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, uint32_t path_len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, uint32_t *out);

static int R;               /* the root preopen */
static int root_is_slash;   /* argv[1] == "/" */
static const char *O;       /* outside dir name, relative to the root's parent */
static const char *HOST;    /* host path of the outside dir */
static const char *HR;      /* HOST without its leading slash */
static char PN[256];        /* name of the root's parent (the outside dir's parent) */
static int attempts, escapes;

static struct { uint64_t dev, ino; } known[64];
static int nknown;

static void add_known(uint64_t dev, uint64_t ino) {
  if (nknown < 64) { known[nknown].dev = dev; known[nknown].ino = ino; nknown++; }
}
static int is_known(uint64_t dev, uint64_t ino) {
  for (int i = 0; i < nknown; i++)
    if (known[i].dev == dev && known[i].ino == ino) return 1;
  return 0;
}

/* printf into one of 64 rotating buffers: fine for short-lived strings only;
 * anything kept longer is strdup'ed. */
static char *fmt(const char *f, ...) {
  static char bufs[64][1024];
  static int slot;
  char *b = bufs[slot++ % 64];
  va_list ap;
  va_start(ap, f);
  vsnprintf(b, 1024, f, ap);
  va_end(ap);
  return b;
}

static void tried(const char *desc, const char *result) {
  printf("# try %d %s: %s\n", attempts, desc, result);
}

static void escape(const char *desc, const char *detail) {
  escapes++;
  printf("ESCAPE: %s: %s\n", desc, detail);
}

/* Does a listing show something that only exists outside the root? */
static const char *outside_names(const char *list) {
  if (list_has(list, O)) return O;
  if (list_has(list, "secret.txt")) return "secret.txt";
  if (PN[0] && list_has(list, PN)) return PN;
  if (list_has(list, "etc") && list_has(list, "usr")) return "etc+usr (the host's /)";
  if (list_has(list, "passwd")) return "passwd (the host's /etc)";
  return NULL;
}

static int exists_in_root(const char *name) {
  __wasi_filestat_t s;
  return __wasi_path_filestat_get(R, 0, name, &s) == 0;
}

static void remove_in_root(const char *name) {
  if (__wasi_path_unlink_file(R, name) != 0) (void)__wasi_path_remove_directory(R, name);
}

/* A write-type call succeeded: fine only if `inname` turned up inside the root. */
static void judge_write(const char *desc, const char *inname) {
  if (inname && exists_in_root(inname)) {
    tried(desc, fmt("SUCCESS, landed inside the root as /%s (contained)", inname));
    remove_in_root(inname);
  } else {
    tried(desc, "SUCCESS");
    escape(desc, inname ? fmt("succeeded and /%s is not inside the root", inname)
                        : "a write-type call through an escaping path succeeded");
  }
}

/* An errno that proves the path resolved to an existing outside object. */
static int leak_errno(const char *desc, __wasi_errno_t e, __wasi_errno_t leak) {
  if (e == leak) {
    tried(desc, errname(e));
    escape(desc, fmt("%s reveals an object outside the root", errname(e)));
    return 1;
  }
  return 0;
}

/* ---- reads ----------------------------------------------------------------------- */

static void read_fd_judge(const char *desc, __wasi_fd_t fd) {
  char buf[4096];
  size_t total = 0, n = 0;
  __wasi_errno_t e;
  while (total + 1 < sizeof buf && (e = read_some(fd, buf + total, sizeof buf - 1 - total, &n)) == 0 && n)
    total += n;
  buf[total] = 0;
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  (void)__wasi_fd_filestat_get(fd, &st);
  if (st.filetype == __WASI_FILETYPE_DIRECTORY) {
    char list[8192];
    const char *hit = NULL;
    if (list_dir_fd(fd, list, sizeof list) == 0) hit = outside_names(list);
    if (hit) { tried(desc, "SUCCESS (directory)"); escape(desc, fmt("listed a directory outside the root (%s)", hit)); return; }
    if (!is_known(st.dev, st.ino) && root_is_slash) {
      tried(desc, "SUCCESS (directory)");
      escape(desc, fmt("opened a directory that is not in the root (dev %llu ino %llu)",
                       (unsigned long long)st.dev, (unsigned long long)st.ino));
      return;
    }
    tried(desc, "SUCCESS (a directory inside the root)");
    return;
  }
  tried(desc, "SUCCESS");
  if (strstr(buf, SECRET)) escape(desc, "read " SECRET);
  else escape(desc, fmt("opened a file that exists only outside (%zu bytes: %.30s)", total, buf));
}

/* Any successful open of these paths is an escape: none exists inside the root. */
static void try_read_at(int dirfd, const char *desc, __wasi_lookupflags_t fl, const char *path) {
  attempts++;
  __wasi_fd_t fd;
  __wasi_errno_t e = open_at(dirfd, fl, path, 0, R_RO, 0, &fd);
  if (e) { tried(desc, errname(e)); return; }
  read_fd_judge(desc, fd);
  (void)__wasi_fd_close(fd);
}
static void try_read(__wasi_lookupflags_t fl, const char *path) {
  try_read_at(R, fmt("read %s%s", path, fl ? "" : " (nofollow)"), fl, path);
}

/* ---- stat --------------------------------------------------------------------- */

static void try_stat(__wasi_lookupflags_t fl, const char *path) {
  attempts++;
  const char *desc = fmt("stat %s%s", path, fl ? "" : " (nofollow)");
  __wasi_filestat_t st;
  __wasi_errno_t e = __wasi_path_filestat_get(R, fl, path, &st);
  if (e) { tried(desc, errname(e)); return; }
  if (st.filetype == __WASI_FILETYPE_DIRECTORY) {
    if (is_known(st.dev, st.ino)) { tried(desc, "SUCCESS (the root or a directory in it)"); return; }
    if (!root_is_slash) { tried(desc, "SUCCESS (a directory above a non-/ root; not judged)"); return; }
    tried(desc, "SUCCESS");
    escape(desc, fmt("a directory that is not in the root (dev %llu ino %llu)", (unsigned long long)st.dev,
                     (unsigned long long)st.ino));
    return;
  }
  if (st.filetype == __WASI_FILETYPE_SYMBOLIC_LINK && !fl) { tried(desc, "SUCCESS (the link itself)"); return; }
  tried(desc, "SUCCESS");
  escape(desc, fmt("stat of an object outside the root (type %u size %llu)", st.filetype,
                   (unsigned long long)st.size));
}

/* ---- directory fds ------------------------------------------------------------- */

/* Opens path as a directory and lists it; returns the fd if it is the root
 * itself (the contained outcome), else closes it and returns -1. */
static int try_list(int dirfd, const char *desc, const char *path) {
  attempts++;
  __wasi_fd_t fd;
  __wasi_errno_t e = open_dir(dirfd, path, &fd);
  if (e) { tried(desc, errname(e)); return -1; }
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  (void)__wasi_fd_filestat_get(fd, &st);
  char list[8192];
  list[0] = 0;
  __wasi_errno_t le = list_dir_fd(fd, list, sizeof list);
  const char *hit = le == 0 ? outside_names(list) : NULL;
  if (hit) {
    tried(desc, "SUCCESS");
    escape(desc, fmt("listed a directory outside the root (saw %s)", hit));
  } else if (!is_known(st.dev, st.ino) && root_is_slash) {
    tried(desc, "SUCCESS");
    escape(desc, fmt("opened a directory that is not in the root (dev %llu ino %llu)",
                     (unsigned long long)st.dev, (unsigned long long)st.ino));
  } else {
    tried(desc, is_known(st.dev, st.ino) ? "SUCCESS (the root or a directory in it)" : "SUCCESS (not judged)");
  }
  return (int)fd;
}

/* What can be done from a directory fd reached through an escaping path. */
static void from_dir_fd(const char *via, int fd, int may_write) {
  try_read_at(fd, fmt("[%s] read secret.txt", via), FOLLOW, "secret.txt");
  try_read_at(fd, fmt("[%s] read %s/secret.txt", via, O), FOLLOW, fmt("%s/secret.txt", O));
  try_read_at(fd, fmt("[%s] read ../%s/secret.txt", via, O), FOLLOW, fmt("../%s/secret.txt", O));
  int up = try_list(fd, fmt("[%s] list ..", via), "..");
  if (up >= 0) {
    try_read_at(up, fmt("[%s/..] read %s/secret.txt", via, O), FOLLOW, fmt("%s/secret.txt", O));
    (void)__wasi_fd_close(up);
  }
  if (may_write) {
    attempts++;
    const char *name = fmt("pw_%d", attempts);
    const char *desc = fmt("[%s] create %s", via, name);
    __wasi_fd_t f;
    __wasi_errno_t e = open_at(fd, 0, name, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &f);
    if (e) tried(desc, errname(e));
    else {
      size_t n;
      (void)write_all(f, "pwned\n", 6, &n);
      (void)__wasi_fd_close(f);
      judge_write(desc, name);
    }
  }
}

/* ---- writes ------------------------------------------------------------------- */

/* prefix: a directory path; inside: 1 when a contained resolution maps prefix to
 * the root itself (so the new name must then appear at /NAME). */
static void try_create(const char *prefix, int inside) {
  attempts++;
  const char *name = fmt("pw_%d", attempts);
  const char *path = fmt("%s/%s", prefix, name);
  const char *desc = fmt("create %s", path);
  __wasi_fd_t f;
  __wasi_errno_t e = open_at(R, FOLLOW, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &f);
  if (e) { tried(desc, errname(e)); return; }
  size_t n;
  (void)write_all(f, "pwned\n", 6, &n);
  (void)__wasi_fd_close(f);
  judge_write(desc, inside ? name : NULL);
}

static void try_mkdir(const char *prefix, int inside) {
  attempts++;
  const char *name = fmt("md_%d", attempts);
  const char *path = fmt("%s/%s", prefix, name);
  const char *desc = fmt("mkdir %s", path);
  __wasi_errno_t e = __wasi_path_create_directory(R, path);
  if (e) { tried(desc, errname(e)); return; }
  judge_write(desc, inside ? name : NULL);
}

static void try_symlink_at(const char *prefix, int inside) {
  attempts++;
  const char *name = fmt("sl_%d", attempts);
  const char *path = fmt("%s/%s", prefix, name);
  const char *desc = fmt("symlink %s", path);
  __wasi_errno_t e = __wasi_path_symlink("mine.txt", R, path);
  if (e) { tried(desc, errname(e)); return; }
  judge_write(desc, inside ? name : NULL);
}

static void try_link_out(const char *prefix, int inside) {
  attempts++;
  const char *name = fmt("lk_%d", attempts);
  const char *path = fmt("%s/%s", prefix, name);
  const char *desc = fmt("link mine.txt -> %s", path);
  __wasi_errno_t e = __wasi_path_link(R, 0, "mine.txt", R, path);
  if (e) { tried(desc, errname(e)); return; }
  judge_write(desc, inside ? name : NULL);
}

static void try_rename_out(const char *prefix, int inside, int dir) {
  attempts++;
  const char *src = fmt("%s_%d", dir ? "dirmv" : "mv", attempts);
  const char *name = fmt("moved_%d", attempts);
  const char *path = fmt("%s/%s", prefix, name);
  const char *desc = fmt("rename %s %s -> %s", dir ? "dir" : "file", src, path);
  __wasi_errno_t e = dir ? __wasi_path_create_directory(R, src) : put_file(R, src, "moving out\n");
  if (e) { attempts--; printf("# setup of %s failed: %s\n", src, errname(e)); return; }
  e = __wasi_path_rename(R, src, R, path);
  if (e) { tried(desc, errname(e)); remove_in_root(src); return; }
  judge_write(desc, inside ? name : NULL);
}

/* Old path outside: a success links an outside file into the root. */
static void try_link_in(__wasi_lookupflags_t fl, const char *old) {
  attempts++;
  const char *name = fmt("stolen_%d", attempts);
  const char *desc = fmt("link %s%s -> %s", old, fl ? " (follow)" : "", name);
  __wasi_errno_t e = __wasi_path_link(R, fl, old, R, name);
  if (leak_errno(desc, e, __WASI_ERRNO_EXIST)) return;
  if (e) { tried(desc, errname(e)); return; }
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  (void)__wasi_path_filestat_get(R, 0, name, &st);
  if (st.filetype == __WASI_FILETYPE_SYMBOLIC_LINK) {
    /* a hard link to an in-tree symlink: harmless by itself; follow it */
    tried(desc, "SUCCESS (linked the symlink itself)");
    try_read(FOLLOW, name);
  } else {
    char buf[256];
    size_t n;
    (void)get_file(R, 0, name, buf, sizeof buf, &n);
    tried(desc, "SUCCESS");
    escape(desc, strstr(buf, SECRET) ? "hard-linked the secret into the root"
                                     : "hard-linked an outside file into the root");
  }
  remove_in_root(name);
}

static void try_append(__wasi_lookupflags_t fl, const char *path) {
  attempts++;
  const char *desc = fmt("open for append %s", path);
  __wasi_fd_t f;
  __wasi_errno_t e = open_at(R, fl, path, 0, R_RW, __WASI_FDFLAGS_APPEND, &f);
  if (e) { tried(desc, errname(e)); return; }
  size_t n = 0;
  e = write_all(f, "\nPWNED\n", 7, &n);
  (void)__wasi_fd_close(f);
  tried(desc, fmt("SUCCESS (write: %s)", errname(e)));
  escape(desc, e ? "opened an outside file for writing" : "appended to an outside file");
}

static void try_utimes(__wasi_lookupflags_t fl, const char *path) {
  attempts++;
  const char *desc = fmt("set times %s%s", path, fl ? "" : " (nofollow)");
  __wasi_errno_t e = __wasi_path_filestat_set_times(R, fl, path, 0, 1234567890ull * 1000000000ull,
                                                    __WASI_FSTFLAGS_MTIM);
  if (e) { tried(desc, errname(e)); return; }
  tried(desc, "SUCCESS");
  escape(desc, "changed the times of an object outside the root");
}

static void try_mkdir_outside_name(const char *path, const char *inname) {
  attempts++;
  const char *desc = fmt("mkdir %s", path);
  __wasi_errno_t e = __wasi_path_create_directory(R, path);
  if (leak_errno(desc, e, __WASI_ERRNO_EXIST)) return;
  if (e) { tried(desc, errname(e)); return; }
  judge_write(desc, inname);
}

static void try_creat_excl_existing(const char *path) {
  attempts++;
  const char *desc = fmt("create-exclusive %s", path);
  __wasi_fd_t f;
  __wasi_errno_t e = open_at(R, FOLLOW, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &f);
  if (leak_errno(desc, e, __WASI_ERRNO_EXIST)) return;
  if (e) { tried(desc, errname(e)); return; }
  (void)__wasi_fd_close(f);
  judge_write(desc, NULL);
}

static void try_rmdir(const char *path) {
  attempts++;
  const char *desc = fmt("rmdir %s", path);
  __wasi_errno_t e = __wasi_path_remove_directory(R, path);
  if (leak_errno(desc, e, __WASI_ERRNO_NOTEMPTY)) return;
  if (e) { tried(desc, errname(e)); return; }
  tried(desc, "SUCCESS");
  escape(desc, "removed a directory outside the root");
}

static void try_trunc(const char *path) {
  attempts++;
  const char *desc = fmt("open with TRUNC %s", path);
  __wasi_fd_t f;
  __wasi_errno_t e = open_at(R, FOLLOW, path, __WASI_OFLAGS_TRUNC, R_RW, 0, &f);
  if (e) { tried(desc, errname(e)); return; }
  (void)__wasi_fd_close(f);
  tried(desc, "SUCCESS");
  escape(desc, "truncated an outside file");
}

static void try_rename_in(const char *old) {
  attempts++;
  const char *name = fmt("grab_%d", attempts);
  const char *desc = fmt("rename %s -> %s", old, name);
  __wasi_errno_t e = __wasi_path_rename(R, old, R, name);
  if (e) { tried(desc, errname(e)); return; }
  tried(desc, "SUCCESS");
  escape(desc, "moved an outside file into the root");
}

static void try_unlink(const char *path) {
  attempts++;
  const char *desc = fmt("unlink %s", path);
  __wasi_errno_t e = __wasi_path_unlink_file(R, path);
  if (e) { tried(desc, errname(e)); return; }
  tried(desc, "SUCCESS");
  escape(desc, "removed an outside file");
}

/* ---- setup helpers ---------------------------------------------------------------- */

static void expect_link(const char *name, const char *target) {
  char buf[1024];
  size_t n = 0;
  memset(buf, 0, sizeof buf);
  __wasi_errno_t e = __wasi_path_readlink(R, name, (uint8_t *)buf, sizeof buf - 1, &n);
  if (e) printf("# scenario: %s missing (%s)\n", name, errname(e));
  else if (n != strlen(target) || memcmp(buf, target, n)) printf("# scenario: %s -> %.*s (want %s)\n", name, (int)n, buf, target);
}

static void own_symlink(const char *target, const char *name) {
  attempts++;
  __wasi_errno_t e = __wasi_path_symlink(target, R, name);
  tried(fmt("create own symlink %s -> %s", name, target), e ? errname(e) : "SUCCESS");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 4) {
    printf("usage: escape ROOT_GUEST_PATH OUTSIDE_HOST_PATH OUTSIDE_NAME\n");
    return 2;
  }
  root_is_slash = strcmp(argv[1], "/") == 0;
  HOST = argv[2];
  HR = HOST[0] == '/' ? HOST + 1 : HOST;
  O = argv[3];
  {
    /* PN = basename(dirname(HOST)) */
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", HOST);
    size_t l = strlen(tmp);
    while (l > 1 && tmp[l - 1] == '/') tmp[--l] = 0;
    char *slash = strrchr(tmp, '/');
    if (slash) {
      *slash = 0;
      char *p2 = strrchr(tmp, '/');
      snprintf(PN, sizeof PN, "%s", p2 ? p2 + 1 : tmp);
    }
  }
  R = find_preopen(argv[1]);
  if (R < 0) {
    list_preopens();
    printf("no preopen named %s\nattempts=0 escapes=0\n", argv[1]);
    return 2;
  }
  printf("# root %s is fd %d; outside %s (name %s, parent %s)\n", argv[1], R, HOST, O, PN);
  if (!root_is_slash) printf("# note: root is not \"/\": directory identity checks are off\n");

  __wasi_filestat_t st;
  if (__wasi_fd_filestat_get(R, &st) == 0) add_known(st.dev, st.ino);
  if (__wasi_path_filestat_get(R, 0, ".", &st) == 0) add_known(st.dev, st.ino);
  if (__wasi_path_filestat_get(R, 0, "sub", &st) == 0) add_known(st.dev, st.ino);
  else printf("# scenario: sub/ missing\n");
  expect_link("up", "..");
  expect_link("upup", "../..");
  expect_link("deep", "../../../../../../../../..");
  expect_link("abs", HOST);
  expect_link("abs_etc", "/etc");
  expect_link("chain1", "chain2");
  expect_link("chain2", "chain3");
  expect_link("chain3", "..");
  expect_link("loop1", "loop2");
  expect_link("loop2", "loop1");
  expect_link("sub/up", "../..");
  if (put_file(R, "mine.txt", "mine\n") != 0) printf("# setup: cannot create mine.txt\n");
  __wasi_fd_t R2;
  if (open_dir(R, ".", &R2) != 0) R2 = (__wasi_fd_t)-1;

  /* --- our own symlinks ------------------------------------------------------------- */
  own_symlink("..", "my_up");
  own_symlink("../..", "my_upup");
  own_symlink("../../../../../../../../..", "my_deep");
  own_symlink(HOST, "my_abs");
  own_symlink("/", "my_root");
  own_symlink("/etc", "my_etc");
  own_symlink(fmt("../%s/secret.txt", O), "my_secret");
  own_symlink(fmt("%s/secret.txt", HOST), "my_secret_abs");
  own_symlink("../..", "sub/my_up");
  own_symlink(fmt("up/%s", O), "my_chain");
  own_symlink("sub/../..", "my_dotdot");

  /* --- reading the secret -------------------------------------------------------------- */
  try_read(FOLLOW, fmt("../%s/secret.txt", O));
  try_read(FOLLOW, fmt("./../%s/secret.txt", O));
  try_read(FOLLOW, fmt("sub/../../%s/secret.txt", O));
  try_read(FOLLOW, fmt("sub/./../../%s/secret.txt", O));
  try_read(FOLLOW, fmt("sub//..//..//%s//secret.txt", O));
  try_read(FOLLOW, fmt("nonexistent/../../%s/secret.txt", O));
  try_read(FOLLOW, fmt("../../%s/%s/secret.txt", PN, O));
  try_read(FOLLOW, fmt("../../../../../../../../../../%s/secret.txt", HR));
  try_read(FOLLOW, fmt("up/%s/secret.txt", O));
  try_read(0, fmt("up/%s/secret.txt", O));
  try_read(FOLLOW, fmt("up/./%s/secret.txt", O));
  try_read(FOLLOW, fmt("./up/%s/secret.txt", O));
  try_read(FOLLOW, fmt("sub/../up/%s/secret.txt", O));
  try_read(FOLLOW, fmt("upup/%s/%s/secret.txt", PN, O));
  try_read(FOLLOW, fmt("deep/%s/secret.txt", HR));
  try_read(FOLLOW, "abs/secret.txt");
  try_read(0, "abs/secret.txt");
  try_read(FOLLOW, "abs/./secret.txt");
  try_read(FOLLOW, fmt("sub/up/%s/secret.txt", O));
  try_read(FOLLOW, fmt("chain1/%s/secret.txt", O));
  try_read(FOLLOW, fmt("chain2/%s/secret.txt", O));
  try_read(FOLLOW, fmt("up/../%s/%s/secret.txt", PN, O));
  try_read(FOLLOW, fmt("abs/../%s/secret.txt", O));
  try_read(FOLLOW, "abs_etc/passwd");
  try_read(FOLLOW, fmt("abs_etc/../%s/secret.txt", HR));
  try_read(FOLLOW, fmt("loop1/%s/secret.txt", O));
  try_read(FOLLOW, fmt("my_up/%s/secret.txt", O));
  try_read(FOLLOW, fmt("my_upup/%s/%s/secret.txt", PN, O));
  try_read(FOLLOW, fmt("my_deep/%s/secret.txt", HR));
  try_read(FOLLOW, "my_abs/secret.txt");
  try_read(FOLLOW, fmt("my_root/%s/secret.txt", HR));
  try_read(FOLLOW, "my_secret");
  try_read(FOLLOW, "my_secret_abs");
  try_read(FOLLOW, fmt("sub/my_up/%s/secret.txt", O));
  try_read(FOLLOW, "my_chain/secret.txt");
  try_read(FOLLOW, fmt("my_dotdot/%s/secret.txt", O));
  try_read(FOLLOW, "my_etc/passwd");
  try_read(FOLLOW, fmt("%s/secret.txt", HOST));
  try_read(FOLLOW, fmt("/../%s/secret.txt", O));
  try_read(FOLLOW, "/etc/passwd");
  try_read(FOLLOW, fmt("..\\%s\\secret.txt", O));
  try_read(FOLLOW, fmt("up/%s/secret.txt/", O));
  {
    /* a NUL inside the path: a host that passes C strings would stop at "sub" */
    char p[512];
    int len = snprintf(p, sizeof p, "sub%c/../../%s/secret.txt", 0, O);
    uint32_t fd = 0;
    attempts++;
    const char *desc = "read sub\\0/../../OUTSIDE/secret.txt (raw, embedded NUL)";
    __wasi_errno_t e = (__wasi_errno_t)raw_path_open(R, FOLLOW, p, (uint32_t)len, 0, (int64_t)R_RO, (int64_t)R_ALL, 0, &fd);
    if (e) tried(desc, errname(e));
    else { read_fd_judge(desc, fd); (void)__wasi_fd_close(fd); }
  }

  /* --- stat ------------------------------------------------------------------------- */
  try_stat(FOLLOW, "..");
  try_stat(FOLLOW, "./..");
  try_stat(FOLLOW, "sub/../..");
  try_stat(FOLLOW, "up");
  try_stat(FOLLOW, "up/");
  try_stat(FOLLOW, "upup");
  try_stat(FOLLOW, "deep");
  try_stat(FOLLOW, "abs");
  try_stat(FOLLOW, "abs_etc");
  try_stat(FOLLOW, "sub/up");
  try_stat(FOLLOW, "chain1");
  try_stat(FOLLOW, "my_up");
  try_stat(FOLLOW, "my_upup");
  try_stat(FOLLOW, "my_dotdot");
  try_stat(FOLLOW, fmt("up/%s", O));
  try_stat(0, fmt("up/%s/secret.txt", O));
  try_stat(FOLLOW, "abs/secret.txt");
  try_stat(FOLLOW, "up/..");
  try_stat(FOLLOW, "/");
  try_stat(FOLLOW, HOST);

  /* --- directory fds ------------------------------------------------------------------ */
  static const struct { const char *path; int may_write; } dirs[] = {
    {"..", 1}, {"./..", 1}, {"sub/../..", 1}, {"up", 1}, {"upup", 0}, {"deep", 0}, {"abs", 1},
    {"abs_etc", 0}, {"sub/up", 1}, {"chain1", 1}, {"my_up", 1}, {"my_upup", 0}, {"my_deep", 0},
    {"my_abs", 1}, {"my_root", 0}, {"my_dotdot", 1}, {"/", 0},
  };
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    int fd = try_list(R, fmt("list %s", dirs[i].path), dirs[i].path);
    if (fd >= 0) {
      __wasi_filestat_t s2;
      memset(&s2, 0, sizeof s2);
      (void)__wasi_fd_filestat_get(fd, &s2);
      /* writes only where a leak lands in our own temporary directories */
      from_dir_fd(dirs[i].path, fd, dirs[i].may_write);
      (void)__wasi_fd_close(fd);
    }
  }
  (void)try_list(R, fmt("list %s", HOST), HOST);
  {
    int fd = try_list(R, "list sub", "sub");
    if (fd >= 0) {
      try_read_at(fd, fmt("[sub] read ../../%s/secret.txt", O), FOLLOW, fmt("../../%s/secret.txt", O));
      try_read_at(fd, fmt("[sub] read up/%s/secret.txt", O), FOLLOW, fmt("up/%s/secret.txt", O));
      int up = try_list(fd, "[sub] list ..", "..");
      if (up >= 0) (void)__wasi_fd_close(up);
      (void)__wasi_fd_close(fd);
    }
  }

  /* --- writes through escaping paths ------------------------------------------------ */
  /* prefixes that lead to the root's parent when they leak, to the root when contained */
  static const char *to_parent[] = {"..", "./..", "sub/../..", "up", "sub/up", "chain1", "my_up", "my_dotdot"};
  for (size_t i = 0; i < sizeof to_parent / sizeof *to_parent; i++) try_create(to_parent[i], 1);
  /* prefixes that lead to the outside directory when they leak */
  const char *to_outside[] = {
    strdup(fmt("../%s", O)), strdup(fmt("up/%s", O)), strdup(fmt("upup/%s/%s", PN, O)),
    strdup(fmt("deep/%s", HR)), "abs", strdup(fmt("sub/up/%s", O)), strdup(fmt("chain1/%s", O)),
    strdup(fmt("my_up/%s", O)), "my_abs", "my_chain", strdup(fmt("my_root/%s", HR)), HOST,
  };
  size_t nout = sizeof to_outside / sizeof *to_outside;
  for (size_t i = 0; i < nout; i++) try_create(to_outside[i], 0);
  for (size_t i = 0; i < 4; i++) try_mkdir(to_parent[i], 1);
  for (size_t i = 0; i < nout; i += 2) try_mkdir(to_outside[i], 0);
  try_mkdir_outside_name(fmt("up/%s", O), O);
  try_mkdir_outside_name(fmt("../%s", O), O);
  try_creat_excl_existing(fmt("up/%s/secret.txt", O));
  try_creat_excl_existing("abs/secret.txt");
  try_symlink_at("up", 1);
  try_symlink_at("..", 1);
  try_symlink_at("abs", 0);
  try_symlink_at(fmt("up/%s", O), 0);
  try_link_out("up", 1);
  try_link_out("..", 1);
  try_link_out("abs", 0);
  try_link_out(fmt("up/%s", O), 0);
  try_link_out(fmt("chain1/%s", O), 0);
  try_rename_out("up", 1, 0);
  try_rename_out("..", 1, 0);
  try_rename_out("abs", 0, 0);
  try_rename_out(fmt("up/%s", O), 0, 0);
  try_rename_out(fmt("sub/up/%s", O), 0, 0);
  try_rename_out(fmt("up/%s", O), 0, 1);
  try_link_in(0, fmt("up/%s/secret.txt", O));
  try_link_in(0, "abs/secret.txt");
  try_link_in(0, fmt("../%s/secret.txt", O));
  try_link_in(FOLLOW, "my_secret");
  try_link_in(0, "my_secret");
  try_link_in(0, fmt("deep/%s/secret.txt", HR));
  try_link_in(FOLLOW, "abs/secret.txt");
  try_append(FOLLOW, fmt("up/%s/secret.txt", O));
  try_append(FOLLOW, "abs/secret.txt");
  try_append(FOLLOW, "my_secret");
  try_append(FOLLOW, fmt("../%s/secret.txt", O));
  try_append(FOLLOW, fmt("%s/secret.txt", HOST));
  try_utimes(FOLLOW, fmt("up/%s/secret.txt", O));
  try_utimes(0, fmt("up/%s/secret.txt", O));
  try_utimes(FOLLOW, "abs/secret.txt");
  try_utimes(FOLLOW, "my_secret");
  try_utimes(FOLLOW, fmt("up/%s", O));
  try_utimes(FOLLOW, "abs/.");
  try_rmdir(fmt("up/%s", O));
  try_rmdir("abs/");

  /* --- destructive ones last ---------------------------------------------------------- */
  try_trunc(fmt("sub/up/%s/secret.txt", O));
  try_trunc("my_secret");
  try_trunc("abs/secret.txt");
  try_rename_in(fmt("up/%s/secret.txt", O));
  try_rename_in("abs/secret.txt");
  try_unlink(fmt("up/%s/secret.txt", O));
  try_unlink("abs/secret.txt");
  try_unlink(fmt("../%s/secret.txt", O));
  try_unlink(fmt("chain1/%s/secret.txt", O));
  try_unlink(fmt("deep/%s/secret.txt", HR));

  /* --- the fd table: renumber over the preopen, close it ------------------------------ */
  {
    __wasi_fd_t up;
    attempts++;
    __wasi_errno_t e = open_dir(R, "up", &up);
    if (e == 0) {
      e = __wasi_fd_renumber(up, R);
      tried("renumber a dir fd opened via up over the root preopen", e ? errname(e) : "SUCCESS");
      try_read_at(R, fmt("[renumbered] read %s/secret.txt", O), FOLLOW, fmt("%s/secret.txt", O));
      try_read_at(R, "[renumbered] read secret.txt", FOLLOW, "secret.txt");
      int l = try_list(R, "[renumbered] list .", ".");
      if (l >= 0) (void)__wasi_fd_close(l);
      l = try_list(R, "[renumbered] list ..", "..");
      if (l >= 0) (void)__wasi_fd_close(l);
    } else {
      tried("renumber a dir fd opened via up over the root preopen", fmt("open up: %s", errname(e)));
    }
    if (R2 != (__wasi_fd_t)-1) {
      attempts++;
      e = __wasi_fd_renumber(R2, R);
      tried("renumber the root's own dir fd back over the preopen", e ? errname(e) : "SUCCESS");
      if (e == 0) R2 = (__wasi_fd_t)-1;
    }
    attempts++;
    e = __wasi_fd_close(R);
    tried("close the root preopen", e ? errname(e) : "SUCCESS");
    try_read_at(R, fmt("[closed] read up/%s/secret.txt", O), FOLLOW, fmt("up/%s/secret.txt", O));
    attempts++;
    int again = find_preopen(argv[1]);
    tried("look for the closed preopen again", again < 0 ? "gone" : fmt("fd %d", again));
    if (again >= 0) {
      R = again;
      try_read(FOLLOW, fmt("../%s/secret.txt", O));
    }
    /* with the preopen gone, a fresh open must not reach anything by absolute path */
    for (int fd = 3; fd < 16; fd++) {
      __wasi_prestat_t ps;
      if (__wasi_fd_prestat_get(fd, &ps) == 0) {
        try_read_at(fd, fmt("[fd %d] read %s/secret.txt", fd, HOST), FOLLOW, fmt("%s/secret.txt", HOST));
        try_read_at(fd, fmt("[fd %d] read up/%s/secret.txt", fd, O), FOLLOW, fmt("up/%s/secret.txt", O));
      }
    }
    if (R2 != (__wasi_fd_t)-1) (void)__wasi_fd_close(R2);
  }

  printf("attempts=%d escapes=%d\n", attempts, escapes);
  return escapes == 0 ? 0 : 1;
}
