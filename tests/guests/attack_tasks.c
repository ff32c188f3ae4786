/* ATTACK A: a directory shared with a task is swapped for a symlink right after task_submit.
 *
 * RULES.md rule 12: what a task gets is the directory that was checked (an open handle), never
 * a host path string resolved again later. So after the guest renames the shared directory
 * away and puts a symlink pointing out of its mount in its place, the task must still see the
 * original directory (or fail cleanly), never the host's / or the sibling directory.
 *
 *   attack_tasks all W BIN OUT      run with --max-tasks 2: the case (swap at once),
 *                                   then each variant with two sleeping tasks submitted first,
 *                                   so the attacked task waits in the queue while the swap
 *                                   happens (no timing decides)
 *   attack_tasks queued W BIN OUT   run with --max-tasks 1: one sleeping task, then the swap
 *   attack_tasks inner M OUTREL     run as a task by `all`: does the swap on its own mount M,
 *                                   with the link target OUTREL (tasks started by tasks)
 * W: a writable mount ("/w"); BIN: a read-only mount holding attack_probe.wasm and
 * attack_tasks.wasm ("/bin"); OUT: the name of a directory beside W's host directory (it holds
 * secret.txt with a canary), so "../OUT" in a link placed in W leads there on the host.
 *
 * Each variant starts attack_probe (which lists its mount, reads the files in it and maybe
 * writes one) and judges its result: an entry other than orig.txt/probe_*, a read of anything
 * but "ORIG-...", or a write that does not turn up in the original (renamed) directory is an
 * ESCAPE; a variant that should have run and did not is WRONG only where no swap happened.
 * Every result is printed ("# result ..."), so the host can look for its canaries too.
 * Last line: attempts=N escapes=M wrong=K. */
#include "attack.h"
#include "wtm.h"

static int WFD;            /* the writable mount's fd */
static const char *WP;     /* its guest path */
static const char *BIN;    /* guest path of the modules ("/bin"), or NULL inside a relay */
static const char *OUT;    /* the outside directory's name */
static char result[1 << 17];

static int submit(const char *spec, uint32_t *id) {
  int32_t e = wtm_task_submit(spec, (uint32_t)strlen(spec), id);
  if (e) printf("# submit failed: %s: %s\n", errname(e), spec);
  return e;
}

static int wait_for(uint32_t id) {
  uint32_t used = 0;
  int32_t e = wtm_task_wait(id, result, sizeof result - 1, &used);
  result[e == 0 ? used : 0] = 0;
  if (e) printf("# wait %u: %s\n", id, errname(e));
  return e;
}

static const char *probe_module(void) {
  return fmt("%s/attack_probe.wasm", BIN);
}

/* Sets up DIR (relative to WFD) holding orig.txt = "ORIG-<tag>". */
static void make_orig(const char *dir, const char *tag) {
  (void)__wasi_path_create_directory(WFD, dir);
  (void)put_file(WFD, fmt("%s/orig.txt", dir), fmt("ORIG-%s", tag));
}

/* Reads the task's result (JSON text) and judges what the probe saw. orig_now: where the
 * original directory is now (relative to WFD), to check a write landed there. */
/* p starts a line of the task's stdout inside the result JSON. */
static int line_start(const char *p) {
  return p > result && (p[-1] == '"' || (p[-1] == 'n' && p > result + 1 && p[-2] == '\\'));
}

static void judge_probe(const char *desc, const char *tag, const char *orig_now, int expect_write) {
  printf("# result %s: %s\n", desc, result);
  int bad = 0;
  int ran = strstr(result, "\"state\":\"success\"") != NULL;
  /* entries */
  for (const char *p = result; (p = strstr(p, "entry ")) != NULL; p += 6) {
    char name[256];
    size_t n = 0;
    if (!line_start(p)) continue;
    const char *q = p + 6;
    while (*q && *q != '\\' && *q != '"' && n < sizeof name - 1) name[n++] = *q++;
    name[n] = 0;
    if (strcmp(name, "orig.txt") == 0 || strncmp(name, "probe_", 6) == 0) continue;
    if (!bad++) escape(desc, fmt("the task sees \"%s\" in its mount, not the shared directory", name));
  }
  for (const char *p = result; (p = strstr(p, "read ")) != NULL; p += 5) {
    if (!line_start(p)) continue;
    const char *colon = strstr(p, ": ");
    if (!colon) break;
    if (strncmp(colon + 2, "ORIG-", 5) == 0 || strncmp(colon + 2, "PROBE-", 6) == 0) continue;
    if (!bad++) escape(desc, fmt("the task read \"%.40s\"", colon + 2));
  }
  const char *w = strstr(result, "write probe_");
  if (w) {
    const char *r = strstr(w, ": ");
    int ok = r && strncmp(r + 2, "SUCCESS", 7) == 0;
    if (ok && !expect_write) {
      if (!bad++) escape(desc, "the task wrote through a read-only share");
    } else if (ok && !exists_at(WFD, fmt("%s/probe_%s.txt", orig_now, tag))) {
      if (!bad++) escape(desc, fmt("the task's write did not land in the shared directory (now %s/%s)", WP, orig_now));
    }
  }
  if (!bad) tried(desc, ran ? "contained (the task saw the shared directory)" : "contained (the task did not run)");
  else tried(desc, "ESCAPED");
}

