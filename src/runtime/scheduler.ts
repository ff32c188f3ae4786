import { newTaskId, type TaskHandle, type TaskQueue, type TaskResult, type TaskSpec, type TaskState } from './tasks.js';

/**
 * Runs one task to its end; the queue decides when. `release` says the task no longer needs
 * its slot (its worker is done) while the runner still finishes its record: the next task
 * starts meanwhile.
 */
export type Execute = (id: string, spec: TaskSpec, signal: AbortSignal, release: () => void) => Promise<TaskResult>;

interface Entry {
  id: string;
  spec: TaskSpec;
  state: TaskState;
  controller: AbortController;
  result: Promise<TaskResult>;
  resolve: (r: TaskResult) => void;
  startTime?: string;
  endTime?: string;
}

/**
 * The in-process task queue: at most `maxConcurrency` tasks run at once, the rest wait in
 * submission order. Cancelling a queued task drops it; cancelling a running one stops its
 * worker.
 */
export class LocalTaskQueue implements TaskQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private running = 0;
  private readonly finished: TaskResult[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  /** Results are kept for `results()` only once someone iterates it (no unbounded growth). */
  private collecting = false;
  private readonly onClose: (() => void)[] = [];

  constructor(private readonly execute: Execute, readonly maxConcurrency: number) {
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
    return [...this.entries.values()].map((e) => ({ id: e.id, state: e.state, spec: e.spec, startTime: e.startTime, endTime: e.endTime }));
  }

  async *results(): AsyncIterable<TaskResult> {
    this.collecting = true;
    for (;;) {
      while (this.finished.length > 0) yield this.finished.shift()!;
      if (this.closed && this.running === 0 && this.waiting.length === 0) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.values()].map((e) => e.result));
    this.wake?.();
    for (const f of this.onClose.splice(0)) f();
  }

  private handle(e: Entry): TaskHandle {
    return {
      id: e.id,
      get state() {
        return e.state;
      },
      wait: () => e.result,
      cancel: () => this.cancelEntry(e),
    };
  }

  private cancelEntry(e: Entry): void {
    if (e.state === 'queued') {
      const i = this.waiting.indexOf(e);
      if (i >= 0) this.waiting.splice(i, 1);
      this.settle(e, {
        id: e.id, state: 'cancelled', exitCode: 130, stdout: new Uint8Array(), stderr: new Uint8Array(),
        stdoutTruncated: false, stderrTruncated: false, error: 'cancelled before it started', root: '',
      });
    } else if (e.state === 'running') {
      e.controller.abort();
    }
  }

  private pump(): void {
    while (this.running < this.maxConcurrency && this.waiting.length > 0) {
      const e = this.waiting.shift()!;
      e.state = 'running';
      e.startTime = new Date().toISOString();
      this.running++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.running--;
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

  private settle(e: Entry, r: TaskResult): void {
    e.state = r.state;
    e.endTime = new Date().toISOString();
    if (this.collecting) this.finished.push(r);
    e.resolve(r);
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
