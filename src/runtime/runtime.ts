import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { logCutReason, wtmVersion } from '../registry/registry.js';
import { LocalStore } from '../registry/local.js';
import { storedConfig, type ExitReport, type InvokeConfig, type ProcessConfig, type StoredConfig, type TraceOptions } from './config.js';
import { loadArchives, runProcess } from './process.js';
import { configureRun, UserError } from './configure.js';
import type { ReplayOptions, RunOptions, RunResult, RuntimeOptions } from './options.js';
import { openMountHandles } from './handles.js';
import { loadTarFs } from '../fs/tarfs.js';
import { startWorker, WorkerPool, type GuestTaskHandlers, type JobPool } from './pool.js';
import { ProcessPool } from './procpool.js';
import { LocalTaskQueue } from './scheduler.js';
import { TaskRunner } from './taskrunner.js';
import { checkTaskSpec, isWholeIn, removeTaskRoot, TASK_LIMITS, type TaskHandle, type TaskQueue, type TaskSpec } from './tasks.js';
import { DEFAULT_MAX_TASK_DEPTH, DEFAULT_MAX_TASKS_PER_TREE, TaskServer, TaskTree, type TreeEvent } from './tree.js';
import { DEFAULT_MAX_OPEN_FILES } from '../sandbox/fdtable.js';
import { QueueSink } from './sink.js';
import { Recording } from './recording.js';
import { anySignal } from './signals.js';
import { looksLikeWat, watToWasm } from './wat.js';
import { limitMemory } from './memlimit.js';
import type { JobResult } from './pool.js';
import type { TailMessage } from '../timemachine/tail.js';
import { checkImports, hasWasmMagic, readExportTypes } from './imports.js';

export { UserError };

/** How tasks are isolated unless told otherwise (docs/RATIONALE.md, "Threads or processes for tasks?"). */
export const DEFAULT_ISOLATION: 'thread' | 'process' = 'thread';
export type { ReplayOptions, RunOptions, RunResult, RuntimeOptions };

export class Runtime {
  /** Where tasks run: worker threads of this process, or child processes (`isolation`). */
  private readonly pool: JobPool;
  private readonly runner: TaskRunner;
  readonly tasks: TaskQueue;
  readonly tasksDir: string;
  readonly maxTasksPerTree: number;
  readonly maxTaskDepth: number;
  readonly maxOpenFiles: number;
  readonly isolation: 'thread' | 'process';
  /** A temporary directory of this runtime (tasks and layers without a registry), removed by close(). */
  private readonly scratch: string | null = null;
  private readonly sink: QueueSink;
  /** Aborted by interrupt(): every job of this runtime listens to it. */
  private readonly interruption = new AbortController();
  private interruptedBy: string | undefined;

  constructor(readonly options: RuntimeOptions = {}) {
    const max = options.maxConcurrency ?? os.availableParallelism();
    this.maxTasksPerTree = positive(options.maxTasksPerTree ?? DEFAULT_MAX_TASKS_PER_TREE, 'maxTasksPerTree');
    this.maxTaskDepth = positive(options.maxTaskDepth ?? DEFAULT_MAX_TASK_DEPTH, 'maxTaskDepth');
    this.maxOpenFiles = positive(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES, 'maxOpenFiles');
    this.isolation = options.isolation ?? DEFAULT_ISOLATION;
    if (this.isolation !== 'thread' && this.isolation !== 'process') throw new UserError(`isolation must be 'thread' or 'process' (got ${String(this.isolation)})`);
    this.pool = this.isolation === 'process'
      ? new ProcessPool(max, options.processMemoryLimitBytes !== undefined ? { memoryLimitBytes: options.processMemoryLimitBytes } : {})
      : new WorkerPool(max);
    const store = options.registry?.store;
    const home = store instanceof LocalStore ? store.root : store?.localDir ?? null;
    if (options.tasksDir === undefined && home === null) {
      // Made on first use (TaskRunner), under a name nobody can guess.
      this.scratch = path.join(os.tmpdir(), `wtm-${randomUUID()}`);
    }
    this.tasksDir = options.tasksDir ?? path.join(home ?? this.scratch!, 'tasks');
    this.runner = new TaskRunner({
      pool: this.pool, tasksDir: this.tasksDir, registry: options.registry,
      outputLimit: options.outputLimit ?? 1 << 20, wtmVersion: WTM_VERSION,
      guestTasks: (id) => this.sink.serverFor(id),
      traceOf: (id) => this.sink.at(id)?.tree.trace,
      keepTaskDirs: options.keepTaskDirs ?? 'always',
      maxOpenFiles: this.maxOpenFiles,
      interrupt: this.interruption.signal,
      layersDir: options.layersDir ?? (home !== null ? path.join(home, 'layers') : path.join(path.dirname(this.tasksDir), 'layers')),
    });
    const queue = new LocalTaskQueue((id, spec, signal, release) => this.runner.execute(id, spec, signal, release), max, {
      onUnstarted: (id, spec, r) => this.runner.recordUnstarted(id, spec, r),
      onDeadlock: (ids, slots) => {
        for (const id of ids) this.sink.at(id)?.tree.report({ kind: 'deadlock', slots });
      },
      groupOf: (id) => this.sink.at(id)?.tree,
    });
    // A distributed queue (NatsTaskQueue) given: tasks run on the machines serving it.
    this.tasks = options.queue ?? queue;
    this.sink = new QueueSink(this.tasks);
  }

