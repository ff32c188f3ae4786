/* Prints each environment variable's name and the length of its value ("NAME LEN"), never the
 * value: for the export privacy test (tests/privacy.test.js), whose secrets must not reach
 * the guest's output either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

int main(void) {
  __wasi_size_t count, size;
  if (__wasi_environ_sizes_get(&count, &size) != 0) return 1;
  char **env = malloc((count + 1) * sizeof *env);
  char *buf = malloc(size + 1);
  if (!env || !buf || __wasi_environ_get((uint8_t **)env, (uint8_t *)buf) != 0) return 1;
  for (__wasi_size_t i = 0; i < count; i++) {
    const char *eq = strchr(env[i], '=');
    if (!eq) continue;
    printf("%.*s %zu\n", (int)(eq - env[i]), env[i], strlen(eq + 1));
  }
  return 0;
}
