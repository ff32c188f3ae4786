import { LIMIT_BITS, type TaskBlocked, type TaskReply, type TaskRequest, type TreeShare } from './guest-tasks.js';
import { closeSpecHandles } from './handles.js';
import type { GuestTaskHandlers } from './pool.js';
import type { TaskHandle, TaskResult, TaskSpec } from './tasks.js';

/**
 * Bounds of a task tree: a main process (`runtime.run`, or a task the host spawned) and every
 * task below it. Defaults a normal fan-out never meets, and that stop a fork bomb early:
 *   - 1024 tasks alive (queued or running) per tree: a fan-out wider than that submits in
 *     waves (task_submit answers AGAIN until a task settles), and a runaway tree holds at most
 *     1024 queue entries, each with its module bytes and spec;
 *   - depth 8: pipelines nest two or three levels; a binary tree of depth 8 is already 510
 *     tasks, and depth is what a bomb that waits for its children grows.
 */
export const DEFAULT_MAX_TASKS_PER_TREE = 1024;
export const DEFAULT_MAX_TASK_DEPTH = 8;

/** What a tree reports to whoever started its main process (the CLI prints one line each). */
export type TreeEvent =
  /** A task_submit was refused by a limit (the first time per limit and tree). */
  | { kind: 'limit'; limit: 'tasks' | 'depth'; value: number }
  /** Every task slot was held by a task waiting for a queued task: the tree's queued tasks were cancelled (first time per tree). */
  | { kind: 'deadlock'; slots: number }
  /** The main process ended and left `count` tasks queued or running: they were cancelled. */
  | { kind: 'cancelled'; count: number };

/** The starter's side of a tree: the shared counter, the limits, the events it reported. */
export class TaskTree {
  private readonly counter = new SharedArrayBuffer(8);
  private readonly view = new Int32Array(this.counter);
  private readonly reported = new Set<string>();
  constructor(readonly maxTasks: number, readonly maxDepth: number, private readonly onEvent?: (e: TreeEvent) => void) {}

  /** The tree as a worker at `depth` sees it. */
  share(depth: number): TreeShare {
    return { counter: this.counter, depth, maxTasks: this.maxTasks, maxDepth: this.maxDepth };
  }

  /** Tasks alive (queued or running) in the tree. */
  get alive(): number {
    return Atomics.load(this.view, 0);
  }

  /** A task of the tree settled (or was never submitted): its place is free again. */
  release(): void {
    Atomics.sub(this.view, 0, 1);
  }

  /** Reports an event, limits and deadlocks once per tree. */
  report(e: TreeEvent): void {
    if (e.kind !== 'cancelled') {
      const key = e.kind === 'limit' ? e.limit : e.kind;
      if (this.reported.has(key)) return;
      this.reported.add(key);
      if (e.kind === 'limit') Atomics.or(this.view, 1, LIMIT_BITS[e.limit]);
    }
    this.onEvent?.(e);
  }
}

/** Where a process's tasks go: the queue, seen from one process of a tree. */
export interface TaskSink {
  submit(spec: TaskSpec, opts: { id: string }): TaskHandle;
  /** The task `id` (a running task of the queue) waits for `awaited`, or runs again (null). */
  setBlocked?(id: string, awaited: string | null): void;
  /** Places a task in its tree before it is submitted (the runner asks for it when it starts). */
  place(id: string, tree: TaskTree, depth: number): void;
}

/**
 * Serves the `wtm` task calls of one process (main or task) at `depth` in `tree`. Structured
 * concurrency: when the process ends (`finish`), the tasks it left queued or running are
 * cancelled, and `finish` resolves once every one of them has settled (their own tasks first).
 */
export class TaskServer implements GuestTaskHandlers {
  private readonly children = new Map<string, TaskHandle>();
  private ended = false;
  /** Replies sent to the guest (see TaskBlocked). */
  private sent = 0;
  readonly tree: TreeShare;

  constructor(private readonly sink: TaskSink, private readonly owner: TaskTree, private readonly depth: number, private readonly processId?: string) {
    this.tree = owner.share(depth);
  }

  onTask(req: TaskRequest, send: (r: TaskReply) => void): void {
    const reply = (r: TaskReply) => {
      this.sent++;
      if (this.processId) this.sink.setBlocked?.(this.processId, null); // the reply wakes it
      send(r);
    };
    const spec: TaskSpec = { ...req.spec, ...(this.processId ? { parentId: this.processId } : {}) };
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      closeSpecHandles(spec);
      this.owner.release();
    };
    // A request posted just before the process was stopped: its parent is gone, so it never
    // runs; nor one whose handles were lost with its stopped sender (pool.ts, claimHandles).
    if (this.ended || req.lost) return settle();
    let h: TaskHandle;
    try {
      this.sink.place(req.processId, this.owner, this.depth + 1);
      h = this.sink.submit(spec, { id: req.processId });
    } catch (e) {
      settle();
      reply({ handle: req.handle, result: JSON.stringify({ id: req.handle, process_id: req.processId, state: 'error', exit_code: 1, stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, error: (e as Error).message }) });
      return;
    }
    this.children.set(req.processId, h);
    void h.wait().then((r) => {
      this.children.delete(req.processId);
      settle();
      reply({ handle: req.handle, result: JSON.stringify(guestResult(req.handle, r)) });
    });
  }

  onCancel(processId: string): void {
    this.children.get(processId)?.cancel();
  }

  onBlocked(b: TaskBlocked | null): void {
    if (!this.processId) return;
    // Believed only with no reply in flight: one sent since wakes the guest at once.
    if (b === null) this.sink.setBlocked?.(this.processId, null);
    else if (b.received === this.sent) this.sink.setBlocked?.(this.processId, b.awaited);
  }

  onLimit(kind: 'tasks' | 'depth'): void {
    this.owner.report({ kind: 'limit', limit: kind, value: kind === 'tasks' ? this.owner.maxTasks : this.owner.maxDepth });
  }

  /**
   * The process has ended (its worker is done): cancels the tasks it left queued or running
   * and resolves, once all of them have settled, with how many there were.
   */
  async finish(onCancel?: (count: number) => void): Promise<number> {
    this.ended = true;
    if (this.processId) this.sink.setBlocked?.(this.processId, null);
    const pending = [...this.children.values()];
    const left = pending.filter((h) => h.state === 'queued' || h.state === 'running');
    if (left.length > 0) onCancel?.(left.length);
    for (const h of left) h.cancel(`cancelled: its parent ${this.processId ?? 'process'} ended`);
    await Promise.all(pending.map((h) => h.wait()));
    return left.length;
  }
}

/** A task result as a guest reads it (docs/tasks.md). */
export function guestResult(handle: number, r: TaskResult) {
  const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
  return {
    id: handle, process_id: r.id, state: r.state, exit_code: r.exitCode,
    stdout: text(r.stdout), stderr: text(r.stderr),
    stdout_truncated: r.stdoutTruncated, stderr_truncated: r.stderrTruncated,
    ...(r.error ? { error: r.error } : {}),
  };
}
