/* Fans work out to task processes and gathers the results: argv[1] is the module to run as a
 * task (a path in this guest's own file system), argv[2] how many tasks. Each task gets its
 * index as argument; their outputs are printed in the order they finish.
 * Build: clang-14 --target=wasm32-wasi --sysroot=/usr -I sdk/c -O2 examples/fanout.c -o examples/fanout.wasm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wtm.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: fanout MODULE COUNT\n");
    return 2;
  }
  int n = atoi(argv[2]);
  for (int i = 0; i < n; i++) {
    char spec[1024];
    int len = snprintf(spec, sizeof spec, "{\"module\":\"%s\",\"args\":[\"task-%d\"]}", argv[1], i);
    uint32_t id;
    int32_t e = wtm_task_submit(spec, (uint32_t)len, &id);
    if (e != 0) {
      printf("submit %d failed: errno %d\n", i, e);
      return 1;
    }
  }
  /* Collect the results as tasks finish: take what has finished (poll), and when nothing has
   * yet, block on the oldest task still out (wait) instead of spinning. */
  static char buf[1 << 20];
  int done = 0, failed = 0, next_to_wait = 1;
  for (;;) {
    uint32_t used = 0;
    int32_t e = wtm_task_poll(buf, sizeof buf, &used);
    if (e == WTM_ERRNO_CHILD) break;            /* all collected */
    if (e == WTM_ERRNO_AGAIN) {                 /* none finished yet: wait for the oldest */
      while ((e = wtm_task_wait((uint32_t)next_to_wait, buf, sizeof buf, &used)) == 8 /* BADF: collected */)
        next_to_wait++;
    }
    if (e != 0) {
      printf("collect failed: errno %d\n", e);
      return 1;
    }
    printf("%.*s\n", (int)used, buf);
    done++;
    if (!strstr(buf, "\"state\":\"success\"")) failed++;
  }
  printf("fanout: %d tasks done, %d failed\n", done, failed);
  return failed ? 1 : 0;
}