/* One swap: share `share` (guest path) as `as`; after submit, rename `swap` -> `swap_to` and
 * make `swap` a symlink to `target`; the probe looks at `probe_dir`. */
/* Tasks that only sleep, submitted first so that the next one waits in the queue (the run
 * gives the starter n task slots). */
#define SLEEP_MS "100"
static uint32_t sleepers[4];
static int nsleepers;
static void occupy_slots(int n) {
  char spec[512];
  snprintf(spec, sizeof spec, "{\"module\":\"%s\",\"args\":[\"sleep\",\"" SLEEP_MS "\"]}", probe_module());
  for (nsleepers = 0; nsleepers < n && nsleepers < 4; nsleepers++)
    if (submit(spec, &sleepers[nsleepers])) break;
}
static void collect_sleepers(void) {
  for (int i = 0; i < nsleepers; i++) (void)wait_for(sleepers[i]);
  nsleepers = 0;
}

static int slots = 2; /* sleepers put in front of each task (0: the task may start at once) */

static void swap_variant(const char *desc, const char *tag, const char *share, const char *as, int ro,
                         const char *swap, const char *swap_to, const char *target, const char *orig_now,
                         int write, int queued) {
  attempts++;
  char spec[2048];
  uint32_t id = 0;
  if (queued) occupy_slots(slots);
  snprintf(spec, sizeof spec,
           "{\"module\":\"%s\",\"args\":[\"probe\",\"%s\",\"%s\",\"%s\"],\"timeout_ms\":20000,\"mounts\":[{\"guest\":\"%s\",\"path\":\"%s\",\"readonly\":%s}]}",
           probe_module(), as, tag, write ? "write" : "nowrite", as, share, ro ? "true" : "false");
  int32_t e = submit(spec, &id);
  if (e) { tried(desc, errname(e)); wrong(desc, fmt("task_submit: %s (want a task)", errname(e))); return; }
  /* the swap, at once */
  __wasi_errno_t e1 = __wasi_path_rename(WFD, swap, WFD, swap_to);
  __wasi_errno_t e2 = target ? __wasi_path_symlink(target, WFD, swap) : 0;
  if (!target) make_orig(swap, "REPLACEMENT");
  printf("# %s: swapped %s -> %s (%s), symlink %s -> %s (%s)\n", desc, swap, swap_to, errname(e1), swap,
         target ? target : "(a new directory)", errname(e2));
  if (wait_for(id)) { wrong(desc, "task_wait failed"); return; }
  judge_probe(desc, tag, orig_now, write && !ro);
  collect_sleepers();
}

/* The task's mount must be the directory checked at submit, even when it is later renamed
 * and a new directory takes its name (no symlink at all). */
