import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { natsConnect, natsWhy, type NatsLink } from '../registry/nats-link.js';
import { sha256Hex } from '../registry/digest.js';
import type { Registry } from '../registry/registry.js';
import { listEntries, newTaskId, ResultFeed, type TaskHandle, type TaskQueue, type TaskResult, type TaskSpec, type TaskState, type WorkerId } from './tasks.js';

/**
 * A TaskQueue on NATS JetStream: tasks submitted on one machine run on the machines that
 * serve the queue (`wtm worker --queue nats://...`).
 *
 *   stream   WTM_TASKS    work queue (retention: workqueue), subject wtm.tasks: one message a
 *                         task (its id as Nats-Msg-Id: a submit retried within 2 minutes is
 *                         stored once). Served by one durable pull consumer, wtm-workers, that
 *                         every worker shares: explicit acks, ack wait `ackWaitMs`.
 *   stream   WTM_RESULTS  results, subject wtm.results.SUBMITTER.TASK, kept a day. A result is
 *                         published "expecting no message on its subject": the first result of
 *                         a task wins and a second one (a task run twice) is refused, so results
 *                         are deduplicated by task id.
 *   subject  wtm.cancel.TASK (core NATS): the worker running TASK stops it.
 *
 * Delivery is at least once. A worker pulls only as many tasks as it has free slots
 * (fetch, not a prefetching consume: a worker killed with messages buffered would strand
 * them until their ack wait ran out), tells the server it is still working on each
 * (`working()`, every third of the ack wait) and acks a task only once its result is
 * stored. A worker that dies stops its heartbeats: its tasks are delivered again, to another
 * worker, after the ack wait. Before running a task a worker looks for its result: a task
 * whose result is stored (it ended but its ack was lost, or it was cancelled while queued) is
 * acked without running again. A task delivered again runs under a process id of its own,
 * derived from the task's and the attempt's number (attemptProcessId), so the worker that runs
 * it knows the earlier attempts' records: one still `running` (its worker stopped answering)
 * is marked `interrupted`, naming the attempt that replaces it.
 *
 * A task's module travels as a digest: the submitter stores its bytes in the shared registry
 * first. Host paths do not travel: a spec with a host directory mount is refused.
 */
export const TASKS_STREAM = 'WTM_TASKS';
export const RESULTS_STREAM = 'WTM_RESULTS';
export const WORKERS_CONSUMER = 'wtm-workers';
const TASK_SUBJECT = 'wtm.tasks';
const RESULT_SUBJECT = 'wtm.results';
const CANCEL_SUBJECT = 'wtm.cancel';
export const DEFAULT_ACK_WAIT_MS = 30_000;
const MAX_DELIVER = 5;

/** Runs one task on the serving machine (the worker's Runtime), under process id `processId`. */
export type RemoteExecute = (processId: string, spec: TaskSpec, signal: AbortSignal) => Promise<TaskResult>;

export interface NatsQueueOptions {
  /** The shared registry: where submitted module bytes go (and where workers find them). */
  registry?: Registry;
  /** How long the server waits for a heartbeat before it delivers a task again (default 30 s). */
  ackWaitMs?: number;
  /** Serving: what runs a task, how many at once, and who this worker is. */
  execute?: RemoteExecute;
  concurrency?: number;
  worker?: WorkerId;
  /** Told of what a serving worker does (one line each). */
  log?: (line: string) => void;
}

/**
 * The process id of a task's `attempt`-th run (deliveries count from 1): the task's id for the
 * first, then a UUID v4 drawn from (task id, attempt) by sha256, so any worker can name them.
 */
