/* Starts two tasks of argv[1]/hello.wasm (args "t1" and "t2"), waits for each, then writes
 * "tasks done\n". For the trace view's --tasks (tests/trace.test.js). */
#include <string.h>
#include <unistd.h>
#include "../../sdk/c/wtm.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char spec[512], buf[4096];
  uint32_t ids[2], used;
  const char *names[2] = {"t1", "t2"};
  for (int i = 0; i < 2; i++) {
    int n = 0;
    const char *parts[] = {"{\"module\":\"", argv[1], "/hello.wasm\",\"args\":[\"", names[i], "\"]}"};
    spec[0] = 0;
    for (int k = 0; k < 5; k++) { strcat(spec, parts[k]); n += (int)strlen(parts[k]); }
    if (wtm_task_submit(spec, (uint32_t)n, &ids[i]) != 0) return 1;
  }
  for (int i = 0; i < 2; i++) if (wtm_task_wait(ids[i], buf, sizeof buf, &used) != 0) return 1;
  write(1, "tasks done\n", 11);
  return 0;
}
