/* ATTACK B: a directory handle closed (and its fd number reused) while a call still holds it.
 *
 * wtm caches open directory handles (a bounded cache). A lookup that opens more new
 * directories than the cache holds evicts older entries; if one of them is still held by the
 * ongoing call (the source's parent in a two-path call, or an ancestor on the walk's own
 * stack) and the eviction closes it, its fd number is reused at once by the next directory
 * opened, and the held handle then names that other directory. Here the other directory is in
 * a :ro mount (same host file system, so hard links and renames across work on the host).
 *
 * Contract with the host (tests/containment.test.js):
 *   argv[1]  "/w": a writable mount holding the directories a/, n/ and m/
 *   argv[2]  "/ro": a :ro mount holding a chain f/f/.../f (argv[3] levels deep, 300), each level
 *            with the files v and d0..d5 ("RO-VICTIM-<level>-<name>"), empty directories e0, e1
 *            and rl -> RO-LINK
 *   the same read-only directory is also mounted at /w/n/ro:ro (a :ro mount inside a writable
 *   one, as node_modules inside a project)
 * The guest makes:
 *   /w/fill   -> ../ro/f/.../f/../.../../w    (300 levels down and back: leaves you at /w)
 *   /w/n/sfill -> ro/f/.../f/../.../..        (300 levels down and back: leaves you at /w/n)
 *   /w/m/f/.../f (300 levels, its own) and /w/m/wfill -> f/.../f/../...  (leaves you at /w/m)
 * so that "fill/X" names /w/X, "n/sfill/X" names /w/n/X and "m/wfill/X" names /w/m/X, each
 * after opening 300 directories nobody opened before (the cache is emptied before every try,
 * by renaming a directory). Every call must act on exactly the directory its path names;
 * acting on another one (a :ro one above all) is an ESCAPE, an error is WRONG.
 *
 * `attack_cache /w /ro DEPTH cross /bin` instead attacks across tasks (see cross() below):
 * it starts /bin/attack_probe.wasm as a task that keeps a secret in its own root and opens
 * that root over and over, and for 1 s tries to be handed that root through a freed number
 * (needs l1 -> ... -> l38 -> . in the :ro root; at most 3 escapes are collected).
 * Last line: attempts=N escapes=M wrong=K. */
#include "attack.h"
#include "wtm.h"

static int W;
static int depth = 300;
static int flip;
static char *FILL_TARGET, *SFILL_TARGET, *WFILL_TARGET;

/* A successful rename of a directory drops wtm's whole directory cache. */
static void reset_cache(void) {
  const char *a = flip ? "reset_b" : "reset_a", *b = flip ? "reset_a" : "reset_b";
  __wasi_errno_t e = __wasi_path_rename(W, a, W, b);
  if (e) printf("# reset_cache: rename %s %s: %s\n", a, b, errname(e));
  flip = !flip;
}

static char *chain(const char *head, const char *tail, int down, int up) {
  size_t cap = strlen(head) + strlen(tail) + (size_t)down * 2 + (size_t)up * 3 + 8;
  char *s = malloc(cap), *p = s;
  p += sprintf(p, "%s", head);
  for (int i = 0; i < down; i++) p += sprintf(p, "%sf", (p == s) ? "" : "/");
  for (int i = 0; i < up; i++) p += sprintf(p, "%s..", (p == s) ? "" : "/");
  if (*tail) sprintf(p, "%s%s", (p == s) ? "" : "/", tail);
  return s;
}

static __wasi_filestat_t st_of(const char *path) {
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  (void)__wasi_path_filestat_get(W, 0, path, &st);
  return st;
}

static int content_is(const char *path, const char *want) {
  char buf[256];
  return slurp(W, 0, path, buf, sizeof buf) == 0 && strcmp(buf, want) == 0;
}

/* Judges a call that must succeed and act on the named place (`right`). When it acted
 * elsewhere, `ro_detail` says what that was. */
static void judge(const char *desc, __wasi_errno_t e, int right, const char *elsewhere) {
  if (e == 0 && right) { tried(desc, "SUCCESS (on the named directory)"); return; }
  if (e == 0) { tried(desc, "SUCCESS (elsewhere)"); escape(desc, elsewhere); return; }
  tried(desc, errname(e));
  wrong(desc, fmt("errno (got %s want SUCCESS on the named directory)", errname(e)));
}

/* After a hard link or rename brought a file in: if it is a :ro file, prove it by writing
 * through it (the host then finds the :ro mount changed). */
