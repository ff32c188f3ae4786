/* ATTACK C: the literal `..` of a path argument after a followed symlink (RULES.md rule 3).
 *
 * A `..` that comes from the path argument itself is NOTCAPABLE unless the walk is, at that
 * moment, strictly below the directory of the fd the path is relative to, and this holds after
 * links were followed too. Where a link took the walk outside the fd's subtree (an absolute
 * link, a target with ../..), every literal `..` after it is NOTCAPABLE. A link target's own
 * `..` may climb (rule 4).
 *
 * Contract with the host (tests/containment.test.js):
 *   argv[1]  the guest path of the data mount, "/data" (its fd is the one attacked)
 *   the guest's `/` is a second, writable mount (the root mount) holding
 *     root.txt ("ROOT-ONLY"), rootlink -> root.txt, v0..v39 (files), vd0..vd39 (empty dirs),
 *     r0..r39 (files)
 *   /data holds file.txt ("DATA-FILE"), datalink -> file.txt, sub/subfile.txt ("SUB-FILE"),
 *     sub/deep/, sub2/s2.txt ("SUB2-FILE") and abs -> / (planted by the host: a guest cannot
 *     make an absolute link)
 * The guest makes its own relative links in /data (and removes them at the end):
 *   lnk0 -> .            sub/lnk -> .          sub/tosib -> ../sub2    sub/up -> ..
 *   sub/c1 -> c2 -> c3 -> .                    sub/cc1 -> cc2 -> ../sub2
 *   sub/cl -> ../sub2/../sub                   sub/out -> ../..
 *   sub/deep/lnk -> .    sub/deep/up -> ..
 * Then every path call is tried with prefixes whose literal `..` climbs above the fd (each must
 * be NOTCAPABLE: a success is an ESCAPE, another errno WRONG) and with prefixes whose `..`
 * stays strictly below it (each must act on /data itself: anything else is WRONG, or an
 * ESCAPE if it acted on the root mount). Last line: attempts=N escapes=M wrong=K. */
#include "attack.h"

static int D;  /* the /data fd (a preopen) */
static int RT; /* the root mount's preopen, to look at what landed there */
static __wasi_filestat_t file_st;

/* Prefixes P: P/NAME must be NOTCAPABLE from D. */
static const char *const BAD[] = {
  "lnk0/..",               /* link to . at the fd's own level */
  "sub/lnk/../..",         /* link to . one level down (the example) */
  "sub/lnk/lnk/../..",     /* the same link followed twice */
  "sub/tosib/../..",       /* link to a sibling directory */
  "sub/up/..",             /* link to .. : after it the walk is at the fd's level */
  "sub/c1/../..",          /* chain of three ending in . */
  "sub/cc1/../..",         /* chain ending at a sibling */
  "sub/cl/../..",          /* target that climbs and comes back down */
  "sub/deep/lnk/../../..", /* link to . two levels down */
  "sub/deep/up/../..",     /* link to .. two levels down */
  "sub/deep/lnk/../up/..", /* two links, `..` between them */
  "abs/data/..",           /* the host's absolute link: outside the subtree */
  "abs/..",                /* `..` right after an absolute link to / */
  "sub/out/data/..",       /* a target with ../.. took the walk outside */
};
#define NBAD (int)(sizeof BAD / sizeof BAD[0])

/* Prefixes P: P/NAME must name /data/NAME. */
static const char *const GOOD[] = {
  "sub/lnk/..", "sub/lnk/lnk/..", "sub/tosib/..", "sub/c1/..", "sub/cc1/..", "sub/cl/..",
  "sub/deep/lnk/../..", "sub/deep/up/..", "sub/deep/lnk/../up",
};
#define NGOOD (int)(sizeof GOOD / sizeof GOOD[0])

static void mklink(const char *target, const char *path) {
  __wasi_errno_t e = __wasi_path_symlink(target, D, path);
  if (e) printf("# setup: symlink %s -> %s: %s\n", path, target, errname(e));
}

/* A bad-prefix call answered e: NOTCAPABLE is right; 0 is an escape (what it did is detail). */
static void judge_bad(const char *desc, __wasi_errno_t e, const char *what) {
  if (e == __WASI_ERRNO_NOTCAPABLE) { tried(desc, "NOTCAPABLE"); return; }
  if (e == 0) { tried(desc, "SUCCESS"); escape(desc, what); return; }
  tried(desc, errname(e));
  wrong(desc, fmt("errno (got %s want NOTCAPABLE)", errname(e)));
}

