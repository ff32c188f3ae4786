import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { TailSnapshot } from '../timemachine/tail.js';
import { CANCELLED_EXIT_CODE, TIMEOUT_EXIT_CODE, type Job, type JobPool, type JobResult } from './pool.js';
import type { FromChild, ToChild } from './procchild.js';

/** The child script: the plain module, also when this code runs from the bundle (dist/bundle/). */
const childUrl = import.meta.url.endsWith('/bundle/cli.mjs')
  ? new URL('../runtime/procchild.js', import.meta.url)
  : new URL('./procchild.js', import.meta.url);

export interface ProcessPoolOptions {
  /**
   * The data segment limit of each child process (RLIMIT_DATA: its heap and the linear memory
   * of the guests it runs), in bytes: past it V8 aborts the child (SIGABRT), and its jobs are
   * recorded as crashed while everything else runs on. Default: no limit of wtm's own.
   */
  memoryLimitBytes?: number;
}

/** A job of ProcessPool: what a child's messages about it go to. */
interface Pending {
  job: Job;
  finish: (r: JobResult) => void;
  onTail?: (s: TailSnapshot) => void;
}

/** One child process: its IPC channel and the jobs it runs. */
interface Child {
  proc: ChildProcess;
  ready: Promise<boolean>;
  jobs: Map<number, Pending>;
  modules: Set<string>;
  dead: boolean;
}

let nextJob = 1;

/**
 * Process isolation for tasks: a pool of child processes, each running one job at a time in a
 * worker thread of its own (procchild.ts). A child that dies (a V8 fault, an out-of-memory
 * abort, a signal) takes only its own job: that job ends `crashed` with the signal, the log it
 * sent so far kept (sealed batches, and its unsealed records as of at most 100 ms before), and
 * the pool starts a new child for the next job. Directory handles reach the child as handles
 * (procchild.ts `adopt`); this process keeps them open until the job's end, as with threads.
 *
 * The guest's own `wtm` task calls are not served in a child: they answer NOSYS (tasks that
 * start tasks run with thread isolation).
 */
export class ProcessPool implements JobPool {
  private readonly idle: Child[] = [];
  private readonly all = new Set<Child>();
  private closed = false;
  readonly wantsCode = true;

  constructor(private readonly keepIdle: number, private readonly options: ProcessPoolOptions = {}) {}