  /**
   * Starts a task: an untrusted process in a fresh directory of its own, with nothing of the
   * host but the mounts its spec names. Returns at once; `wait()` gives the result. The task
   * is the main process of a task tree of its own (`onTaskEvent` hears of its limits).
   */
  spawn(spec: TaskSpec, opts: { signal?: AbortSignal; onTaskEvent?: (e: TreeEvent) => void; trace?: TraceOptions; id?: string } = {}): TaskHandle {
    checkTaskSpec(spec);
    if (opts.id !== undefined && !UUID_V4.test(opts.id)) throw new UserError(`a task id must be a UUID v4 (got ${opts.id})`);
    const id = opts.id ?? randomUUID();
    const tree = new TaskTree(this.maxTasksPerTree, this.maxTaskDepth, opts.onTaskEvent);
    // Traced, the task and its own tasks write their lines to the host's stderr, each prefixed with its id.
    if (opts.trace) tree.trace = { ...opts.trace };
    this.sink.place(id, tree, 0);
    return this.sink.submit(spec, { id, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /**
   * Serves the `wtm` task calls of a main process (a new tree): each request becomes a task of
   * this runtime's queue (so `maxConcurrency` bounds them), named as a child of `parentId`.
   * Call `finish()` once the process has ended.
   */
  guestTaskHandlers(parentId?: string, onTaskEvent?: (e: TreeEvent) => void, trace?: TraceOptions): TaskServer {
    const tree = new TaskTree(this.maxTasksPerTree, this.maxTaskDepth, onTaskEvent);
    if (trace) tree.trace = { ...trace };
    return new TaskServer(this.sink, tree, 0, parentId);
  }

  /** Removes a finished task's directory. */
  removeTask(id: string): void {
    removeTaskRoot(this.tasksDir, id);
  }

  /** Waits for submitted tasks and stops the pooled workers; removes the temporary directory, if any. */
  async close(): Promise<void> {
    await this.tasks.close();
    await this.pool.close();
    this.runner.close();
    if (this.scratch) fs.rmSync(this.scratch, { recursive: true, force: true });
  }

  /** Reads and compiles a module (UserError for a missing or invalid file). */
  async load(module: string | Uint8Array, memoryLimitBytes?: number, command = true): Promise<{ bytes: Uint8Array; module: WebAssembly.Module }> {
    let bytes: Uint8Array;
    if (typeof module === 'string') {
      try {
        bytes = await readModuleFile(module);
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(`cannot read module ${module}: ${readError(e)}`);
      }
    } else {
      bytes = module;
    }
    const where = typeof module === 'string' ? module : 'the module';
    if (typeof module === 'string' && looksLikeWat(module, bytes)) {
      try {
        bytes = await watToWasm(module, bytes);
      } catch (e) {
        throw new UserError(`${where} is not a valid WebAssembly text module: ${(e as Error).message}`);
      }
    }
    if (!hasWasmMagic(bytes)) {
      throw new UserError(`${where} is not a WebAssembly module (a .wasm file starts with the bytes \\0asm)`);
    }
    let compiled: WebAssembly.Module;
    try {
      // A memory limit is the module's own maximum, lowered (memlimit.ts): memory.grow past it fails in the guest.
      const code = memoryLimitBytes === undefined ? bytes : limitMemory(bytes, memoryLimitBytes);
      compiled = await WebAssembly.compile(code as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new UserError(`${where} is not a valid WebAssembly module: ${(e as Error).message}`);
    }
    // Checked here, before anything is recorded: a module that cannot run leaves no trace.
    const missing = checkImports(bytes, where);
    if (missing) throw new UserError(missing);
    if (command && !WebAssembly.Module.exports(compiled).some((e) => e.name === '_start' && e.kind === 'function')) {
      throw new UserError(`${where} has no _start export: it is not a WASI command (a reactor? call one of its functions with --invoke FUNC)`);
    }
    return { bytes, module: compiled };
  }

  /** The process configuration `run` would use (exposed for recording and tests). */
  configure(opts: RunOptions): ProcessConfig {
    return { ...configureRun(opts), maxOpenFiles: this.maxOpenFiles };
  }

  /** Runs a module to its end in a worker thread, recording it when a registry is given. */
  async run(opts: RunOptions): Promise<RunResult> {
    if (opts.module instanceof WebAssembly.Module) {
      if (opts.registry ?? this.options.registry) throw new UserError('recording needs the module bytes, not a compiled module');
      return (await this.runMain(opts.module, this.configure(opts), opts)).result;
    }
    // Started while the module compiles; not at all when the run may go inline (see inlineWanted).
    const worker = this.inlineWanted(opts) ? undefined : startWorker();
    try {
      return await this.runOn(worker, opts, opts.module);
    } catch (e) {
      if (worker) void worker.terminate();
      throw e;
    }
  }

  /** RunOptions.inline, as far as the options alone tell (the module's imports decide the rest). */
  private inlineWanted(opts: RunOptions): boolean {
    return opts.inline === true && !(opts.registry ?? this.options.registry) && opts.timeoutMs === undefined && opts.signal === undefined;
  }

  private async runOn(worker: Worker | undefined, opts: RunOptions, source: string | Uint8Array): Promise<RunResult> {
    checkLimits(opts);
    const { bytes, module } = await this.load(source, opts.memoryLimitBytes, !opts.invoke);
    const config = this.configure(opts);
    if (opts.invoke) config.invoke = invokeConfig(bytes, module, opts.invoke.name, opts.invoke.args ?? []);
    // Archives are checked before anything is recorded (a hostile one is refused here, with
    // the entry named), at the price of reading them twice: the worker loads its own copy.
    for (const m of config.mounts) {
      if (m.kind !== 'tar') continue;
      try {
        await loadTarFs(m.host);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
    }
    const registry = opts.registry ?? this.options.registry;
    if (!registry) {
      // A guest that imports `wtm` may start tasks: their calls need the worker (task_wait blocks it).
      if (worker === undefined && (!this.inlineWanted(opts) || importsTasks(module))) worker = startWorker();
      const { result, job } = await this.runMain(module, config, opts, worker);
      if (job.ended === 'cancelled' && this.interruptedBy) result.interrupted = this.interruptedBy;
      return result;
    }
    config.record = true;
    if (opts.processId !== undefined && !UUID_V4.test(opts.processId)) throw new UserError(`processId must be a UUID v4 (got ${opts.processId})`);
    const id = opts.processId ?? randomUUID();
    config.processId = id;
    const recording = new Recording(registry, id, (async () => {
      const moduleDigest = await registry.putModule(bytes);
      const configDigest = await registry.putConfig(storedConfig(config, moduleDigest, WTM_VERSION, {
        ...(opts.hostEnv?.length ? { hostEnv: [...opts.hostEnv] } : {}),
        ...(opts.image !== undefined ? { image: opts.image } : {}),
        ...(config.invoke ? { invoke: config.invoke } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.memoryLimitBytes !== undefined ? { memoryLimitBytes: opts.memoryLimitBytes } : {}),
      }));
      return { moduleDigest, configDigest };
    })(), { argv: config.args, startTime: new Date().toISOString(), wtmVersion: WTM_VERSION }, this.interruption.signal);
    // The record exists before the guest starts: a wtm killed from now on leaves it interrupted.
    try {
      await recording.started;
    } catch (e) {
      recording.discard();
      throw new UserError(`cannot record the run: ${(e as Error).message} (run with --no-record to run without recording)`);
    }
    opts.onStart?.(id);
    const result = await this.runMain(module, config, opts, worker, recording);
    const ended = await recording.end(result.job);
    const out: RunResult = { ...result.result, processId: id, state: ended.state };
    if (ended.error && ended.state === 'failed' && !result.result.trap) out.error = ended.error;
    if (ended.error?.startsWith('recording failed')) out.recordingFailed = true;
    if (ended.state === 'interrupted') out.interrupted = this.interruptedBy ?? 'SIGINT';
    return out;
  }

  /**
   * Runs a main process: its mounts opened as handles here (closed once its worker is done),
   * its task calls served as a new tree; when it has ended, the tasks it left queued or
   * running are cancelled, and this resolves once they have settled.
   */
  private async runMain(module: WebAssembly.Module, config: ProcessConfig, opts: RunOptions, worker?: Worker, recording?: Recording): Promise<{ result: RunResult; job: JobResult }> {
    let opened: ReturnType<typeof openMountHandles>;
    try {
      opened = openMountHandles(config.mounts);
    } catch (e) {
      if (worker) void worker.terminate();
      throw new UserError((e as Error).message);
    }
    // Tasks' lines go to the host's stderr: traced only when the main process's go there too.
    const server = this.guestTaskHandlers(config.processId, opts.onTaskEvent, config.stderr === 'inherit' ? config.trace : undefined);
    const stop = anySignal([recording?.signal ?? this.interruption.signal, opts.signal]);
    let ran: { result: RunResult; job: JobResult };
    try {
      if (worker === undefined && !recording) {
        opts.onInline?.();
        ran = await runInline(module, { ...config, mounts: opened.mounts });
      } else {
        ran = await runInWorker(module, { ...config, mounts: opened.mounts }, {
          worker, tasks: server, timeoutMs: opts.timeoutMs, signal: stop.signal,
          ...(recording ? { onLog: recording.onLog, onTail: recording.onTail } : {}),
        });
      }
    } finally {
      stop.dispose();
      opened.close();
    }
    const cancelled = await server.finish((count) => opts.onTaskEvent?.({ kind: 'cancelled', count }));
    if (cancelled > 0) ran.result.cancelledTasks = cancelled;
    return ran;
  }

  /**
   * Stops every process this runtime runs, main and tasks, because the host process got
   * `signal` (SIGINT, SIGTERM): each recording keeps what was logged up to now and its record
   * says `interrupted`. The runs then resolve as usual.
   */
  interrupt(signal: string): void {
    if (this.interruptedBy) return;
    this.interruptedBy = signal;
    this.interruption.abort(`interrupted by ${signal}`);
  }

  /** Replays a recorded process from its log alone: no files, clock or network are touched. */
  async replay(opts: ReplayOptions): Promise<RunResult> {
    if (opts.until !== undefined && !isWholeIn(opts.until, 0, Number.MAX_SAFE_INTEGER)) throw new UserError(`until must be a record number >= 0 (got ${opts.until})`);
    const interval = typeof opts.profile === 'object' ? opts.profile.intervalUs : undefined;
    if (interval !== undefined && !isWholeIn(interval, 1, 1_000_000)) throw new UserError(`the profile's sampling interval must be a whole number of µs from 1 to 1000000 (got ${interval})`);
    const reg = opts.registry;
    const id = await reg.resolveProcessId(opts.processId);
    const rec = await reg.getProcess(id);
    if (!rec) throw new UserError(`no process ${opts.processId}`);
    const bytes = await reg.getModule(rec.moduleDigest);
    if (!bytes) throw new UserError(`process ${id}: its module ${rec.moduleDigest} is missing from the registry`);
    const stored = (await reg.getConfig(rec.configDigest)) as StoredConfig | null;
    if (!stored) throw new UserError(`process ${id}: its config ${rec.configDigest} is missing from the registry`);
    // The same memory limit as the run: memory.grow must fail where it failed.
    const { module } = await this.load(bytes, stored.memoryLimitBytes ?? undefined, !stored.invoke);
    // A local log is read by the worker itself, one batch at a time, through an fd opened here
    // (and closed once the worker is done); another store's log comes as bytes.
    const file = await reg.logPath(id);
    let fd: number | null = null;
    if (file !== null) {
      try {
        fd = fs.openSync(file, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    const log = fd !== null ? { fd } : await reg.readLog(id);
    if (!log) throw new UserError(`process ${id} has no log (was it run with --no-record?)`);
    const cut = logCutReason(rec);
    const config: ProcessConfig = {
      args: stored.args, env: stored.env, mounts: [], preopens: [], stdin: 'null',
      stdout: opts.stdout ?? 'inherit', stderr: opts.stderr ?? 'inherit', record: false, replayLog: log,
      ...(cut !== null ? { replayCut: cut } : {}), ...(opts.trace ? { trace: { ...opts.trace } } : {}),
      ...(stored.withheldEnv?.length ? { withheldEnv: stored.withheldEnv } : {}),
      ...(stored.invoke ? { invoke: stored.invoke } : {}),
      ...(opts.until !== undefined ? { replayUntil: opts.until } : {}),
      ...(opts.memory ? { replayMemory: true } : {}),
      ...(opts.profile ? { profile: opts.profile === true ? { intervalUs: 100 } : opts.profile } : {}),
    };
    try {
      return { ...(await runInWorker(module, config)).result, processId: id };
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
  }
}

/** Checks `--invoke NAME ARGS` against the module's exports: the function exists and takes that many arguments. */
function invokeConfig(bytes: Uint8Array, module: WebAssembly.Module, name: string, args: string[]): InvokeConfig {
  const imported = WebAssembly.Module.imports(module).filter((i) => i.kind === 'function').length;
  const types = readExportTypes(bytes, imported);
  const type = types.get(name);
  if (!type) {
    const names = [...types.keys()].filter((n) => !n.startsWith('_') || n === '_start');
    throw new UserError(`the module exports no function ${name}${names.length ? ` (it exports ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''})` : ''}`);
  }
  if (type.params.length !== args.length) {
    throw new UserError(`${name} takes ${type.params.length} argument${type.params.length === 1 ? '' : 's'} (${type.params.join(', ') || 'none'}), got ${args.length}`);
  }
  type.params.forEach((t, i) => {
    if (!['i32', 'i64', 'f32', 'f64'].includes(t)) throw new UserError(`${name}: parameter ${i + 1} is a ${t}, which --invoke cannot pass`);
    const v = args[i]!;
    const ok = t === 'i32' || t === 'i64' ? /^-?(0x[0-9a-f]+|\d+)$/i.test(v) : v.trim() !== '' && !Number.isNaN(Number(v));
    if (!ok) throw new UserError(`${name}: argument ${i + 1} (${t}) is not a number: ${v}`);
  });
  return { name, args, params: type.params };
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The largest module read from a pipe or a device (a file's own size bounds it). */
export const MAX_STREAMED_MODULE_BYTES = 1 << 30;

/**
 * A module file's bytes. A regular file is read whole. A pipe or a device (`/dev/stdin`) is
 * read in chunks, up to MAX_STREAMED_MODULE_BYTES, and given up at once when it starts with
 * neither the wasm magic nor the text format: `wtm run /dev/zero` read for ever.
 */
async function readModuleFile(file: string): Promise<Uint8Array> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    // /dev/stdin on a socket (as Node's spawn gives a child) cannot be opened again: read fd 0.
    if ((e as NodeJS.ErrnoException).code === 'ENXIO' && STDIN_NAMES.has(file)) return readStream(process.stdin, file);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    if (st.isFile()) return await fh.readFile();
    return await readStream(fh.createReadStream({ autoClose: false, highWaterMark: 1 << 20 }), file);
  } finally {
    await fh.close();
  }
}

const STDIN_NAMES = new Set(['/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** A module from a stream, given up at once when it starts with neither the magic nor text. */
async function readStream(stream: AsyncIterable<Buffer>, file: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  let checked = false;
  for await (const chunk of stream) {
    chunks.push(chunk);
    total += chunk.length;
    if (!checked && total >= 8) {
      checked = true;
      const head = Buffer.concat(chunks);
      // Neither the magic nor the text format's start (looksLikeWat, as load() decides): given up at once.
      if (!hasWasmMagic(head) && !looksLikeWat(file, head)) {
        throw new UserError(`${file} is not a WebAssembly module (a .wasm file starts with the bytes \\0asm)`);
      }
    }
    if (total > MAX_STREAMED_MODULE_BYTES) throw new UserError(`${file}: a module read from a stream may be at most ${MAX_STREAMED_MODULE_BYTES >> 20} MiB`);
  }
  return Buffer.concat(chunks);
}

/** What went wrong reading a file, as a user reads it. */
function readError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory', ENOTDIR: 'a parent is not a directory', ELOOP: 'too many symbolic links' };
  return (code && words[code]) ?? code ?? (e as Error).message;
}

/** The wtm version written into records (the package's). */
export const WTM_VERSION: string = wtmVersion();


function positive(n: number, what: string): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${what} must be a whole number >= 1 (got ${n})`);
  return n;
}

/** How runInWorker runs a job (see Job in pool.ts). */
export interface WorkerJob {
  worker?: Worker;
  tasks?: GuestTaskHandlers;
  onLog?: (chunk: Uint8Array) => void;
  onTail?: (m: TailMessage) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Does the module import the `wtm` module (task calls)? */
function importsTasks(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === 'wtm');
}

/**
 * Runs one process on this thread (RunOptions.inline): the same runProcess a worker runs, with
 * piped output collected here. Nothing can stop it but its own end (see RunOptions.inline).
 */
async function runInline(module: WebAssembly.Module, config: ProcessConfig): Promise<{ result: RunResult; job: JobResult }> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  let report: ExitReport;
  try {
    const archives = await loadArchives(config);
    report = runProcess(module, config, (msg) => {
      if ('stream' in msg) (msg.stream === 'stdout' ? out : err).push(new Uint8Array(msg.chunk));
    }, undefined, archives);
  } catch (e) {
    report = { exitCode: 1, error: (e as Error).message };
  }
  const job: JobResult = { ...report, ended: 'exited' };
  const result: RunResult = { exitCode: report.exitCode, trap: report.trap, error: report.error, calls: report.calls };
  if (config.stdout === 'pipe') result.stdout = Buffer.concat(out);
  if (config.stderr === 'pipe') result.stderr = Buffer.concat(err);
  for (const k of ['trap', 'error', 'calls'] as const) if (result[k] === undefined) delete result[k];
  if (report.results !== undefined) result.results = report.results;
  return { result, job };
}

/** Runs one process in a (fresh or just started) worker; collects its exit report and piped output. */
export async function runInWorker(module: WebAssembly.Module, config: ProcessConfig, j: WorkerJob = {}): Promise<{ result: RunResult; job: JobResult }> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const pool = new WorkerPool(0, j.worker);
  const r = await pool.run({
    module, config, onLog: j.onLog, onTail: j.onTail, tasks: j.tasks, timeoutMs: j.timeoutMs, signal: j.signal,
    onOutput: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk),
  });
  const result: RunResult = { exitCode: r.exitCode, trap: r.trap, error: r.error, calls: r.calls };
  if (config.stdout === 'pipe') result.stdout = Buffer.concat(out);
  if (config.stderr === 'pipe') result.stderr = Buffer.concat(err);
  if (r.ended === 'timeout') result.timedOut = true;
  for (const k of ['trap', 'error', 'calls'] as const) if (result[k] === undefined) delete result[k];
  for (const k of ['stoppedAt', 'memoryBytes', 'memory', 'profile', 'results'] as const) if (r[k] !== undefined) result[k] = r[k] as never;
  return { result, job: r };
}

/** Checks the limits of a run (library callers get an Error, not a Node warning). */
function checkLimits(opts: RunOptions): void {
  const t = opts.timeoutMs;
  if (t !== undefined && !isWholeIn(t, 1, Number.MAX_SAFE_INTEGER)) throw new UserError(`timeoutMs must be a whole number of ms >= 1 (got ${t})`);
  const m = opts.memoryLimitBytes;
  if (m !== undefined && !isWholeIn(m, TASK_LIMITS.minMemoryLimitBytes, TASK_LIMITS.maxMemoryLimitBytes)) {
    throw new UserError(`memoryLimitBytes must be a whole number of bytes from 64 KiB to 4 GiB (got ${m})`);
  }
}
