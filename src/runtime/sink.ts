import { sha256Hex } from '../registry/digest.js';
import type { TaskHandle, TaskQueue, TaskSpec } from './tasks.js';
import { TaskServer, type TaskTree, type TaskSink } from './tree.js';

/**
 * The runtime's queue as its task servers see it: where each task sits in its tree (from its
 * submission until it settles), and one copy of each module the guests submit. A guest's
 * module bytes come as a fresh copy with every task_submit; a tree of a thousand queued tasks
 * of one module keeps one copy, not a thousand.
 */
export class QueueSink implements TaskSink {
  private readonly placement = new Map<string, { tree: TaskTree; depth: number }>();
  private readonly modules = new Map<string, { bytes: Uint8Array; refs: number }>();

  /** The runtime's queue: the in-process one (which tracks blocked slots), or a distributed one. */
  constructor(private readonly queue: TaskQueue & { setBlocked?(id: string, awaited: string | null): void }) {}

  place(id: string, tree: TaskTree, depth: number): void {
    this.placement.set(id, { tree, depth });
  }

  setBlocked(id: string, awaited: string | null): void {
    // Only tasks of the queue hold slots (a main process waits outside them).
    if (this.placement.has(id)) this.queue.setBlocked?.(id, awaited);
  }

  submit(spec: TaskSpec, opts: { id: string; signal?: AbortSignal }): TaskHandle {
    let key: string | null = null;
    if (spec.module instanceof Uint8Array) {
      key = sha256Hex(spec.module);
      let m = this.modules.get(key);
      if (m === undefined) this.modules.set(key, (m = { bytes: spec.module, refs: 0 }));
      m.refs++;
      spec = { ...spec, module: m.bytes };
    }
    const done = () => {
      this.placement.delete(opts.id);
      const m = key === null ? undefined : this.modules.get(key);
      if (m && --m.refs === 0) this.modules.delete(key!);
    };
    let h: TaskHandle;
    try {
      h = this.queue.submit(spec, opts);
    } catch (e) {
      done();
      throw e;
    }
    void h.wait().then(done);
    return h;
  }

  /** A task's tree and depth while it is alive. */
  at(id: string): { tree: TaskTree; depth: number } | undefined {
    return this.placement.get(id);
  }

  /** Serves the `wtm` task calls of the task `id`, in its tree, one level below it. */
  serverFor(id: string): TaskServer | undefined {
    const at = this.placement.get(id);
    return at && new TaskServer(this, at.tree, at.depth, id);
  }
}