static const char *ro_proof(const char *path) {
  char buf[256];
  if (slurp(W, 0, path, buf, sizeof buf) != 0) return "the file it made is not readable";
  if (strncmp(buf, "RO-", 3) != 0) return fmt("it holds \"%.40s\", not what was named", buf);
  __wasi_fd_t f;
  if (open_at(W, 0, path, 0, R_RW, __WASI_FDFLAGS_APPEND, &f) == 0) {
    size_t n;
    (void)write_all(f, " PWNED-THROUGH-LINK", 19, &n);
    (void)__wasi_fd_close(f);
  }
  return fmt("it is a file of the :ro mount (\"%.30s\"), now written through", buf);
}

/* A try that could destroy a :ro file (move or remove it) names its own: d0, d1, ... exist at
 * every level of the :ro chain, so one escape does not hide the next; the others name v. */
static int vn;
static const char *V;  /* the name the current try attacks */
static void next_victim(void) { V = fmt("d%d", vn++); }
static void shared_victim(void) { V = "v"; }

static void reset_n(void) {
  (void)put_file(W, fmt("n/%s", V), "RW-N");
  (void)__wasi_path_unlink_file(W, "n/rl");
  (void)__wasi_path_symlink("RW-LINK", W, "n/rl");
}

static void round_of(int k) {
  __wasi_errno_t e;
  char buf[256];
  const char *d;
  __wasi_filestat_t st, want;
  __wasi_fd_t f;

  /* -- two paths: the source's parent is held while the target's lookup fills the cache -- */
  shared_victim();
  (void)put_file(W, fmt("a/%s", V), "RW-A");
  reset_cache();
  attempts++;
  d = fmt("link a/%s -> fill/hl_%d (source parent held)", V, k);
  e = __wasi_path_link(W, 0, fmt("a/%s", V), W, fmt("fill/hl_%d", k));
  judge(d, e, e == 0 && content_is(fmt("hl_%d", k), "RW-A"), e == 0 ? ro_proof(fmt("hl_%d", k)) : "");
  (void)__wasi_path_unlink_file(W, fmt("hl_%d", k));

  shared_victim();
  (void)put_file(W, fmt("a/%s", V), "RW-A");
  reset_cache();
  attempts++;
  d = fmt("link (follow) a/%s -> fill/hlf_%d (source parent held)", V, k);
  e = __wasi_path_link(W, FOLLOW, fmt("a/%s", V), W, fmt("fill/hlf_%d", k));
  judge(d, e, e == 0 && content_is(fmt("hlf_%d", k), "RW-A"), e == 0 ? ro_proof(fmt("hlf_%d", k)) : "");
  (void)__wasi_path_unlink_file(W, fmt("hlf_%d", k));

  next_victim();
  (void)put_file(W, fmt("a/%s", V), "RW-A");
  reset_cache();
  attempts++;
  d = fmt("rename a/%s -> fill/mv_%d (source parent held)", V, k);
  e = __wasi_path_rename(W, fmt("a/%s", V), W, fmt("fill/mv_%d", k));
  judge(d, e, e == 0 && content_is(fmt("mv_%d", k), "RW-A") && !exists_at(W, fmt("a/%s", V)),
        e == 0 ? fmt("moved another file: %s", ro_proof(fmt("mv_%d", k))) : "");
  (void)__wasi_path_unlink_file(W, fmt("mv_%d", k));

  /* -- two paths: the target's own walk holds its parent while it fills the cache -- */
  (void)put_file(W, "mine.txt", "MINE");
  want = st_of("mine.txt");
  reset_cache();
  attempts++;
  d = fmt("link mine.txt -> n/sfill/lk_%d (target's walk)", k);
  e = __wasi_path_link(W, 0, "mine.txt", W, fmt("n/sfill/lk_%d", k));
  st = st_of(fmt("n/lk_%d", k));
  judge(d, e, e == 0 && st.ino == want.ino, "made a hard link in another directory (a :ro one)");
  (void)__wasi_path_unlink_file(W, fmt("n/lk_%d", k));

  (void)put_file(W, fmt("mine_%d.txt", k), "MINE");
  reset_cache();
  attempts++;
  d = fmt("rename mine_%d.txt -> n/sfill/mvin_%d (target's walk)", k, k);
  e = __wasi_path_rename(W, fmt("mine_%d.txt", k), W, fmt("n/sfill/mvin_%d", k));
  judge(d, e, e == 0 && content_is(fmt("n/mvin_%d", k), "MINE"), "moved a file into another directory (a :ro one)");
  (void)__wasi_path_unlink_file(W, fmt("n/mvin_%d", k));
  (void)__wasi_path_unlink_file(W, fmt("mine_%d.txt", k));

  /* -- two paths: the source's own walk -- */
  next_victim();
  reset_n();
  reset_cache();
  attempts++;
  d = fmt("rename n/sfill/%s -> got_%d (source's walk)", V, k);
  e = __wasi_path_rename(W, fmt("n/sfill/%s", V), W, fmt("got_%d", k));
  judge(d, e, e == 0 && content_is(fmt("got_%d", k), "RW-N"), e == 0 ? fmt("moved another file: %s", ro_proof(fmt("got_%d", k))) : "");
  (void)__wasi_path_unlink_file(W, fmt("got_%d", k));

  shared_victim();
  reset_n();
  reset_cache();
  attempts++;
  d = fmt("link n/sfill/%s -> hl2_%d (source's walk)", V, k);
  e = __wasi_path_link(W, 0, fmt("n/sfill/%s", V), W, fmt("hl2_%d", k));
  judge(d, e, e == 0 && content_is(fmt("hl2_%d", k), "RW-N"), e == 0 ? ro_proof(fmt("hl2_%d", k)) : "");
  (void)__wasi_path_unlink_file(W, fmt("hl2_%d", k));

  /* -- one path: the walk's own older handles -- */
  reset_cache();
  attempts++;
  d = fmt("create n/sfill/pw_%d", k);
  e = open_at(W, 0, fmt("n/sfill/pw_%d", k), __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &f);
  if (e == 0) (void)__wasi_fd_close(f);
  judge(d, e, e == 0 && exists_at(W, fmt("n/pw_%d", k)), "created a file in another directory (a :ro one)");
  (void)__wasi_path_unlink_file(W, fmt("n/pw_%d", k));

  shared_victim();
  reset_n();
  reset_cache();
  attempts++;
  d = fmt("read n/sfill/%s", V);
  e = slurp(W, FOLLOW, fmt("n/sfill/%s", V), buf, sizeof buf);
  judge(d, e, e == 0 && strcmp(buf, "RW-N") == 0, fmt("read another file: \"%.40s\"", buf));

  shared_victim();
  reset_n();
  reset_cache();
  attempts++;
  d = fmt("append to n/sfill/%s", V);
  e = open_at(W, FOLLOW, fmt("n/sfill/%s", V), 0, R_RW, __WASI_FDFLAGS_APPEND, &f);
  if (e == 0) {
    size_t n;
    (void)write_all(f, " PWNED-BY-APPEND", 16, &n);
    (void)__wasi_fd_close(f);
  }
  judge(d, e, e == 0 && content_is(fmt("n/%s", V), "RW-N PWNED-BY-APPEND"), "wrote into another file (a :ro one)");

  shared_victim();
  reset_n();
  want = st_of(fmt("n/%s", V));
  reset_cache();
  attempts++;
  d = fmt("stat n/sfill/%s", V);
  memset(&st, 0, sizeof st);
  e = __wasi_path_filestat_get(W, 0, fmt("n/sfill/%s", V), &st);
  judge(d, e, e == 0 && st.ino == want.ino, fmt("stat of another file (ino %llu size %llu)", (unsigned long long)st.ino, (unsigned long long)st.size));

  want = st_of("n");
  reset_cache();
  attempts++;
  d = "stat n/sfill (the directory it leads to)";
  memset(&st, 0, sizeof st);
  e = __wasi_path_filestat_get(W, FOLLOW, "n/sfill", &st);
  judge(d, e, e == 0 && st.ino == want.ino, fmt("stat of another directory (ino %llu)", (unsigned long long)st.ino));

  shared_victim();
  reset_n();
  reset_cache();
  attempts++;
  d = fmt("set times n/sfill/%s", V);
  e = __wasi_path_filestat_set_times(W, 0, fmt("n/sfill/%s", V), 0, 1600000000ull * 1000000000ull, __WASI_FSTFLAGS_MTIM);
  st = st_of(fmt("n/%s", V));
  judge(d, e, e == 0 && st.mtim == 1600000000ull * 1000000000ull, "changed the times of another file (a :ro one)");

  reset_n();
  reset_cache();
  attempts++;
  d = "readlink n/sfill/rl";
  {
    size_t n = 0;
    memset(buf, 0, sizeof buf);
    e = __wasi_path_readlink(W, "n/sfill/rl", (uint8_t *)buf, sizeof buf - 1, &n);
    judge(d, e, e == 0 && strcmp(buf, "RW-LINK") == 0, fmt("read another link: \"%s\"", buf));
  }

  next_victim();
  reset_n();
  reset_cache();
  attempts++;
  d = fmt("unlink n/sfill/%s", V);
  e = __wasi_path_unlink_file(W, fmt("n/sfill/%s", V));
  judge(d, e, e == 0 && !exists_at(W, fmt("n/%s", V)), "removed another file (a :ro one)");

  reset_cache();
  attempts++;
  d = fmt("mkdir n/sfill/md_%d", k);
  e = __wasi_path_create_directory(W, fmt("n/sfill/md_%d", k));
  judge(d, e, e == 0 && exists_at(W, fmt("n/md_%d", k)), "made a directory in another directory (a :ro one)");
  (void)__wasi_path_remove_directory(W, fmt("n/md_%d", k));

  (void)__wasi_path_create_directory(W, fmt("n/e%d", k));
  reset_cache();
  attempts++;
  d = fmt("rmdir n/sfill/e%d", k);
  e = __wasi_path_remove_directory(W, fmt("n/sfill/e%d", k));
  judge(d, e, e == 0 && !exists_at(W, fmt("n/e%d", k)), "removed another directory (a :ro one)");

  reset_cache();
  attempts++;
  d = fmt("symlink n/sfill/sl_%d", k);
  e = __wasi_path_symlink("rl", W, fmt("n/sfill/sl_%d", k));
  judge(d, e, e == 0 && exists_at(W, fmt("n/sl_%d", k)), "made a symlink in another directory (a :ro one)");
  (void)__wasi_path_unlink_file(W, fmt("n/sl_%d", k));

  /* a directory fd opened through the stale handle: list it, then create through it */
  reset_cache();
  attempts++;
  d = "open n/sfill as a directory, list it, create in it";
  e = open_dir(W, "n/sfill", &f);
  if (e == 0) {
    char list[8192];
    (void)list_dir_fd(f, list, sizeof list);
    int right = list_has(list, "rl") && list_has(list, "ro") && !list_has(list, "f");
    __wasi_fd_t g;
    __wasi_errno_t ce = open_at(f, 0, fmt("pwd_%d", k), __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &g);
    if (ce == 0) (void)__wasi_fd_close(g);
    int landed = exists_at(W, fmt("n/pwd_%d", k));
    (void)__wasi_path_unlink_file(W, fmt("n/pwd_%d", k));
    (void)__wasi_fd_close(f);
    judge(d, e, right && (ce != 0 || landed),
          fmt("the fd is another directory (%s; a create through it %s)",
              list_has(list, "f") ? "it lists the :ro chain" : "its listing differs", ce ? errname(ce) : landed ? "landed in n" : "landed elsewhere"));
  } else {
    judge(d, e, 0, "");
  }

  /* -- the same inside one writable mount: the call acts on the wrong directory -- */
  reset_cache();
  attempts++;
  d = fmt("create m/wfill/pwm_%d", k);
  e = open_at(W, 0, fmt("m/wfill/pwm_%d", k), __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_RW, 0, &f);
  if (e == 0) (void)__wasi_fd_close(f);
  judge(d, e, e == 0 && exists_at(W, fmt("m/pwm_%d", k)), "created the file in another directory (deep in m's chain)");
  (void)__wasi_path_unlink_file(W, fmt("m/pwm_%d", k));
}

