import { CHANNEL_COLLECTED, LIMIT_BITS, TREE_ALIVE, TREE_FLAGS, TREE_HANDLES, type TaskBlocked, type TaskReply, type TaskRequest, type TreeLimit, type TreeShare } from './guest-tasks.js';
import { closeSpecHandles } from './handles.js';
import type { GuestTaskHandlers } from './pool.js';
import type { TraceOptions } from './config.js';
import type { TaskHandle, TaskResult, TaskSpec } from './tasks.js';

/**
 * Bounds of a task tree: a main process (`runtime.run`, or a task the host spawned) and every
 * task below it. Defaults a normal fan-out never meets, and that stop a fork bomb early:
 *   - 1024 tasks alive (queued or running) per tree: a fan-out wider than that submits in
 *     waves (task_submit answers AGAIN until a task settles), and a runaway tree holds at most
 *     1024 queue entries, each with its module bytes and spec;
 *   - depth 8: pipelines nest two or three levels; a binary tree of depth 8 is already 510
 *     tasks, and depth is what a bomb that waits for its children grows.
 * A task counts as alive from its submit until its parent collected its result (or ended),
 * so results nobody collects are bounded too (each holds up to the output limit).
 *   - 1024 directory handles held by the tree's guest-shared mounts (each an open fd of the
 *     whole OS process until its task settles; a spec shares at most 64).
 */
export const DEFAULT_MAX_TASKS_PER_TREE = 1024;
export const DEFAULT_MAX_TASK_DEPTH = 8;
export const DEFAULT_MAX_TREE_HANDLES = 1024;

/** What a tree reports to whoever started its main process (the CLI prints one line each). */
export type TreeEvent =
  /** A task_submit was refused by a limit (the first time per limit and tree). */
  | { kind: 'limit'; limit: TreeLimit; value: number }
  /** Every task slot was held by a task waiting for a queued task: the tree's queued tasks were cancelled (first time per tree). */
  | { kind: 'deadlock'; slots: number }
  /** The main process ended and left `count` tasks queued or running: they were cancelled. */
  | { kind: 'cancelled'; count: number };

/** The starter's side of a tree: the shared counter, the limits, the events it reported. */
export class TaskTree {
  private readonly counter = new SharedArrayBuffer(12);
  private readonly view = new Int32Array(this.counter);
  private readonly reported = new Set<string>();
  /** Set when the tree is traced live (run -T): every task of it is, each line prefixed with its id. */
  trace: TraceOptions | undefined = undefined;
  constructor(
    readonly maxTasks: number, readonly maxDepth: number, private readonly onEvent?: (e: TreeEvent) => void,
    readonly maxHandles: number = DEFAULT_MAX_TREE_HANDLES,
  ) {}

  /** The tree as a worker at `depth` sees it. */
  share(depth: number): TreeShare {
    return { counter: this.counter, depth, maxTasks: this.maxTasks, maxDepth: this.maxDepth, maxHandles: this.maxHandles };
  }

  /** Tasks alive in the tree (queued, running, or with a result not collected yet). */
  get alive(): number {
    return Atomics.load(this.view, TREE_ALIVE);
  }

  /** A task of the tree is gone for good (collected, or its parent ended): its place is free again. */
  release(count = 1): void {
    if (count > 0) Atomics.sub(this.view, TREE_ALIVE, count);
  }

  /** A task settled: the directory handles its spec held are closed. */
  releaseHandles(count: number): void {
    if (count > 0) Atomics.sub(this.view, TREE_HANDLES, count);
  }

  /** The limit a report names, for the message. */
  limitOf(kind: TreeLimit): number {
    return kind === 'tasks' ? this.maxTasks : kind === 'depth' ? this.maxDepth : this.maxHandles;
  }

  /** Reports an event, limits and deadlocks once per tree. */
  report(e: TreeEvent): void {
    if (e.kind !== 'cancelled') {
      const key = e.kind === 'limit' ? e.limit : e.kind;
      if (this.reported.has(key)) return;
      this.reported.add(key);
      if (e.kind === 'limit') Atomics.or(this.view, TREE_FLAGS, LIMIT_BITS[e.limit]);
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
  /** Replies sent to the guest (see TaskBlocked): each a result that keeps its task alive until collected. */
  private sent = 0;
  /** The process's task channel signal (CHANNEL_COLLECTED counts the results it collected). */
  private channel: Int32Array | null = null;
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
    // The guest counted the handles it shared (TREE_HANDLES); lost ones were closed with it.
    const shared = (req.spec.mounts ?? []).filter((m) => m.handle).length + (req.lostHandles ?? 0);
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      closeSpecHandles(spec);
      this.owner.releaseHandles(shared);
      // Nobody will collect the result of a process that has ended: its place is free now.
      // Otherwise the guest frees it when it collects the result (or `finish` does).
      if (this.ended) this.owner.release();
      return !this.ended;
    };
    // A request posted just before the process was stopped: its parent is gone, so it never
    // runs; nor one whose handles were lost with its stopped sender (pool.ts, claimHandles).
    if (this.ended || req.lost) {
      if (settle()) this.owner.release();
      return;
    }
    let h: TaskHandle;
    try {
      this.sink.place(req.processId, this.owner, this.depth + 1);
      h = this.sink.submit(spec, { id: req.processId });
    } catch (e) {
      if (!settle()) return;
      reply({ handle: req.handle, result: JSON.stringify({ id: req.handle, process_id: req.processId, state: 'error', exit_code: 1, stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, error: (e as Error).message }) });
      return;
    }
    this.children.set(req.processId, h);
    void h.wait().then((r) => {
      this.children.delete(req.processId);
      if (!settle()) return;
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

  onLimit(kind: TreeLimit): void {
    this.owner.report({ kind: 'limit', limit: kind, value: this.owner.limitOf(kind) });
  }

  /** The process's task channel (pool.ts): how many results it has collected. */
  bind(channel: Int32Array): void {
    this.channel = channel;
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
    // Results it was sent but never collected: their tasks are gone for good now.
    const collected = this.channel ? Atomics.load(this.channel, CHANNEL_COLLECTED) : 0;
    this.owner.release(this.sent - collected);
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
    ...(r.error ? { error: r.error } : {}), ...(r.signal ? { signal: r.signal } : {}),
  };
}