export function attemptProcessId(taskId: string, attempt: number): string {
  if (attempt <= 1) return taskId;
  const h = sha256Hex(new TextEncoder().encode(`${taskId}:attempt:${attempt}`));
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What a task message holds. */
interface Envelope {
  v: 1;
  id: string;
  spec: TaskSpec;
  stdin64?: string;
  replyTo: string;
  submitted: string;
}

/** A result as published (bytes in base64). */
interface WireResult extends Omit<TaskResult, 'stdout' | 'stderr'> {
  stdout64: string;
  stderr64: string;
}

interface Entry {
  id: string;
  spec: TaskSpec;
  state: TaskState;
  result: Promise<TaskResult>;
  resolve: (r: TaskResult) => void;
  startTime?: string;
  endTime?: string;
}

/** This machine as a worker: its host name and an id of this worker process. */
export function workerIdentity(): WorkerId {
  return { host: os.hostname(), id: `${process.pid}-${randomBytes(3).toString('hex')}` };
}

export class NatsTaskQueue implements TaskQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly feed = new ResultFeed();
  private closed = false;
  private readonly submitter = randomUUID().replace(/-/g, '');
  private resultsLoop: Promise<void> | null = null;
  private resultsIter: ConsumerMessages | null = null;
  /** Submissions still being published (close waits for them). */
  private readonly publishing = new Set<Promise<unknown>>();
  readonly ackWaitMs: number;

  private constructor(readonly url: string, private readonly link: NatsLink, private readonly opts: NatsQueueOptions) {
    this.ackWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
  }

  /** Connects and makes sure the streams and the workers' consumer exist. */
  static async open(url: string, opts: NatsQueueOptions = {}): Promise<NatsTaskQueue> {
    const link = await natsConnect(url, opts.worker ? `wtm worker ${opts.worker.host}/${opts.worker.id}` : 'wtm');
    try {
      await link.ensureStream({
        name: TASKS_STREAM, subjects: [TASK_SUBJECT], retention: 'workqueue' as never, duplicate_window: 120e9,
        description: 'wtm: tasks waiting for a worker (one message a task)',
      });
      await link.ensureStream({
        name: RESULTS_STREAM, subjects: [`${RESULT_SUBJECT}.>`], max_age: 86_400e9, allow_direct: true,
        description: 'wtm: task results, one a task (the first one published)',
      });
      const q = new NatsTaskQueue(url, link, opts);
      await q.ensureConsumer();
      return q;
    } catch (e) {
      await link.close();
      throw new Error(`${url}: cannot open the task queue: ${natsWhy(e)}`);
    }
  }

  private async ensureConsumer(): Promise<void> {
    const { AckPolicy } = await import('@nats-io/jetstream');
    const cfg = {
      durable_name: WORKERS_CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: this.ackWaitMs * 1e6, max_deliver: MAX_DELIVER,
      max_ack_pending: -1, description: 'wtm workers: each pulls as many tasks as it has free slots',
    };
    try {
      await this.link.jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER);
      // A worker sets the ack wait it heartbeats for; a submitter leaves it as it is.
      if (this.opts.execute) await this.link.jsm.consumers.update(TASKS_STREAM, WORKERS_CONSUMER, { ack_wait: cfg.ack_wait, max_deliver: MAX_DELIVER });
    } catch (e) {
      if (!/consumer not found/i.test((e as Error).message)) throw e;
      await this.link.jsm.consumers.add(TASKS_STREAM, cfg).catch((e2: Error) => {
        if (!/already (in use|exists)/i.test(e2.message)) throw e2;
      });
    }
  }

  // ---- submitting ----

  submit(spec: TaskSpec, opts: { signal?: AbortSignal; id?: string } = {}): TaskHandle {
    if (this.closed) throw new Error('the task queue is closed');
    for (const [i, m] of (spec.mounts ?? []).entries()) {
      throw new Error(`task spec: mounts[${i}] (${m.host} at ${m.guest}): a host directory cannot follow a task to another machine (the queue is ${this.url}); mount a snapshot instead (wtm snapshot DIR)`);
    }
    const id = opts.id ?? newTaskId();
    let resolve!: (r: TaskResult) => void;
    const result = new Promise<TaskResult>((r) => (resolve = r));
    const entry: Entry = { id, spec: lighten(spec), state: 'queued', result, resolve };
    this.entries.set(id, entry);
    const p = this.publish(entry, spec).catch((e: Error) => this.settle(entry, failed(id, `cannot submit the task to ${this.url}: ${e.message}`)));
    this.publishing.add(p);
    void p.finally(() => this.publishing.delete(p));
    if (opts.signal?.aborted) this.cancel(entry);
    else opts.signal?.addEventListener('abort', () => this.cancel(entry), { once: true });
    return this.handle(entry);
  }

  private async publish(entry: Entry, spec: TaskSpec): Promise<void> {
    await this.listen();
    let module = spec.module;
    if (typeof module === 'string' && !module.startsWith('sha256:') || module instanceof Uint8Array) {
      const reg = this.opts.registry;
      if (!reg) throw new Error('a module given as a path or as bytes needs the shared registry to travel (give the queue a registry)');
      let bytes: Uint8Array;
      try {
        bytes = module instanceof Uint8Array ? module : fs.readFileSync(module);
      } catch (e) {
        throw new Error(`cannot read module ${module}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      module = `sha256:${await this.storeModule(reg, bytes)}`;
    }
    const { stdin, ...rest } = spec;
    const env: Envelope = {
      v: 1, id: entry.id, spec: { ...rest, ...(module !== undefined ? { module } : {}) },
      replyTo: `${RESULT_SUBJECT}.${this.submitter}.${entry.id}`, submitted: new Date().toISOString(),
      ...(stdin !== undefined ? { stdin64: Buffer.from(typeof stdin === 'string' ? Buffer.from(stdin) : stdin).toString('base64') } : {}),
    };
    if (entry.state !== 'queued') return; // cancelled meanwhile
    await this.link.js.publish(TASK_SUBJECT, JSON.stringify(env), { msgID: entry.id });
  }

  /** Module digests stored (or being stored) by this queue: a burst of tasks of one module stores it once. */
  private readonly modules = new Map<string, Promise<string>>();

  private storeModule(reg: Registry, bytes: Uint8Array): Promise<string> {
    const digest = sha256Hex(bytes);
    let p = this.modules.get(digest);
    if (p === undefined) {
      p = reg.putModule(bytes);
      p.catch(() => this.modules.delete(digest));
      if (this.modules.size > 1000) this.modules.clear();
      this.modules.set(digest, p);
    }
    return p;
  }

  /** Starts reading this submitter's results (once). */
  private listen(): Promise<void> {
    if (this.resultsLoop) return Promise.resolve();
    let ready!: () => void;
    let fail!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => {
      ready = res;
      fail = rej;
    });
    this.resultsLoop = (async () => {
      let c: Consumer;
      try {
        c = await this.link.js.consumers.get(RESULTS_STREAM, { filter_subjects: `${RESULT_SUBJECT}.${this.submitter}.>` });
        this.resultsIter = await c.consume({ max_messages: 256 });
      } catch (e) {
        this.resultsLoop = null;
        fail(e as Error);
        return;
      }
      ready();
      for await (const m of this.resultsIter) {
        const r = decodeResult(m.data);
        const entry = r && this.entries.get(r.id);
        if (entry && entry.state !== 'success' && !entry.endTime) this.settle(entry, r);
      }
    })();
    return started;
  }

  private settle(e: Entry, r: TaskResult): void {
    if (e.endTime) return;
    e.state = r.state;
    e.endTime = r.endTime ?? new Date().toISOString();
    if (r.startTime) e.startTime = r.startTime;
    this.feed.add(r);
    e.resolve(r);
    this.feed.notify();
  }

  private cancel(e: Entry, reason = 'cancelled'): void {
    if (e.endTime) return;
    // A worker running it stops it; a task still queued gets its result now, stored, so that
    // no worker runs it later (a worker looks for a result before it runs a task).
    this.link.nc.publish(`${CANCEL_SUBJECT}.${e.id}`, reason);
    if (e.state === 'queued') {
      const r = { ...failed(e.id, reason), state: 'cancelled' as const, exitCode: 130 };
      void this.link.js.publish(`${RESULT_SUBJECT}.${this.submitter}.${e.id}`, encodeResult(r), { expect: { lastSubjectSequence: 0 } }).catch(() => {});
      this.settle(e, r);
    }
  }

  private handle(e: Entry): TaskHandle {
    return {
      id: e.id,
      get state() {
        return e.state;
      },
      wait: () => e.result,
      cancel: (reason?: string) => this.cancel(e, reason),
    };
  }

  wait(id: string): Promise<TaskResult> {
    const e = this.entries.get(id);
    return e ? e.result : Promise.reject(new Error(`no task ${id}`));
  }

  get(id: string): TaskHandle | undefined {
    const e = this.entries.get(id);
    return e && this.handle(e);
  }

  list() {
    return listEntries(this.entries);
  }

  results(): AsyncIterable<TaskResult> {
    return this.feed.drain(() => this.closed && [...this.entries.values()].every((e) => e.endTime));
  }

  /** Waits for the results of the tasks submitted here, then closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.publishing]);
    await Promise.all([...this.entries.values()].map((e) => e.result));
    this.feed.notify();
    this.resultsIter?.stop();
    await this.resultsLoop?.catch(() => {});
    await this.link.close();
  }

  // ---- serving (a worker) ----

  /**
   * Takes tasks and runs them until `signal` aborts; then drains: takes nothing new, finishes
   * (and acks) what it holds, and returns.
   */
  async serve(signal?: AbortSignal): Promise<void> {
    const execute = this.opts.execute;
    if (!execute) throw new Error('this queue was opened to submit, not to serve: give it an executor');
    const slots = this.opts.concurrency ?? 1;
    const worker = this.opts.worker ?? workerIdentity();
    const log = this.opts.log ?? (() => {});
    const running = new Map<string, AbortController>();
    let freed: (() => void) | null = null;
    // One listener for the whole loop: a wait for a free slot also ends when the worker drains.
    signal?.addEventListener('abort', () => freed?.(), { once: true });
    const cancels: Subscription = this.link.nc.subscribe(`${CANCEL_SUBJECT}.*`, {
      callback: (_err, m) => running.get(m.subject.slice(CANCEL_SUBJECT.length + 1))?.abort(m.string() || 'cancelled'),
    });
    const c = await this.link.js.consumers.get(TASKS_STREAM, WORKERS_CONSUMER);
    let batch: ConsumerMessages | null = null;
    const stop = () => batch?.stop();
    signal?.addEventListener('abort', stop, { once: true });
    const tasks = new Set<Promise<void>>();
    try {
      while (!signal?.aborted) {
        // Counted by the tasks taken, not those started: a task taken is awaiting its result
        // check before it runs, and a pull issued meanwhile would take one slot too many.
        const free = slots - tasks.size;
        if (free <= 0) {
          await new Promise<void>((r) => (freed = r));
          continue;
        }
        try {
          batch = await c.fetch({ max_messages: free, expires: 2000 });
          for await (const m of batch) {
            if (signal?.aborted) {
              m.nak(); // pulled as the worker stopped: another takes it at once
              continue;
            }
            const t = this.runOne(m, execute, worker, running, log).finally(() => {
              tasks.delete(t);
              freed?.();
              freed = null;
            });
            tasks.add(t);
          }
        } catch (e) {
          if (signal?.aborted) break;
          log(`cannot take tasks: ${natsWhy(e)}; retrying`);
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          batch = null;
        }
      }
      if (tasks.size > 0) log(`draining: finishing ${tasks.size} task${tasks.size === 1 ? '' : 's'}, taking no new ones`);
      await Promise.allSettled([...tasks]);
    } finally {
      signal?.removeEventListener('abort', stop);
      cancels.unsubscribe();
    }
  }

  private async runOne(m: JsMsg, execute: RemoteExecute, worker: WorkerId, running: Map<string, AbortController>, log: (l: string) => void): Promise<void> {
    let env: Envelope;
    try {
      env = JSON.parse(m.string()) as Envelope;
      if (env?.v !== 1 || typeof env.id !== 'string' || typeof env.replyTo !== 'string' || !env.replyTo.startsWith(`${RESULT_SUBJECT}.`)) throw new Error('not a wtm task');
    } catch (e) {
      log(`dropped a malformed task message: ${(e as Error).message}`);
      m.term();
      return;
    }
    // Stored already (it ran and its ack was lost, or it was cancelled while queued): done.
    if (await this.hasResult(env.replyTo)) {
      m.ack();
      return;
    }
    const controller = new AbortController();
    running.set(env.id, controller);
    const beat = setInterval(() => m.working(), Math.max(100, Math.floor(this.ackWaitMs / 3)));
    const again = m.info.deliveryCount > 1;
    const processId = attemptProcessId(env.id, m.info.deliveryCount);
    if (again) await this.supersede(env.id, m.info.deliveryCount, processId, log);
    const spec: TaskSpec = { ...env.spec, ...(env.stdin64 !== undefined ? { stdin: Buffer.from(env.stdin64, 'base64') } : {}) };
    let r: TaskResult;
    try {
      r = await execute(processId, spec, controller.signal);
    } catch (e) {
      r = failed(processId, (e as Error).message);
    } finally {
      running.delete(env.id);
    }
    try {
      // A result is one message: output past what fits is cut (and says so); `wtm logs` has all of it.
      const budget = Math.max(1024, Math.floor(((this.link.maxPayload - 65536) * 3) / 8));
      const cut = (b: Uint8Array) => (b.byteLength > budget ? b.subarray(0, budget) : b);
      const wire = {
        ...r, id: env.id, processId: r.id, worker, stdout: cut(r.stdout), stderr: cut(r.stderr),
        stdoutTruncated: r.stdoutTruncated || r.stdout.byteLength > budget, stderrTruncated: r.stderrTruncated || r.stderr.byteLength > budget,
        ...(again ? { attempt: m.info.deliveryCount } : {}),
      };
      try {
        await this.link.js.publish(env.replyTo, encodeResult(wire), { expect: { lastSubjectSequence: 0 } });
      } catch (e) {
        if (!/wrong last sequence/i.test((e as Error).message)) throw e;
        // Another run of this task stored its result first: that one stands.
      }
      await m.ackAck();
    } catch (e) {
      // Not acked: the server delivers it again after the ack wait, and the next worker
      // finds the result if it was stored.
      log(`task ${env.id}: could not store its result: ${natsWhy(e)}`);
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * Marks the earlier attempts of a task delivered again that still read `running`: their
   * worker stopped answering (it died, or lost the server), so nobody else will. Should it be
   * alive after all, its own last update of the record stands.
   */
  private async supersede(taskId: string, attempt: number, processId: string, log: (l: string) => void): Promise<void> {
    const reg = this.opts.registry;
    if (!reg) return;
    for (let k = 1; k < attempt; k++) {
      const id = attemptProcessId(taskId, k);
      try {
        const rec = await reg.getStoredProcess(id);
        if (rec?.state !== 'running') continue;
        const who = rec.worker ? ` ${rec.worker.host}/${rec.worker.id}` : '';
        await reg.updateProcess(id, { state: 'interrupted', endTime: new Date().toISOString(), error: `its worker${who} stopped answering; the task was delivered again and ran as process ${processId} (attempt ${attempt})` });
      } catch (e) {
        log(`task ${taskId}: could not mark attempt ${k} (process ${id}) as replaced: ${natsWhy(e)}`);
      }
    }
  }

  private async hasResult(subject: string): Promise<boolean> {
    try {
      return (await this.link.jsm.direct.getMessage(RESULTS_STREAM, { last_by_subj: subject })) !== null;
    } catch (e) {
      if (/no message found|not found/i.test((e as Error).message)) return false;
      throw e;
    }
  }
}

function failed(id: string, error: string): TaskResult {
  return {
    id, state: 'error', exitCode: 1, stdout: new Uint8Array(), stderr: new Uint8Array(),
    stdoutTruncated: false, stderrTruncated: false, error, root: '',
  };
}

/** A spec as kept for list(): without stdin and module bytes. */
function lighten(spec: TaskSpec): TaskSpec {
  const { stdin: _stdin, ...rest } = spec;
  return rest.module instanceof Uint8Array ? { ...rest, module: `${rest.module.byteLength} bytes` } : rest;
}

function encodeResult(r: TaskResult & Record<string, unknown>): string {
  const { stdout, stderr, ...rest } = r;
  return JSON.stringify({ ...rest, stdout64: Buffer.from(stdout).toString('base64'), stderr64: Buffer.from(stderr).toString('base64') });
}

function decodeResult(data: Uint8Array): TaskResult | null {
  try {
    const w = JSON.parse(new TextDecoder().decode(data)) as WireResult;
    const { stdout64, stderr64, ...rest } = w;
    return { ...rest, stdout: new Uint8Array(Buffer.from(stdout64 ?? '', 'base64')), stderr: new Uint8Array(Buffer.from(stderr64 ?? '', 'base64')) };
  } catch {
    return null;
  }
}
