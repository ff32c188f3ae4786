import type { Out } from './types.js';

/**
 * The `wtm` host import module, as typed calls: a guest starts task processes, waits for them,
 * polls for finished ones and cancels them. An extension beside the preview1 System, kept in
 * its own interface. Specs and results are JSON text (docs/tasks.md); errors are WASI errnos.
 */
export interface TaskHost {
  /** Starts a task from a JSON spec: its handle (> 0), or -errno (INVAL bad spec, NOENT module, ACCES a mount wider than the guest's own access). */
  taskSubmit(spec: string): number;
  /**
   * Waits for task `id` to end and hands back its result JSON in `out.value`. When the
   * result is longer than `bufLen` bytes, answers NOBUFS and keeps it for the next call
   * (`out.value` still holds it, so the needed size is known). BADF for an unknown handle.
   */
  taskWait(id: number, bufLen: number, out: Out<string>): number;
  /** Like taskWait for any finished task not yet collected; AGAIN if none has finished, CHILD if none is left. */
  taskPoll(bufLen: number, out: Out<string>): number;
  /** Cancels a task; BADF for an unknown handle. */
  taskCancel(id: number): number;
}
