import { MessageChannel, Worker } from 'node:worker_threads';
import type { ExitReport, ProcessConfig } from './config.js';
import type { TaskReply, TaskRequest } from './guest-tasks.js';

/** How a starter serves the `wtm` task calls of the guest it runs. */
export interface GuestTaskHandlers {
  onTask(req: TaskRequest, reply: (r: TaskReply) => void): void;
  onCancel(processId: string): void;
}

/**
 * The worker script: the bundled one when this code runs from the bundle (dist/bundle/), the
 * plain module otherwise. Both run the same code (src/runtime/worker.ts).
 */
const workerUrl = import.meta.url.endsWith('/bundle/cli.mjs')
  ? new URL('./worker.mjs', import.meta.url)
  : new URL('./worker.js', import.meta.url);

/** Starts a worker that runs processes (see worker.ts); start it early, it takes ~60 ms. */
export function startWorker(): Worker {
  return new Worker(workerUrl, { stdout: false, stderr: false });
}

/** Modules a worker keeps by key; past this it forgets them all (and the pool knows). */
export const WORKER_MODULE_CACHE = 16;

/** Exit codes of processes wtm had to stop, as the shell reports `timeout` and SIGINT. */
export const TIMEOUT_EXIT_CODE = 124;
export const CANCELLED_EXIT_CODE = 130;

export interface Job {
  module: WebAssembly.Module;
  /** Names the module (e.g. its digest): a worker that already holds it is not sent it again. */
  moduleKey?: string;
  config: ProcessConfig;
  /** Sealed log batches, in order. */
  onLog?: (chunk: Uint8Array) => void;
  /** Output chunks when stdout/stderr is 'pipe'. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
  /** Wall-clock limit: past it the worker is terminated. */
  timeoutMs?: number;
  /** Aborting terminates the worker. */
  signal?: AbortSignal;
  /** Serves the guest's task calls; without it they answer NOSYS. */
  tasks?: GuestTaskHandlers;
}

export interface JobResult extends ExitReport {
  /** How the process ended from the outside: it ran to its end, or was stopped. */
  ended: 'exited' | 'timeout' | 'cancelled' | 'crashed';
}

/**
 * Workers that run processes one after another. A worker is reused after a process ends
 * normally (a fresh instance and System each time: nothing of one process stays for the next),
 * and replaced when a process had to be stopped: terminating is the only way to stop a guest
 * that does not return.
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  /** Module keys each worker holds (see worker.ts). */
  private readonly held = new WeakMap<Worker, Set<string>>();
  /** `first`: an already started worker to use first (e.g. started while the module compiled). */
  constructor(private readonly keepIdle: number, first?: Worker) {
    if (first) this.idle.push(first);
  }

  run(job: Job): Promise<JobResult> {
    const worker = this.idle.pop() ?? startWorker();
    worker.ref();
    return new Promise((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let closeChannel = () => {};
      const finish = (r: JobResult, reuse: boolean) => {
        if (done) return;
        done = true;
        closeChannel();
        if (timer) clearTimeout(timer);
        job.signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (reuse) this.release(worker);
        else void worker.terminate();
        resolve(r);
      };
      // The guest's task calls: requests come with the worker's messages, replies go to a
      // port the worker reads synchronously, and a shared counter wakes it (Atomics.wait).
      const channel = job.tasks ? new MessageChannel() : null;
      const signal = job.tasks ? new Int32Array(new SharedArrayBuffer(4)) : null;
      if (channel) closeChannel = () => channel.port2.close();
      const reply = (r: TaskReply) => {
        if (done || !channel) return;
        channel.port2.postMessage(r);
        Atomics.add(signal!, 0, 1);
        Atomics.notify(signal!, 0);
      };
      const onMessage = (msg: { stream?: 'stdout' | 'stderr'; chunk?: Uint8Array; exit?: ExitReport; log?: Uint8Array; task?: TaskRequest; taskCancel?: string }) => {
        if (msg.exit) finish({ ...msg.exit, ended: 'exited' }, true);
        else if (msg.log) job.onLog?.(msg.log);
        else if (msg.stream) job.onOutput?.(msg.stream, msg.chunk!);
        else if (msg.task) job.tasks?.onTask(msg.task, reply);
        else if (msg.taskCancel) job.tasks?.onCancel(msg.taskCancel);
      };
      const onError = (e: Error) => finish({ exitCode: 1, error: `the worker failed: ${e.message}`, ended: 'crashed' }, false);
      const onExit = () => finish({ exitCode: 1, error: 'the worker ended without a report', ended: 'crashed' }, false);
      const onAbort = () => finish({ exitCode: CANCELLED_EXIT_CODE, error: 'cancelled', ended: 'cancelled' }, false);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (job.signal?.aborted) return onAbort();
      job.signal?.addEventListener('abort', onAbort);
      if (job.timeoutMs !== undefined && job.timeoutMs > 0) {
        timer = setTimeout(() => finish({ exitCode: TIMEOUT_EXIT_CODE, error: `timed out after ${job.timeoutMs} ms`, ended: 'timeout' }, false), job.timeoutMs);
      }
      let held = this.held.get(worker);
      if (held === undefined) this.held.set(worker, (held = new Set()));
      const send = job.moduleKey === undefined || !held.has(job.moduleKey);
      if (job.moduleKey !== undefined) {
        if (held.size >= WORKER_MODULE_CACHE) held.clear(); // the worker clears its cache alike
        held.add(job.moduleKey);
      }
      const work = { module: send ? job.module : undefined, moduleKey: job.moduleKey, config: job.config };
      if (channel) {
        worker.postMessage({ ...work, tasks: { port: channel.port1, signal: signal!.buffer } }, [channel.port1]);
      } else {
        worker.postMessage(work);
      }
    });
  }

  private release(worker: Worker): void {
    if (this.idle.length < this.keepIdle) {
      // An idle worker must not keep the host process alive.
      worker.unref();
      this.idle.push(worker);
    } else {
      void worker.terminate();
    }
  }

  /** Terminates the idle workers. */
  async close(): Promise<void> {
    const all = this.idle.splice(0);
    await Promise.all(all.map((w) => w.terminate()));
  }
}