static void replace_variant(const char *desc) {
  attempts++;
  make_orig("d10", "d10");
  char spec[1024];
  uint32_t id;
  occupy_slots(slots);
  snprintf(spec, sizeof spec, "{\"module\":\"%s\",\"args\":[\"probe\",\"/m\",\"d10\",\"write\"],\"timeout_ms\":20000,\"mounts\":[{\"guest\":\"/m\",\"path\":\"%s/d10\"}]}", probe_module(), WP);
  if (submit(spec, &id)) { wrong(desc, "task_submit failed"); return; }
  (void)__wasi_path_rename(WFD, "d10", WFD, "d10_old");
  (void)__wasi_path_create_directory(WFD, "d10");
  (void)put_file(WFD, "d10/new.txt", "NEW-D10");
  if (wait_for(id)) { wrong(desc, "task_wait failed"); return; }
  printf("# result %s: %s\n", desc, result);
  char *res = strdup(result);
  collect_sleepers();
  memcpy(result, res, strlen(res) + 1);
  free(res);
  if (strstr(result, "entry new.txt") || strstr(result, "NEW-D10") || exists_at(WFD, "d10/probe_d10.txt")) {
    tried(desc, "the task got the new directory");
    wrong(desc, "the task's mount is the directory that took the name later, not the one checked");
  } else if (strstr(result, "\"state\":\"success\"") && !exists_at(WFD, "d10_old/probe_d10.txt")) {
    tried(desc, "the task's write is nowhere");
    wrong(desc, "the task's write did not land in the checked directory");
  } else {
    tried(desc, "contained (the task saw the checked directory)");
  }
}

/* The parent's own cache is churned (300 new directories) while the task is queued or
 * starting: a shared handle must stay open as long as the task holds it. */
static void churn_variant(const char *desc) {
  attempts++;
  make_orig("d9", "d9");
  (void)__wasi_path_create_directory(WFD, "c9");
  char *p = malloc(700), *t = malloc(1600);
  strcpy(p, "c9");
  for (int i = 0; i < 300; i++) { strcat(p, "/f"); (void)__wasi_path_create_directory(WFD, p); }
  strcpy(t, "f");
  for (int i = 1; i < 300; i++) strcat(t, "/f");
  for (int i = 0; i < 300; i++) strcat(t, "/..");
  (void)__wasi_path_symlink(t, WFD, "c9/wfill");
  /* the cache holds d9 first: empty it (a directory rename), then look d9 up */
  (void)__wasi_path_create_directory(WFD, "reset9");
  (void)__wasi_path_rename(WFD, "reset9", WFD, "reset9b");
  (void)exists_at(WFD, "d9/orig.txt");
  char spec[1024];
  uint32_t id;
  occupy_slots(slots);
  snprintf(spec, sizeof spec, "{\"module\":\"%s\",\"args\":[\"probe\",\"/m\",\"d9\",\"write\"],\"timeout_ms\":20000,\"mounts\":[{\"guest\":\"/m\",\"path\":\"%s/d9\"}]}", probe_module(), WP);
  if (submit(spec, &id)) { wrong(desc, "task_submit failed"); return; }
  for (int i = 0; i < 3; i++) (void)exists_at(WFD, "c9/wfill/x");
  if (wait_for(id)) { wrong(desc, "task_wait failed"); return; }
  printf("# result %s: %s\n", desc, result);
  char *res = strdup(result);
  collect_sleepers();
  memcpy(result, res, strlen(res) + 1);
  free(res);
  int ran = strstr(result, "\"state\":\"success\"") != NULL;
  if (!ran || !strstr(result, "read orig.txt: ORIG-d9") || !exists_at(WFD, "d9/probe_d9.txt")) {
    tried(desc, "the task did not see d9");
    if (strstr(result, "entry f")) escape(desc, "the task's mount is another directory (the churn reused its handle)");
    else wrong(desc, "the task did not get the directory it was given");
  } else {
    tried(desc, "contained (the task saw d9)");
  }
}

