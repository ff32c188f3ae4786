import { listEntries, newTaskId, ResultFeed, type TaskHandle, type TaskQueue, type TaskResult, type TaskSpec, type TaskState } from './tasks.js';

/**
 * Runs one task to its end; the queue decides when. `release` says the task no longer needs
 * its slot (its worker is done) while the runner still finishes its record: the next task
 * starts meanwhile.
 */
export type Execute = (id: string, spec: TaskSpec, signal: AbortSignal, release: () => void) => Promise<TaskResult>;

/** Settled tasks a queue remembers (by id); older ones are forgotten. */
export const SETTLED_KEPT = 10_000;

/** What the queue tells its owner besides results. */
export interface QueueHooks {
  /**
   * A task settles without having run (cancelled while queued): e.g. to record it. The task
   * settles when this resolves.
   */
  onUnstarted?(id: string, spec: TaskSpec, result: TaskResult): Promise<void>;
  /** Queued tasks were cancelled to break a deadlock of the slots (see checkDeadlock). */
  onDeadlock?(cancelled: string[], slots: number): void;
  /**
   * The group (task tree) of a task: a deadlock cancels every queued task of the groups that
   * hold the slots. Without it, only the queued tasks the blocked ones wait for.
   */
  groupOf?(id: string): unknown;
}


interface Entry {
  id: string;
  spec: TaskSpec;
  state: TaskState;
  controller: AbortController;
  result: Promise<TaskResult>;
  resolve: (r: TaskResult) => void;
  startTime?: string;
  endTime?: string;
  settled?: boolean;
}

/**
 * The in-process task queue: at most `maxConcurrency` tasks run at once, the rest wait in
 * submission order. Cancelling a queued task drops it; cancelling a running one stops its
 * worker.
 */
export class LocalTaskQueue implements TaskQueue {
  private readonly entries = new Map<string, Entry>();
  /** Settled entries, oldest first: past SETTLED_KEPT the oldest are forgotten. */
  private readonly settledOrder: string[] = [];
  private readonly waiting: Entry[] = [];
  private running = 0;
  /** Results are kept for `results()` only once someone iterates it (no unbounded growth). */
  private readonly feed = new ResultFeed();
  private closed = false;
  private readonly onClose: (() => void)[] = [];
  /** Entries holding a slot, and those of them blocked waiting for a task (id -> awaited id). */
  private readonly slots = new Set<Entry>();
  private readonly blocked = new Map<string, string>();
  /** Entries that left their slot or the queue and have not settled yet (they may still wake a waiter). */
  private readonly finishing = new Set<Entry>();
  private deadlockCheck: NodeJS.Immediate | null = null;

  constructor(private readonly execute: Execute, readonly maxConcurrency: number, private readonly hooks: QueueHooks = {}, private readonly keep = SETTLED_KEPT) {
    if (!(maxConcurrency >= 1)) throw new Error(`maxConcurrency must be at least 1 (got ${maxConcurrency})`);
  }

  submit(spec: TaskSpec, opts: { signal?: AbortSignal; id?: string } = {}): TaskHandle {
    if (this.closed) throw new Error('the task queue is closed');
    const id = opts.id ?? newTaskId();
    let resolve!: (r: TaskResult) => void;
    const result = new Promise<TaskResult>((r) => (resolve = r));
    const entry: Entry = { id, spec, state: 'queued', controller: new AbortController(), result, resolve };
    this.entries.set(id, entry);
    if (opts.signal?.aborted) {
      this.cancelEntry(entry);
    } else {
      opts.signal?.addEventListener('abort', () => this.cancelEntry(entry), { once: true });
      this.waiting.push(entry);
      this.pump();
      if (this.slots.size >= this.maxConcurrency) this.scheduleDeadlockCheck();
    }
    return this.handle(entry);
  }

  wait(id: string): Promise<TaskResult> {
    const e = this.entries.get(id);
    return e ? e.result : Promise.reject(new Error(`no task ${id}`));
  }

  async serve(signal?: AbortSignal): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.onClose.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  get(id: string): TaskHandle | undefined {
    const e = this.entries.get(id);
    return e && this.handle(e);
  }

  list() {
    return listEntries(this.entries);
  }