  /** Starts a child: ~50 ms of Node start and module loading, overlapped with the first job's sending. */
  private start(): Child {
    const script = childUrl.pathname;
    const limit = this.options.memoryLimitBytes;
    // A limit is set by the shell between fork and exec (Node has no setrlimit).
    const proc = limit === undefined
      ? spawn(process.execPath, [script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
      : spawn('/bin/sh', ['-c', `ulimit -d ${Math.ceil(limit / 1024)} && exec "$0" "$@"`, process.execPath, script],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const child: Child = { proc, jobs: new Map(), modules: new Set(), dead: false, ready: Promise.resolve(false) };
    child.ready = new Promise<boolean>((resolve) => {
      proc.on('message', (m: FromChild) => {
        if ('ready' in m) return resolve(true);
        const p = child.jobs.get(m.id);
        if (!p) return;
        if ('log' in m) p.job.onLog?.(m.log);
        else if ('tail' in m) p.onTail?.(m.tail);
        else if ('stream' in m) p.job.onOutput?.(m.stream, m.chunk);
        else if ('exit' in m) p.finish(m.exit);
      });
      proc.once('exit', (code, signal) => {
        resolve(false);
        child.dead = true;
        this.all.delete(child);
        const at = this.idle.indexOf(child);
        if (at >= 0) this.idle.splice(at, 1);
        const why = signal ? `its host process died of ${signal}` : `its host process exited with code ${code}`;
        const exitCode = signal ? 128 + (os.constants.signals[signal] ?? 0) : 1;
        for (const p of [...child.jobs.values()]) {
          p.finish({ exitCode, error: `crashed: ${why} (process isolation: other tasks were not affected)`, ended: 'crashed', ...(signal ? { signal } : {}) });
        }
      });
      proc.on('error', () => {});
    });
    this.all.add(child);
    return child;
  }

  run(job: Job): Promise<JobResult> {
    if (this.closed) return Promise.resolve({ exitCode: 1, error: 'the process pool is closed', ended: 'crashed' });
    const child = this.idle.pop() ?? this.start();
    child.proc.ref();
    (child.proc.channel as { ref?: () => void } | undefined)?.ref?.();
    const id = nextJob++;
    return new Promise<JobResult>((resolve) => {
      let ended = false;
      let timer: NodeJS.Timeout | undefined;
      let killer: NodeJS.Timeout | undefined;
      const finish = (r: JobResult) => {
        if (ended) return;
        ended = true;
        if (timer) clearTimeout(timer);
        if (killer) clearTimeout(killer);
        job.signal?.removeEventListener('abort', onAbort);
        child.jobs.delete(id);
        if (!child.dead && r.ended === 'exited') this.release(child);
        else if (!child.dead && r.ended !== 'crashed') this.release(child); // the child stopped its worker itself
        resolve(r);
      };
      const pending: Pending = { job, finish, ...(job.onTailSnapshot ? { onTail: job.onTailSnapshot } : {}) };
      child.jobs.set(id, pending);
      const cancel = (reason: string, result: JobResult) => {
        if (ended || child.dead) return;
        child.proc.send({ cancel: id, reason } satisfies ToChild);
        // A child that does not stop its worker in time is killed; the job ends as asked.
        killer = setTimeout(() => {
          if (ended) return;
          child.proc.kill('SIGKILL');
          finish(result);
        }, 2000);
        killer.unref();
      };
      const onAbort = () => {
        const reason = typeof job.signal?.reason === 'string' ? job.signal.reason : 'cancelled';
        cancel(reason, { exitCode: CANCELLED_EXIT_CODE, error: reason, ended: 'cancelled' });
      };
      if (job.signal?.aborted) {
        child.jobs.delete(id);
        this.release(child);
        return resolve({ exitCode: CANCELLED_EXIT_CODE, error: typeof job.signal.reason === 'string' ? job.signal.reason : 'cancelled', ended: 'cancelled' });
      }
      job.signal?.addEventListener('abort', onAbort);
      // The timeout is the child's to enforce (it stops the worker); this one is the backstop.
      if (job.timeoutMs !== undefined && job.timeoutMs > 0) {
        timer = setTimeout(() => cancel(`timed out after ${job.timeoutMs} ms`, { exitCode: TIMEOUT_EXIT_CODE, error: `timed out after ${job.timeoutMs} ms`, ended: 'timeout' }), Math.min(job.timeoutMs + 2000, 2 ** 31 - 1));
        timer.unref();
      }
      const key = job.moduleKey ?? `job:${id}`;
      const send = !child.modules.has(key);
      if (send && job.code === undefined) return finish({ exitCode: 1, error: 'internal: process isolation needs the module bytes', ended: 'crashed' });
      child.modules.add(key);
      if (child.modules.size > 16) child.modules.clear(); // the child forgets alike
      // The config crosses as data: handles are fd numbers of this process, adopted by the child.
      const msg: ToChild = {
        job: {
          id, moduleKey: key, config: job.config,
          ...(send ? { code: job.code! } : {}), ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
        },
      };
      child.proc.send(msg, (err) => {
        if (err && !ended) finish({ exitCode: 1, error: `could not reach the task's host process: ${err.message}`, ended: 'crashed' });
      });
    });
  }

  private release(child: Child): void {
    if (child.dead) return;
    if (this.idle.length < this.keepIdle && !this.closed) {
      // An idle child must not keep this process alive.
      child.proc.unref();
      (child.proc.channel as { unref?: () => void } | undefined)?.unref?.();
      this.idle.push(child);
    } else {
      this.stop(child);
    }
  }

  private stop(child: Child): void {
    if (child.dead) return;
    child.proc.disconnect?.();
    const t = setTimeout(() => child.proc.kill('SIGKILL'), 1000);
    t.unref();
  }

  /** Stops the idle children (a running job's child ends with it). */
  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    await Promise.all(idle.map((c) => new Promise<void>((resolve) => {
      if (c.dead) return resolve();
      // Held until it has exited (an idle child does not hold this process otherwise).
      c.proc.ref();
      c.proc.once('exit', () => resolve());
      this.stop(c);
    })));
  }
}