static void bad_calls(int fd, const char *via, const char *P, int i) {
  char buf[256];
  __wasi_errno_t e;
  __wasi_fd_t f;
  __wasi_filestat_t st;
  const char *d;

  attempts++;
  d = fmt("[%s] open %s/root.txt", via, P);
  e = slurp(fd, FOLLOW, fmt("%s/root.txt", P), buf, sizeof buf);
  judge_bad(d, e, fmt("read a file above the fd: \"%.40s\"", buf));

  attempts++;
  d = fmt("[%s] stat %s/root.txt", via, P);
  e = __wasi_path_filestat_get(fd, FOLLOW, fmt("%s/root.txt", P), &st);
  judge_bad(d, e, fmt("stat of a file above the fd (size %llu)", (unsigned long long)st.size));

  attempts++;
  d = fmt("[%s] stat (nofollow) %s/rootlink", via, P);
  e = __wasi_path_filestat_get(fd, 0, fmt("%s/rootlink", P), &st);
  judge_bad(d, e, "lstat of a link above the fd");

  attempts++;
  d = fmt("[%s] readlink %s/rootlink", via, P);
  {
    size_t n = 0;
    memset(buf, 0, sizeof buf);
    e = __wasi_path_readlink(fd, fmt("%s/rootlink", P), (uint8_t *)buf, sizeof buf - 1, &n);
    judge_bad(d, e, fmt("read a link above the fd (\"%.*s\")", (int)n, buf));
  }

  attempts++;
  d = fmt("[%s] mkdir %s/md_%d", via, P, i);
  e = __wasi_path_create_directory(fd, fmt("%s/md_%d", P, i));
  judge_bad(d, e, exists_at(RT, fmt("md_%d", i)) ? "made a directory in the root mount" : "made a directory somewhere");

  attempts++;
  d = fmt("[%s] create %s/pw_%d", via, P, i);
  e = open_at(fd, 0, fmt("%s/pw_%d", P, i), __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &f);
  if (e == 0) (void)__wasi_fd_close(f);
  judge_bad(d, e, exists_at(RT, fmt("pw_%d", i)) ? "created a file in the root mount" : "created a file somewhere");

  attempts++;
  d = fmt("[%s] unlink %s/v%d", via, P, i);
  e = __wasi_path_unlink_file(fd, fmt("%s/v%d", P, i));
  judge_bad(d, e, "removed a file of the root mount");

  attempts++;
  d = fmt("[%s] rmdir %s/vd%d", via, P, i);
  e = __wasi_path_remove_directory(fd, fmt("%s/vd%d", P, i));
  judge_bad(d, e, "removed a directory of the root mount");

  attempts++;
  d = fmt("[%s] rename %s/r%d -> stolen_%d", via, P, i, i);
  e = __wasi_path_rename(fd, fmt("%s/r%d", P, i), D, fmt("stolen_%d", i));
  judge_bad(d, e, "moved a file of the root mount into /data");
  if (e == 0) (void)__wasi_path_unlink_file(D, fmt("stolen_%d", i));

  attempts++;
  d = fmt("[%s] rename mine_%d -> %s/planted_%d", via, i, P, i);
  if (put_file(D, fmt("mine_%d", i), "MINE\n") == 0) {
    e = __wasi_path_rename(D, fmt("mine_%d", i), fd, fmt("%s/planted_%d", P, i));
    judge_bad(d, e, "moved a file into the root mount");
    (void)__wasi_path_unlink_file(D, fmt("mine_%d", i));
  } else {
    attempts--;
  }

  attempts++;
  d = fmt("[%s] link %s/root.txt -> grab_%d", via, P, i);
  e = __wasi_path_link(fd, 0, fmt("%s/root.txt", P), D, fmt("grab_%d", i));
  judge_bad(d, e, "hard-linked a file above the fd into /data");
  if (e == 0) (void)__wasi_path_unlink_file(D, fmt("grab_%d", i));

  attempts++;
  d = fmt("[%s] link file.txt -> %s/lk_%d", via, P, i);
  e = __wasi_path_link(D, 0, "file.txt", fd, fmt("%s/lk_%d", P, i));
  judge_bad(d, e, "made a hard link above the fd");

  /* The same with the other end in the root mount, so no mount boundary answers XDEV first. */
  attempts++;
  d = fmt("[%s] rename %s/r%d -> (root fd) moved_%d", via, P, i, i);
  e = __wasi_path_rename(fd, fmt("%s/r%d", P, i), RT, fmt("moved_%d", i));
  judge_bad(d, e, "moved a file of the root mount");

  attempts++;
  d = fmt("[%s] rename (root fd) rmine_%d -> %s/planted2_%d", via, i, P, i);
  if (put_file(RT, fmt("rmine_%d", i), "MINE\n") == 0) {
    e = __wasi_path_rename(RT, fmt("rmine_%d", i), fd, fmt("%s/planted2_%d", P, i));
    judge_bad(d, e, "moved a file to a name above the fd");
    (void)__wasi_path_unlink_file(RT, fmt("rmine_%d", i));
  } else {
    attempts--;
  }

  attempts++;
  d = fmt("[%s] link %s/root.txt -> (root fd) grab2_%d", via, P, i);
  e = __wasi_path_link(fd, 0, fmt("%s/root.txt", P), RT, fmt("grab2_%d", i));
  judge_bad(d, e, "hard-linked a file named above the fd");

  attempts++;
  d = fmt("[%s] link (root fd) root.txt -> %s/lk2_%d", via, P, i);
  e = __wasi_path_link(RT, 0, "root.txt", fd, fmt("%s/lk2_%d", P, i));
  judge_bad(d, e, "made a hard link named above the fd");

  attempts++;
  d = fmt("[%s] symlink %s/sl_%d", via, P, i);
  e = __wasi_path_symlink("file.txt", fd, fmt("%s/sl_%d", P, i));
  judge_bad(d, e, "made a symlink above the fd");

  attempts++;
  d = fmt("[%s] set times %s/root.txt", via, P);
  e = __wasi_path_filestat_set_times(fd, FOLLOW, fmt("%s/root.txt", P), 0, 1000000000ull, __WASI_FSTFLAGS_MTIM);
  judge_bad(d, e, "changed the times of a file above the fd");
}

