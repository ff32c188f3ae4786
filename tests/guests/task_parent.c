/* The guest side of the task API under test: argv[1] is a directory this guest can read and
 * write (e.g. /work), holding hello.wasm. Prints one line per check. */
#include <stdio.h>
#include <string.h>
#include "../../sdk/c/wtm.h"

static int bad;
static void check(const char *name, int cond, const char *detail) {
  printf("%s %s%s%s\n", cond ? "ok" : "not ok", name, cond ? "" : ": ", cond ? "" : detail);
  if (!cond) bad = 1;
}

static int submit(const char *spec, uint32_t *id) {
  return wtm_task_submit(spec, (uint32_t)strlen(spec), id);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char spec[1024], buf[8192];
  uint32_t id, used;
  const char *dir = argv[1];

  snprintf(spec, sizeof spec, "{\"module\":\"%s/hello.wasm\",\"args\":[\"from-task\"]}", dir);
  check("submit", submit(spec, &id) == 0, "submit failed");
  int32_t e = wtm_task_wait(id, buf, 4, &used);
  check("wait.small_buffer_nobufs", e == WTM_ERRNO_NOBUFS && used > 4, "expected NOBUFS and the needed size");
  e = wtm_task_wait(id, buf, sizeof buf, &used);
  buf[e == 0 ? used : 0] = 0;
  check("wait", e == 0, "wait failed");
  check("result.success", strstr(buf, "\"state\":\"success\"") != NULL, buf);
  check("result.stdout", strstr(buf, "hello from wasm from-task") != NULL, buf);
  check("wait.collected_once", wtm_task_wait(id, buf, sizeof buf, &used) == 8 /* BADF */, "a result was delivered twice");

  /* A module outside this guest's own file system cannot be started. */
  check("submit.unreadable_module", submit("{\"module\":\"/nonexistent/x.wasm\"}", &id) != 0, "started a module it cannot read");
  check("submit.relative_module", submit("{\"module\":\"hello.wasm\"}", &id) != 0, "accepted a relative module path");
  check("submit.bad_json", submit("{not json", &id) == 28 /* INVAL */, "bad JSON accepted");
  /* Sharing a path this guest cannot reach, or widening read-only to read-write, is refused. */
  snprintf(spec, sizeof spec, "{\"module\":\"%s/hello.wasm\",\"mounts\":[{\"guest\":\"/x\",\"path\":\"/nonexistent\"}]}", dir);
  check("submit.unreachable_mount", submit(spec, &id) != 0, "shared a path it cannot reach");
  if (argc > 2) {
    snprintf(spec, sizeof spec, "{\"module\":\"%s/hello.wasm\",\"mounts\":[{\"guest\":\"/x\",\"path\":\"%s\",\"readonly\":false}]}", dir, argv[2]);
    check("submit.widen_readonly", submit(spec, &id) == 2 /* ACCES */, "turned a read-only mount into read-write");
  }
  /* Poll with nothing left: CHILD. Cancel of an unknown id: BADF. */
  check("poll.none_left", wtm_task_poll(buf, sizeof buf, &used) == WTM_ERRNO_CHILD, "expected CHILD");
  check("cancel.unknown", wtm_task_cancel(999) == 8, "expected BADF");
  /* Cancel a running task. */
  snprintf(spec, sizeof spec, "{\"module\":\"%s/spin.wasm\"}", dir);
  if (submit(spec, &id) == 0) {
    check("cancel", wtm_task_cancel(id) == 0, "cancel failed");
    e = wtm_task_wait(id, buf, sizeof buf, &used);
    buf[e == 0 ? used : 0] = 0;
    check("cancel.state", e == 0 && strstr(buf, "\"state\":\"cancelled\"") != NULL, buf);
  }
  printf("# guest task_parent: %s\n", bad ? "failed" : "all ok");
  return bad;
}