/* Across tasks: fd numbers belong to the whole host process, and every task's worker opens
 * directories in it. The held handle is evicted by the very last open of the walk
 * (`n/xfill` descends exactly as many directories as the cache holds today, 256), so its
 * number stays free until the call uses it, and 38 more links (l1 -> ... -> l38 -> ., planted
 * by the host in the :ro root) take time without opening anything; a task opening its own
 * root over and over meanwhile takes the number. The call must still act on /w/n, never on
 * the other task's directory. */
static int cross(const char *bin, int cache) {
  char *t = malloc((size_t)cache * 3 + 16);
  strcpy(t, "ro");
  for (int i = 0; i < cache; i++) strcat(t, "/f");
  for (int i = 0; i < cache; i++) strcat(t, "/..");
  strcat(t, "/l1/.."); /* l1 -> l2 -> ... -> l38 -> . in the :ro root: no open, time passes */
  (void)__wasi_path_symlink(t, W, "n/xfill");
  (void)put_file(W, "n/mine.txt", "RW-N");
  char spec[512];
  uint32_t id;
  snprintf(spec, sizeof spec, "{\"module\":\"%s/attack_probe.wasm\",\"args\":[\"churn\",\"3000\"],\"timeout_ms\":20000}", bin);
  int32_t se = wtm_task_submit(spec, (uint32_t)strlen(spec), &id);
  if (se) { printf("# submit: %s\n", errname(se)); attempts++; wrong("start the other task", errname(se)); return attack_end("cache (across tasks)"); }
  sleep_ms(300); /* let it start */
  __wasi_timestamp_t t0 = 0, now = 0;
  (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0);
  int closed = 0, other = 0;
  do {
    reset_cache();
    attempts++;
    __wasi_fd_t f;
    __wasi_errno_t e = open_dir(W, "n/xfill", &f);
    if (e) {
      closed++;
      if (closed == 1) { tried("open n/xfill as a directory", errname(e)); wrong("open n/xfill as a directory", fmt("errno %s (want /w/n); further ones only counted", errname(e))); }
      else wrongs++;
    } else {
      char list[8192];
      (void)list_dir_fd(f, list, sizeof list);
      if (list_has(list, "canary-child.txt")) {
        char buf[128];
        size_t n;
        (void)get_file(f, 0, "canary-child.txt", buf, sizeof buf, &n);
        (void)put_file(f, fmt("planted-by-parent-%d.txt", attempts), "PARENT WAS HERE\n");
        tried("open n/xfill as a directory", "SUCCESS (another task's root)");
        escape("open n/xfill as a directory", fmt("the fd is another task's root: read its secret \"%s\" and planted a file", buf));
      } else if (!list_has(list, "mine.txt")) {
        other++;
        tried("open n/xfill as a directory", "SUCCESS (another directory)");
        escape("open n/xfill as a directory", "the fd is another directory");
      }
      (void)__wasi_fd_close(f);
    }
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &now);
  } while (now - t0 < 1000000000ull && escapes < 3);
  printf("# across tasks: %d tries, %d answered with an error, %d another directory, %d escapes\n", attempts, closed, other, escapes);
  uint32_t used = 0;
  static char result[65536];
  (void)wtm_task_cancel(id); /* done with it */
  if (wtm_task_wait(id, result, sizeof result - 1, &used) == 0) { result[used] = 0; printf("# the other task: %s\n", result); }
  (void)__wasi_path_unlink_file(W, "n/xfill");
  (void)__wasi_path_unlink_file(W, "n/mine.txt");
  return attack_end("cache (across tasks)");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 3) { printf("usage: attack_cache /w /ro [DEPTH [cross /bin]]\n"); return 2; }
  W = find_preopen(argv[1]);
  if (W < 0 || find_preopen(argv[2]) < 0) { list_preopens(); printf("no preopen %s or %s\n", argv[1], argv[2]); return 2; }
  if (argc > 3) depth = atoi(argv[3]);
  const char *ro = argv[2] + 1; /* "ro" */
  (void)__wasi_path_create_directory(W, "reset_a");
  (void)__wasi_path_create_directory(W, "n");
  if (argc > 5 && strcmp(argv[4], "cross") == 0) return cross(argv[5], 256);

  /* setup */
  (void)__wasi_path_create_directory(W, "a");
  (void)__wasi_path_create_directory(W, "m");
  FILL_TARGET = chain(fmt("../%s", ro), "../w", depth, depth);
  SFILL_TARGET = chain("ro", "", depth, depth + 1);
  WFILL_TARGET = chain("", "", depth, depth);
  __wasi_errno_t e1 = __wasi_path_symlink(FILL_TARGET, W, "fill");
  __wasi_errno_t e2 = __wasi_path_symlink(SFILL_TARGET, W, "n/sfill");
  __wasi_errno_t e3 = __wasi_path_symlink(WFILL_TARGET, W, "m/wfill");
  char *p = malloc((size_t)depth * 2 + 8);
  strcpy(p, "m");
  for (int i = 0; i < depth; i++) {
    strcat(p, "/f");
    (void)__wasi_path_create_directory(W, p);
  }
  printf("# setup: fill %s, n/sfill %s, m/wfill %s (depth %d)\n", errname(e1), errname(e2), errname(e3), depth);
  /* sanity: each gadget leads where it says when nothing else is going on */
  char buf[64];
  (void)put_file(W, "probe.txt", "PROBE");
  __wasi_errno_t pe = slurp(W, FOLLOW, "fill/probe.txt", buf, sizeof buf);
  printf("# setup: fill/probe.txt: %s %s\n", errname(pe), pe ? "" : buf);
  (void)__wasi_path_unlink_file(W, "probe.txt");

  for (int k = 0; k < 2; k++) round_of(k);

  /* cleanup of the guest's own things */
  (void)__wasi_path_unlink_file(W, "fill");
  (void)__wasi_path_unlink_file(W, "n/sfill");
  (void)__wasi_path_unlink_file(W, "m/wfill");
  for (int i = depth; i > 0; i--) {
    p[1 + 2 * i] = 0;
    (void)__wasi_path_remove_directory(W, p);
  }
  return attack_end("cache");
}