/* A good-prefix call: ok when it succeeded and its effect is at /data/NAME. */
static void judge_good(const char *desc, __wasi_errno_t e, int right, const char *root_name) {
  if (e == 0 && right) { tried(desc, "SUCCESS (in /data)"); return; }
  if (e == 0 && root_name && exists_at(RT, root_name)) {
    tried(desc, "SUCCESS (in the root mount)");
    escape(desc, "acted on the root mount, above the fd");
    return;
  }
  tried(desc, e ? errname(e) : "SUCCESS (elsewhere)");
  wrong(desc, e ? fmt("errno (got %s want SUCCESS: the `..` stays below the fd)", errname(e))
                : "succeeded but not on /data");
}

static void good_calls(const char *P, int i) {
  char buf[256];
  __wasi_errno_t e;
  __wasi_fd_t f;
  __wasi_filestat_t st;
  const char *d;

  attempts++;
  d = fmt("open %s/file.txt", P);
  e = slurp(D, FOLLOW, fmt("%s/file.txt", P), buf, sizeof buf);
  judge_good(d, e, e == 0 && strcmp(buf, "DATA-FILE") == 0, NULL);

  attempts++;
  d = fmt("stat %s/file.txt", P);
  memset(&st, 0, sizeof st);
  e = __wasi_path_filestat_get(D, FOLLOW, fmt("%s/file.txt", P), &st);
  judge_good(d, e, e == 0 && st.ino == file_st.ino && st.dev == file_st.dev, NULL);

  attempts++;
  d = fmt("readlink %s/datalink", P);
  {
    size_t n = 0;
    memset(buf, 0, sizeof buf);
    e = __wasi_path_readlink(D, fmt("%s/datalink", P), (uint8_t *)buf, sizeof buf - 1, &n);
    judge_good(d, e, e == 0 && n == 8 && memcmp(buf, "file.txt", 8) == 0, NULL);
  }

  attempts++;
  d = fmt("mkdir %s/gmd_%d", P, i);
  e = __wasi_path_create_directory(D, fmt("%s/gmd_%d", P, i));
  judge_good(d, e, e == 0 && exists_at(D, fmt("gmd_%d", i)), fmt("gmd_%d", i));
  (void)__wasi_path_remove_directory(D, fmt("gmd_%d", i));

  attempts++;
  d = fmt("create %s/gpw_%d", P, i);
  e = open_at(D, 0, fmt("%s/gpw_%d", P, i), __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &f);
  if (e == 0) (void)__wasi_fd_close(f);
  judge_good(d, e, e == 0 && exists_at(D, fmt("gpw_%d", i)), fmt("gpw_%d", i));
  (void)__wasi_path_unlink_file(D, fmt("gpw_%d", i));

  attempts++;
  d = fmt("unlink %s/gtmp_%d", P, i);
  (void)put_file(D, fmt("gtmp_%d", i), "tmp\n");
  e = __wasi_path_unlink_file(D, fmt("%s/gtmp_%d", P, i));
  judge_good(d, e, e == 0 && !exists_at(D, fmt("gtmp_%d", i)), NULL);
  (void)__wasi_path_unlink_file(D, fmt("gtmp_%d", i));

  attempts++;
  d = fmt("rmdir %s/gtd_%d", P, i);
  (void)__wasi_path_create_directory(D, fmt("gtd_%d", i));
  e = __wasi_path_remove_directory(D, fmt("%s/gtd_%d", P, i));
  judge_good(d, e, e == 0 && !exists_at(D, fmt("gtd_%d", i)), NULL);
  (void)__wasi_path_remove_directory(D, fmt("gtd_%d", i));

  attempts++;
  d = fmt("rename %s/ga_%d -> %s/gb_%d", P, i, P, i);
  (void)put_file(D, fmt("ga_%d", i), "ga\n");
  e = __wasi_path_rename(D, fmt("%s/ga_%d", P, i), D, fmt("%s/gb_%d", P, i));
  judge_good(d, e, e == 0 && exists_at(D, fmt("gb_%d", i)) && !exists_at(D, fmt("ga_%d", i)), fmt("gb_%d", i));
  (void)__wasi_path_unlink_file(D, fmt("ga_%d", i));
  (void)__wasi_path_unlink_file(D, fmt("gb_%d", i));

  attempts++;
  d = fmt("link %s/file.txt -> %s/glk_%d", P, P, i);
  e = __wasi_path_link(D, 0, fmt("%s/file.txt", P), D, fmt("%s/glk_%d", P, i));
  memset(&st, 0, sizeof st);
  (void)__wasi_path_filestat_get(D, 0, fmt("glk_%d", i), &st);
  judge_good(d, e, e == 0 && st.ino == file_st.ino, fmt("glk_%d", i));
  (void)__wasi_path_unlink_file(D, fmt("glk_%d", i));

  attempts++;
  d = fmt("symlink %s/gsl_%d", P, i);
  e = __wasi_path_symlink("file.txt", D, fmt("%s/gsl_%d", P, i));
  judge_good(d, e, e == 0 && exists_at(D, fmt("gsl_%d", i)), fmt("gsl_%d", i));
  (void)__wasi_path_unlink_file(D, fmt("gsl_%d", i));

  attempts++;
  d = fmt("set times %s/file.txt", P);
  e = __wasi_path_filestat_set_times(D, FOLLOW, fmt("%s/file.txt", P), 0, 1500000000ull * 1000000000ull, __WASI_FSTFLAGS_MTIM);
  memset(&st, 0, sizeof st);
  (void)__wasi_path_filestat_get(D, 0, "file.txt", &st);
  judge_good(d, e, e == 0 && st.mtim == 1500000000ull * 1000000000ull, NULL);
}

