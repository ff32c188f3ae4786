/* Submits each argument as a task spec (JSON) through the `wtm` import module, or with no
 * arguments each line of stdin, and prints one line per spec: `submit N` (the errno of
 * task_submit), then, when it was accepted, the task's result JSON on the next line. Exits 0.
 * Drives tests/task-spec.test.js and tests/imports.test.js. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "../../sdk/c/wtm.h"

static char buf[1 << 16];

static void submit(const char *spec, size_t len) {
  uint32_t id = 0, used = 0;
  int32_t e = wtm_task_submit(spec, (uint32_t)len, &id);
  printf("submit %d\n", (int)e);
  if (e != 0) return;
  e = wtm_task_wait(id, buf, sizeof buf - 1, &used);
  if (e != 0) {
    printf("wait %d\n", (int)e);
    return;
  }
  buf[used] = 0;
  printf("%s\n", buf);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) submit(argv[i], strlen(argv[i]));
  if (argc > 1) return 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n') n--;
    if (n > 0) submit(line, (size_t)n);
  }
  free(line);
  return 0;
}