/* Tasks started by tasks: a task given W/r5 as /m does the swap on its own mount. */
static void relay_variant(const char *desc) {
  attempts++;
  make_orig("r5", "r5");
  make_orig("r5/d", "r5d");
  char spec[2048];
  uint32_t id;
  snprintf(spec, sizeof spec,
           "{\"module\":\"%s/attack_tasks.wasm\",\"args\":[\"inner\",\"/m\",\"../../%s\"],"
           "\"timeout_ms\":20000,\"mounts\":[{\"guest\":\"/m\",\"path\":\"%s/r5\"},{\"guest\":\"/bin\",\"path\":\"%s\",\"readonly\":true}]}",
           BIN, OUT, WP, BIN);
  if (submit(spec, &id)) { wrong(desc, "task_submit failed"); return; }
  if (wait_for(id)) { wrong(desc, "task_wait failed"); return; }
  printf("# result %s: %s\n", desc, result);
  const char *line = strstr(result, "attempts=");
  int a = 0, es = 0, wr = 0;
  if (!line || sscanf(line, "attempts=%d escapes=%d wrong=%d", &a, &es, &wr) != 3) {
    tried(desc, "the relay task did not report");
    wrong(desc, "the relay task did not run");
    return;
  }
  attempts += a - 1; /* the inner tries replace this one */
  if (es) { tried(desc, fmt("the inner task reported %d escapes", es)); escapes += es; printf("ESCAPE: %s: %d inside the task\n", desc, es); }
  else tried(desc, "contained");
  if (wr) { wrongs += wr; printf("WRONG: %s: %d inside the task\n", desc, wr); }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 4) { printf("usage: attack_tasks all|queued W BIN OUT | inner M OUTREL\n"); return 2; }
  const char *mode = argv[1];
  WP = argv[2];
  WFD = find_preopen(WP);
  if (WFD < 0) { list_preopens(); printf("no preopen %s\n", WP); return 2; }

  if (strcmp(mode, "inner") == 0) {
    /* Run as a task holding one of the two slots: one sleeper takes the other. */
    BIN = "/bin";
    slots = 1;
    swap_variant("inner: swap the shared /m/d (tasks started by tasks)", "r5d", fmt("%s/d", WP), "/m", 0, "d", "d_old",
                 argv[3], "d_old", 1, 1);
    return attack_end("tasks (inner)");
  }
  if (argc < 5) { printf("usage: attack_tasks all|queued W BIN OUT\n"); return 2; }
  BIN = argv[3];
  OUT = argv[4];
  char *sibling = strdup(fmt("../%s", OUT));
  const char *hostroot = "../../../../../../../../../../../../../../../..";

  if (strcmp(mode, "queued") == 0) {
    /* --max-tasks 1: one sleeper holds the only slot. */
    slots = 1;
    make_orig("d4", "d4");
    swap_variant("queued: swap /w/d4 for a link to the sibling dir", "d4", fmt("%s/d4", WP), "/m", 0, "d4", "d4_old",
                 sibling, "d4_old", 1, 1);
    make_orig("d4b", "d4b");
    swap_variant("queued: swap /w/d4b for a link to the host's /", "d4b", fmt("%s/d4b", WP), "/m", 1, "d4b",
                 "d4b_old", hostroot, "d4b_old", 0, 1);
    return attack_end("tasks (queued)");
  }

  /* --max-tasks 2. The issue's own case first: swap at once, the task free to start. */
  make_orig("d1", "d1");
  swap_variant("swap the shared dir for a link to the sibling dir, at once", "d1", fmt("%s/d1", WP), "/m", 0, "d1",
               "d1_old", sibling, "d1_old", 1, 0);
  /* The rest while the task waits behind two sleepers, so that no timing decides. */
  make_orig("d1q", "d1q");
  swap_variant("swap the shared dir for a link to the sibling dir", "d1q", fmt("%s/d1q", WP), "/m", 0, "d1q", "d1q_old",
               sibling, "d1q_old", 1, 1);
  make_orig("d2", "d2");
  swap_variant("swap the shared dir for a link to the host's /", "d2", fmt("%s/d2", WP), "/m", 1, "d2", "d2_old",
               hostroot, "d2_old", 0, 1);
  (void)__wasi_path_create_directory(WFD, "a3");
  make_orig(fmt("a3/%s", OUT), "a3");
  swap_variant("swap an intermediate component (share /w/a3/X, swap /w/a3 for a link to ..)", "a3",
               fmt("%s/a3/%s", WP, OUT), "/m", 0, "a3", "a3_old", "..", fmt("a3_old/%s", OUT), 1, 1);
  relay_variant("a task swaps the directory it shares onward (tasks started by tasks)");
  make_orig("d6", "d6");
  swap_variant("read-only share, then swap", "d6", fmt("%s/d6", WP), "/m", 1, "d6", "d6_old", sibling, "d6_old", 1, 1);
  make_orig("d7", "d7");
  (void)__wasi_path_symlink("d7", WFD, "via7");
  swap_variant("share through a link (/w/via7 -> d7), then swap d7", "d7", fmt("%s/via7", WP), "/m", 0, "d7", "d7_old",
               sibling, "d7_old", 1, 1);
  make_orig("d8", "d8");
  swap_variant("share as the task's /, then swap", "d8", fmt("%s/d8", WP), "/", 0, "d8", "d8_old", sibling, "d8_old", 1, 1);
  replace_variant("share, then rename it away and make a new directory of that name");
  churn_variant("share, then churn the starter's directory cache while the task waits");
  return attack_end("tasks");
}
