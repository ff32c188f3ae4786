/* wtm.h: start task processes from a WASI guest running under wtm (docs/tasks.md).
 *
 * A task is a separate, sandboxed process: its own fresh directory as /, only the mounts the
 * spec names (shared with no more access than the caller has), only the spec's environment.
 * Specs and results are JSON text. Every call returns a WASI errno (0 = success).
 *
 *   uint32_t id;
 *   const char *spec = "{\"module\":\"/work/child.wasm\",\"args\":[\"7\"]}";
 *   wtm_task_submit(spec, strlen(spec), &id);
 *   char buf[65536]; uint32_t used;
 *   wtm_task_wait(id, buf, sizeof buf, &used);   // -> {"id":1,"state":"success","exit_code":0,"stdout":"..."}
 */
#ifndef WTM_H
#define WTM_H

#include <stdint.h>

#define WTM_IMPORT(name) __attribute__((__import_module__("wtm"), __import_name__(#name)))

/* Starts a task from a JSON spec; writes its handle to *id. A mount shares the very directory
 * the caller reaches at that moment: renaming or replacing its path afterwards changes nothing
 * for the task.
 * Errors: INVAL (bad JSON or fields), NOENT/ACCES (module not readable by the caller),
 * ACCES (a mount wider than the caller's own access), NOTSUP (a mount that is not a host dir),
 * AGAIN (6): the caller's task tree has its maximum of tasks alive (queued, running, or
 *   ended with a result not collected yet; default 1024) or of shared directories (1024):
 *   collect a result (wtm_task_wait/poll) and submit again,
 * 2BIG (1): a spec over 1 MiB of JSON, or sharing more than 64 directories,
 * PERM (63): the caller is at the tree's depth limit (default 8 levels below the main
 *   process): it may not start tasks. */
int32_t wtm_task_submit(const char *spec, uint32_t spec_len, uint32_t *id) WTM_IMPORT(task_submit);

/* Waits for task `id` to end and writes its result JSON to buf (not NUL-terminated; *used =
 * its length). NOBUFS (42): buf is too small, *used = the size needed, call again.
 * BADF: unknown (or already collected) id. */
int32_t wtm_task_wait(uint32_t id, char *buf, uint32_t buf_len, uint32_t *used) WTM_IMPORT(task_wait);

/* Like wtm_task_wait for any finished task not yet collected, without blocking.
 * AGAIN (6): none has finished yet. CHILD (12): no task is left to collect. */
int32_t wtm_task_poll(char *buf, uint32_t buf_len, uint32_t *used) WTM_IMPORT(task_poll);

/* Cancels a task (its result then says "cancelled"). BADF: unknown id.
 * Tasks a process leaves queued or running when it ends are cancelled for it. */
int32_t wtm_task_cancel(uint32_t id) WTM_IMPORT(task_cancel);

#define WTM_ERRNO_AGAIN 6
#define WTM_ERRNO_CHILD 12
#define WTM_ERRNO_NOBUFS 42
#define WTM_ERRNO_PERM 63

#endif
