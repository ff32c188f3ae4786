import { MessageChannel, type Worker } from 'node:worker_threads';
import type { ExitReport, ProcessConfig } from './config.js';
import { BatchSealer, DEFAULT_CODEC, type RawBatch } from '../timemachine/format.js';
import type { TailMessage, TailSnapshot } from '../timemachine/tail.js';
import { claimFd, closeLeftFds, hostFdBudget, newLedger } from './fdledger.js';
import type { TaskBlocked, TaskReply, TaskRequest, TreeLimit, TreeShare } from './guest-tasks.js';
import { closeGate, newCallGate } from './callgate.js';
import { bootWorker, takePrestartedWorker } from './prestart.js';

/** How a starter serves the `wtm` task calls of the guest it runs. */
export interface GuestTaskHandlers {
  onTask(req: TaskRequest, reply: (r: TaskReply) => void): void;
  onCancel(processId: string): void;
  /** The guest blocks in task_wait (see TaskBlocked); null: it runs again. */
  onBlocked?(blocked: TaskBlocked | null): void;
  /** A task_submit of the guest was refused by a limit of its tree (sent once per tree). */
  onLimit?(kind: TreeLimit): void;
  /** The process's task channel signal ([replies posted, results collected]), at its start. */
  bind?(channel: Int32Array): void;
  /** The guest's tree: the counter its worker checks at each submit, and the limits. */
  tree?: TreeShare;
}

/**
 * The worker script: the bundled one when this code runs from the bundle (dist/bundle/: a
 * CommonJS file, which a worker starts ~15 ms of CPU sooner than an ES module), the plain
 * module otherwise. Both run the same code (src/runtime/worker.ts).
 */
const workerUrl = /\/bundle\/(cli\.mjs|worker\.cjs)$/.test(import.meta.url)
  ? new URL('./worker.cjs', import.meta.url)
  : new URL('./worker.js', import.meta.url);

/** Each worker's fd ledger (fdledger.ts), its call gate (callgate.ts), and when it has loaded its code. */
const ledgers = new WeakMap<Worker, SharedArrayBuffer>();
const gates = new WeakMap<Worker, SharedArrayBuffer>();
const loaded = new WeakMap<Worker, Promise<void>>();

/** Starts a worker that runs processes (see worker.ts); start it early, it takes ~80 ms of CPU. */
export function startWorker(): Worker {
  const setup = { ledger: newLedger(), budget: hostFdBudget(), gate: newCallGate() };
  // The worker bin/wtm.js started before loading the CLI (prestart.ts): given its ledger and
  // gate now, before any job (messages arrive in order).
  const pre = takePrestartedWorker();
  const { worker, loaded: ready } = pre ?? bootWorker(workerUrl, setup);
  if (pre) {
    worker.ref();
    worker.postMessage({ setup });
  }
  ledgers.set(worker, setup.ledger);
  gates.set(worker, setup.gate);
  loaded.set(worker, ready);
  return worker;
}

/**
 * Stops a worker and resolves once its thread has stopped, after closing the fds it left open
 * and calling `detach` (which stops the starter from listening to it):
 * only then may handles it borrowed be closed (their numbers could be reused at once). A
 * worker still loading its code is let finish first: Node's module loader, stopped mid-way,
 * leaves the files it was reading open.
 */
export async function stopWorker(worker: Worker, detach: () => void = () => {}): Promise<void> {
  await loaded.get(worker);
  // A call with effects in progress is let finish and be recorded first (callgate.ts).
  const gate = gates.get(worker);
  if (gate) await closeGate(gate);
  await worker.terminate().catch(() => {});
  const ledger = ledgers.get(worker);
  if (ledger) closeLeftFds(ledger);
  // In the same turn as the cleanup: no message of this worker is handled after it, so a
  // handle it sent is either claimed before (claimHandles) or closed by it, never both.
  detach();
}

/**
 * Takes the directory handles a task request carries out of the sending worker's fd ledger
 * (fdledger.ts, claimFd). A handle that can no longer be claimed was closed by the ledger's
 * cleanup: it is dropped from the spec (never used, never closed again) and the request
 * marked lost.
 */
function claimHandles(worker: Worker, req: TaskRequest): TaskRequest {
  const ledger = ledgers.get(worker);
  if (!ledger || !req.spec.mounts) return req;
  let lost = 0;
  const mounts = req.spec.mounts.map((m) => {
    if (!m.handle || claimFd(ledger, m.handle.fd)) return m;
    lost++;
    const { handle: _gone, ...rest } = m;
    return rest;
  });
  return lost > 0 ? { ...req, lost: true, lostHandles: lost, spec: { ...req.spec, mounts } } : req;
}

/**
 * Batches smaller than this are stored uncompressed: brotli sets up its encoder on every call
 * (20-80 µs here, on the starter's thread) and gains nothing on so few bytes (a 200-byte batch
 * comes out at 204, so it was stored as is anyway; a short task's one batch is ~70 bytes).
 */
export const MIN_COMPRESSED_BATCH = 256;

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
  /** The shared buffer of the log's unsealed records (tail.ts), each time it changes. */
  onTail?: (m: TailMessage) => void;
  /** Output chunks when stdout/stderr is 'pipe'. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
  /** Wall-clock limit: past it the worker is terminated. */
  timeoutMs?: number;
  /** Aborting terminates the worker. */
  signal?: AbortSignal;
  /** Serves the guest's task calls; without it they answer NOSYS. */
  tasks?: GuestTaskHandlers;
  /** The module's bytes (memory limit applied), for a pool that compiles in another OS process (procpool.ts). */
  code?: Uint8Array;
  /** From a pool of child processes: a copy of the log's unsealed records (what onTail shares within a process). */
  onTailSnapshot?: (s: TailSnapshot) => void;
}