/* One read where the answer is a specific file (or NOTCAPABLE). */
static void read_case(int fd, const char *via, const char *path, const char *want) {
  char buf[256];
  attempts++;
  const char *d = fmt("[%s] open %s", via, path);
  __wasi_errno_t e = slurp(fd, FOLLOW, path, buf, sizeof buf);
  if (!want) { judge_bad(d, e, fmt("read \"%.40s\" above the fd", buf)); return; }
  if (e == 0 && strcmp(buf, want) == 0) { tried(d, fmt("SUCCESS (%s)", want)); return; }
  tried(d, e ? errname(e) : fmt("SUCCESS (\"%.40s\")", buf));
  if (e == 0 && strcmp(buf, "ROOT-ONLY") == 0) escape(d, "read the root mount's file instead");
  else wrong(d, e ? fmt("errno (got %s want SUCCESS with %s)", errname(e), want)
                  : fmt("read \"%.40s\" (want %s)", buf, want));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) { printf("usage: attack_dotdot /data\n"); return 2; }
  D = find_preopen(argv[1]);
  RT = find_preopen("/");
  if (D < 0 || RT < 0) { list_preopens(); printf("no preopen %s or /\n", argv[1]); return 2; }
  if (__wasi_path_filestat_get(D, 0, "file.txt", &file_st) != 0) { printf("no /data/file.txt\n"); return 2; }

  mklink(".", "lnk0");
  mklink(".", "sub/lnk");
  mklink("../sub2", "sub/tosib");
  mklink("..", "sub/up");
  mklink("c2", "sub/c1");
  mklink("c3", "sub/c2");
  mklink(".", "sub/c3");
  mklink("cc2", "sub/cc1");
  mklink("../sub2", "sub/cc2");
  mklink("../sub2/../sub", "sub/cl");
  mklink("../..", "sub/out");
  mklink(".", "sub/deep/lnk");
  mklink("..", "sub/deep/up");

  /* The literal `..` climbs above the fd: every call must be NOTCAPABLE. */
  for (int i = 0; i < NBAD; i++) bad_calls(D, "/data", BAD[i], i);

  /* The literal `..` stays strictly below the fd: every call acts on /data. */
  for (int i = 0; i < NGOOD; i++) good_calls(GOOD[i], i);

  /* Reads whose answer is a particular file. */
  read_case(D, "/data", "sub/deep/lnk/../subfile.txt", "SUB-FILE");
  read_case(D, "/data", "sub/tosib/../sub2/s2.txt", "SUB2-FILE");
  read_case(D, "/data", "sub/tosib/s2.txt", "SUB2-FILE");
  read_case(D, "/data", "sub/up/file.txt", "DATA-FILE");     /* the target's own .. (rule 4) */
  read_case(D, "/data", "sub/out/root.txt", "ROOT-ONLY");    /* the target's own ../.. (rule 4) */
  read_case(D, "/data", "abs/root.txt", "ROOT-ONLY");        /* absolute target: the guest's / */
  read_case(D, "/data", "sub/cl/subfile.txt", "SUB-FILE");
  read_case(D, "/data", "lnk0/../root.txt", NULL);
  read_case(D, "/data", "sub/lnk/../../root.txt", NULL);

  /* A directory fd that is not a preopen: /data/sub opened by the guest. */
  __wasi_fd_t S;
  __wasi_errno_t e = open_dir(D, "sub", &S);
  if (e == 0) {
    bad_calls(S, "sub fd", "lnk/..", NBAD + 0);
    bad_calls(S, "sub fd", "deep/up/../..", NBAD + 1);
    bad_calls(S, "sub fd", "up/..", NBAD + 2);
    read_case(S, "sub fd", "lnk/../file.txt", NULL);           /* would be /data/file.txt */
    read_case(S, "sub fd", "c1/../file.txt", NULL);
    read_case(S, "sub fd", "tosib/../sub/subfile.txt", NULL);
    read_case(S, "sub fd", "deep/lnk/../subfile.txt", "SUB-FILE");
    read_case(S, "sub fd", "deep/up/subfile.txt", "SUB-FILE");
    read_case(S, "sub fd", "up/file.txt", "DATA-FILE");        /* the target climbs: allowed */
    (void)__wasi_fd_close(S);
  } else {
    printf("# open sub: %s\n", errname(e));
  }

  /* Remove what the guest made in /data. */
  const char *mine[] = {"lnk0", "sub/lnk", "sub/tosib", "sub/up", "sub/c1", "sub/c2", "sub/c3", "sub/cc1",
                        "sub/cc2", "sub/cl", "sub/out", "sub/deep/lnk", "sub/deep/up"};
  for (size_t k = 0; k < sizeof mine / sizeof *mine; k++) (void)__wasi_path_unlink_file(D, mine[k]);
  return attack_end("dotdot");
}