  results(): AsyncIterable<TaskResult> {
    return this.feed.drain(() => this.closed && this.running === 0 && this.waiting.length === 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.values()].map((e) => e.result));
    this.feed.notify();
    for (const f of this.onClose.splice(0)) f();
  }

  private handle(e: Entry): TaskHandle {
    return {
      id: e.id,
      get state() {
        return e.state;
      },
      wait: () => e.result,
      cancel: (reason?: string) => this.cancelEntry(e, reason),
    };
  }

  /**
   * The running task `id` is blocked waiting for the task `awaited` (null: it runs again). A
   * task that waits holds its slot; when every slot is held by such a task while tasks are
   * queued, nothing can progress (the deepest waiter waits for a queued task that no slot will
   * ever start): the queue then cancels the queued tasks of the trees holding the slots (see
   * QueueHooks.groupOf), so each waiter gets a result and the trees wind down.
   */
  setBlocked(id: string, awaited: string | null): void {
    if (awaited === null) {
      this.blocked.delete(id);
      return;
    }
    this.blocked.set(id, awaited);
    this.scheduleDeadlockCheck();
  }

  private scheduleDeadlockCheck(): void {
    if (this.deadlockCheck !== null) return;
    this.deadlockCheck = setImmediate(() => {
      this.deadlockCheck = null;
      this.checkDeadlock();
    });
    this.deadlockCheck.unref();
  }

  /**
   * A deadlock: every slot is held by a task blocked in task_wait with no reply on its way to
   * it (see TaskBlocked), no task is between its end and its result, and tasks are queued.
   * Then only a timeout or a cancel from outside could ever free a slot.
   */
  private checkDeadlock(): void {
    if (this.waiting.length === 0 || this.slots.size < this.maxConcurrency || this.finishing.size > 0) return;
    for (const e of this.slots) if (!this.blocked.has(e.id)) return;
    const awaited = [...this.slots]
      .map((e) => this.entries.get(this.blocked.get(e.id)!))
      .filter((v): v is Entry => v !== undefined && v.state === 'queued');
    if (awaited.length === 0) return;
    const groupOf = this.hooks.groupOf;
    let victims = awaited;
    if (groupOf) {
      const groups = new Set([...this.slots].map((e) => groupOf(e.id)));
      victims = this.waiting.filter((w) => groups.has(groupOf(w.id)));
    }
    const why = `cancelled: all ${this.maxConcurrency} task slots were held by tasks waiting for tasks still queued (a deadlock of its task tree); `
      + 'raise maxConcurrency (wtm run --max-tasks), or wait for tasks only in the main process';
    for (const v of victims) this.cancelEntry(v, why);
    this.hooks.onDeadlock?.(victims.map((v) => v.id), this.maxConcurrency);
  }

  private cancelEntry(e: Entry, reason?: string): void {
    if (e.state === 'queued') {
      const i = this.waiting.indexOf(e);
      if (i >= 0) this.waiting.splice(i, 1);
      e.state = 'cancelled';
      this.finishing.add(e);
      const r: TaskResult = {
        id: e.id, state: 'cancelled', exitCode: 130, stdout: new Uint8Array(), stderr: new Uint8Array(),
        stdoutTruncated: false, stderrTruncated: false, error: reason ?? 'cancelled before it started', root: '',
      };
      void (this.hooks.onUnstarted?.(e.id, e.spec, r) ?? Promise.resolve()).catch(() => {}).then(() => this.settle(e, r));
    } else if (e.state === 'running') {
      e.controller.abort(reason ?? 'cancelled');
    }
  }

  private pump(): void {
    while (this.running < this.maxConcurrency && this.waiting.length > 0) {
      const e = this.waiting.shift()!;
      e.state = 'running';
      e.startTime = new Date().toISOString();
      this.running++;
      this.slots.add(e);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.running--;
        this.slots.delete(e);
        this.blocked.delete(e.id);
        if (!e.settled) this.finishing.add(e);
        this.pump();
      };
      this.execute(e.id, e.spec, e.controller.signal, release)
        .catch((err: Error): TaskResult => ({
          id: e.id, state: 'error', exitCode: 1, stdout: new Uint8Array(), stderr: new Uint8Array(),
          stdoutTruncated: false, stderrTruncated: false, error: err.message, root: '',
        }))
        .then((r) => {
          this.settle(e, r);
          release();
        });
    }
  }

  /**
   * A settled task keeps its entry (for `get`, `wait` by id and `list`) without its module
   * bytes and stdin, and only the last SETTLED_KEPT of them are kept: a runtime that runs tasks
   * for days (or a guest that submits and collects forever) must not grow without bound.
   */
  private forgetOld(e: Entry): void {
    if (e.spec.module instanceof Uint8Array || e.spec.stdin !== undefined) {
      const { stdin: _stdin, ...light } = e.spec;
      e.spec = { ...light, ...(light.module instanceof Uint8Array ? { module: `${light.module.byteLength} bytes` } : {}) };
    }
    this.settledOrder.push(e.id);
    while (this.settledOrder.length > this.keep) this.entries.delete(this.settledOrder.shift()!);
  }

  private settle(e: Entry, r: TaskResult): void {
    e.settled = true;
    this.finishing.delete(e);
    this.blocked.delete(e.id);
    if (this.slots.size >= this.maxConcurrency && this.waiting.length > 0) this.scheduleDeadlockCheck();
    e.state = r.state;
    e.endTime = new Date().toISOString();
    this.feed.add(r);
    e.resolve(r);
    this.forgetOld(e);
    this.feed.notify();
  }
}
