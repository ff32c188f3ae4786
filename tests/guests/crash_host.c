/* A task that kills its own host process (tests/isolation.test.js), through a test-only hook of
 * the process pool (WTM_TEST_HOOKS=1, src/runtime/procchild.ts):
 *   crash_host SIGNAL   prints "alive", sleeps 400 ms (so its log reaches wtm), then writes the
 *                       hook's mark with SIGNAL and sleeps 10 s, which it never finishes.
 *   crash_host sleep MS prints "slept MS" after sleeping MS ms (a neighbour that must survive).
 * Run by examples/fanout.wasm, it gets "task-N": task-0 kills its host with SIGKILL, the others
 * sleep 800 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
    sleep_ms(atol(argv[2]));
    printf("slept %s\n", argv[2]);
    return 0;
  }
  if (argc == 2 && strncmp(argv[1], "task-", 5) == 0 && strcmp(argv[1], "task-0") != 0) {
    sleep_ms(800);
    printf("%s slept 800\n", argv[1]);
    return 0;
  }
  const char *sig = argc > 1 && strncmp(argv[1], "SIG", 3) == 0 ? argv[1] : "SIGKILL";
  printf("alive\n");
  fflush(stdout);
  sleep_ms(400);
  printf("WTM-TEST-KILL-HOST-PROCESS:%s\n", sig);
  fflush(stdout);
  sleep_ms(10000);
  printf("still alive: the hook did not fire\n");
  return 0;
}