/** What runs jobs: worker threads of this process (WorkerPool), or child processes (ProcessPool). */
export interface JobPool {
  run(job: Job): Promise<JobResult>;
  close(): Promise<void>;
  /** True when jobs must carry `code` (the pool compiles in other OS processes). */
  readonly wantsCode?: boolean;
}

/** What a worker posts to its starter. */
interface WorkerMessage {
  stream?: 'stdout' | 'stderr';
  chunk?: Uint8Array;
  exit?: ExitReport;
  batch?: RawBatch;
  tail?: TailMessage;
  task?: TaskRequest;
  taskCancel?: string;
  taskBlocked?: TaskBlocked | null;
  taskLimit?: TreeLimit;
}

export interface JobResult extends ExitReport {
  /** How the process ended from the outside: it ran to its end, or was stopped. */
  ended: 'exited' | 'timeout' | 'cancelled' | 'crashed';
  /** With `crashed`: the signal that ended the OS process the job ran in (process isolation). */
  signal?: string;
}

/**
 * Workers that run processes one after another. A worker is reused after a process ends
 * normally (a fresh instance and System each time: nothing of one process stays for the next),
 * and replaced when a process had to be stopped: terminating is the only way to stop a guest
 * that does not return.
 */
export class WorkerPool implements JobPool {
  private readonly idle: Worker[] = [];
  /** Module keys each worker holds (see worker.ts). */
  private readonly held = new WeakMap<Worker, Set<string>>();
  /** `first`: an already started worker to use first (e.g. started while the module compiled). */
  constructor(private readonly keepIdle: number, first?: Worker) {
    if (first) this.idle.push(first);
  }

  /**
   * Runs one job. Resolves only when the worker is done with everything the job lent it: after
   * its exit report (the sandbox is closed before the report is posted), or, for a worker that
   * had to be stopped, after its thread has stopped. Messages it posted until then (output,
   * log, task requests) are still delivered.
   */
  run(job: Job): Promise<JobResult> {
    const worker = this.idle.pop() ?? startWorker();
    worker.ref();
    return new Promise((resolve) => {
      let ended: JobResult | null = null;
      let timer: NodeJS.Timeout | undefined;
      let closeChannel = () => {};
      /** Seals the log's batches as they come (compressed here, off the guest's thread). */
      let sealer: BatchSealer | undefined;
      const detach = () => {
        closeChannel();
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const finish = (r: JobResult, reuse: boolean) => {
        if (ended) return;
        ended = r;
        if (timer) clearTimeout(timer);
        job.signal?.removeEventListener('abort', onAbort);
        if (reuse) {
          detach();
          this.release(worker);
          resolve(r);
          return;
        }
        void stopWorker(worker, detach).then(() => resolve(r));
      };
      // The guest's task calls: requests come with the worker's messages, replies go to a
      // port the worker reads synchronously, and a shared counter wakes it (Atomics.wait).
      const channel = job.tasks ? new MessageChannel() : null;
      const signal = job.tasks ? new Int32Array(new SharedArrayBuffer(8)) : null;
      if (signal) job.tasks!.bind?.(signal);
      if (channel) closeChannel = () => channel.port2.close();
      const reply = (r: TaskReply) => {
        if (ended || !channel) return;
        channel.port2.postMessage(r);
        Atomics.add(signal!, 0, 1);
        Atomics.notify(signal!, 0);
      };
      const onMessage = (msg: WorkerMessage) => {
        if (msg.exit) finish({ ...msg.exit, ended: 'exited' }, true);
        else if (msg.batch) job.onLog?.((sealer ??= new BatchSealer(DEFAULT_CODEC, MIN_COMPRESSED_BATCH)).seal(msg.batch));
        else if (msg.tail) job.onTail?.(msg.tail);
        else if (msg.stream) job.onOutput?.(msg.stream, msg.chunk!);
        else if (msg.task) job.tasks?.onTask(claimHandles(worker, msg.task), reply);
        else if (msg.taskCancel) job.tasks?.onCancel(msg.taskCancel);
        else if (msg.taskBlocked !== undefined) job.tasks?.onBlocked?.(msg.taskBlocked);
        else if (msg.taskLimit) job.tasks?.onLimit?.(msg.taskLimit);
      };
      const onError = (e: Error) => finish({ exitCode: 1, error: `the worker failed: ${e.message}`, ended: 'crashed' }, false);
      const onExit = () => finish({ exitCode: 1, error: 'the worker ended without a report', ended: 'crashed' }, false);
      const onAbort = () => finish({ exitCode: CANCELLED_EXIT_CODE, error: typeof job.signal?.reason === 'string' ? job.signal.reason : 'cancelled', ended: 'cancelled' }, false);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (job.signal?.aborted) return onAbort();
      job.signal?.addEventListener('abort', onAbort);
      if (job.timeoutMs !== undefined && job.timeoutMs > 0) {
        // Node's timers hold at most 2^31-1 ms (24.8 days); a longer one would fire at once.
        const ms = Math.min(job.timeoutMs, 2 ** 31 - 1);
        timer = setTimeout(() => finish({ exitCode: TIMEOUT_EXIT_CODE, error: `timed out after ${job.timeoutMs} ms`, ended: 'timeout' }, false), ms);
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
        worker.postMessage({ ...work, tasks: { port: channel.port1, signal: signal!.buffer, tree: job.tasks!.tree } }, [channel.port1]);
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
      void stopWorker(worker);
    }
  }

  /** Terminates the idle workers. */
  async close(): Promise<void> {
    const all = this.idle.splice(0);
    await Promise.all(all.map((w) => stopWorker(w)));
  }
}
