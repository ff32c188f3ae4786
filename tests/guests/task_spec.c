/* Submits each argument as a task spec (JSON) through the `wtm` import module and prints one
 * line per spec: `submit N` (the errno of task_submit), then, when it was accepted, the task's
 * result JSON on the next line. Exits 0. Drives the spec checks of tests/tasks-spec.test.js. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../sdk/c/wtm.h"

int main(int argc, char **argv) {
  static char buf[1 << 16];
  for (int i = 1; i < argc; i++) {
    uint32_t id = 0, used = 0;
    int32_t e = wtm_task_submit(argv[i], (uint32_t)strlen(argv[i]), &id);
    printf("submit %d\n", (int)e);
    if (e != 0) continue;
    e = wtm_task_wait(id, buf, sizeof buf - 1, &used);
    if (e != 0) {
      printf("wait %d\n", (int)e);
      continue;
    }
    buf[used] = 0;
    printf("%s\n", buf);
  }
  return 0;
}
