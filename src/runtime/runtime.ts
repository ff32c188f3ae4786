import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { logCutReason, wtmVersion } from '../registry/registry.js';
import { LocalStore } from '../registry/local.js';
import { storedConfig, type ProcessConfig, type StoredConfig } from './config.js';
import { configureRun, UserError } from './configure.js';
import type { ReplayOptions, RunOptions, RunResult, RuntimeOptions } from './options.js';
import { openMountHandles } from './handles.js';
import { loadTarFs } from '../fs/tarfs.js';
import { startWorker, WorkerPool, type GuestTaskHandlers } from './pool.js';
import { LocalTaskQueue } from './scheduler.js';
import { TaskRunner } from './taskrunner.js';
import { removeTaskRoot, type TaskHandle, type TaskQueue, type TaskSpec } from './tasks.js';
import { DEFAULT_MAX_TASK_DEPTH, DEFAULT_MAX_TASKS_PER_TREE, TaskServer, TaskTree, type TreeEvent } from './tree.js';
import { DEFAULT_MAX_OPEN_FILES } from '../sandbox/fdtable.js';
import { QueueSink } from './sink.js';
import { missingImport } from './process.js';

export { UserError };
export type { ReplayOptions, RunOptions, RunResult, RuntimeOptions };

export class Runtime {
  private readonly pool: WorkerPool;
  private readonly runner: TaskRunner;
  readonly tasks: TaskQueue;
  readonly tasksDir: string;
  readonly maxTasksPerTree: number;
  readonly maxTaskDepth: number;
  readonly maxOpenFiles: number;
  /** A temporary directory of this runtime (tasks and layers without a registry), removed by close(). */
  private readonly scratch: string | null = null;
  private readonly sink: QueueSink;

  constructor(readonly options: RuntimeOptions = {}) {
    const max = options.maxConcurrency ?? os.availableParallelism();
    this.maxTasksPerTree = positive(options.maxTasksPerTree ?? DEFAULT_MAX_TASKS_PER_TREE, 'maxTasksPerTree');
    this.maxTaskDepth = positive(options.maxTaskDepth ?? DEFAULT_MAX_TASK_DEPTH, 'maxTaskDepth');
    this.maxOpenFiles = positive(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES, 'maxOpenFiles');
    this.pool = new WorkerPool(max);
    const store = options.registry?.store;
    const home = store instanceof LocalStore ? store.root : null;
    if (options.tasksDir === undefined && home === null) {
      // Made on first use (TaskRunner), under a name nobody can guess.
      this.scratch = path.join(os.tmpdir(), `wtm-${randomUUID()}`);
    }
    this.tasksDir = options.tasksDir ?? path.join(home ?? this.scratch!, 'tasks');
    this.runner = new TaskRunner({
      pool: this.pool, tasksDir: this.tasksDir, registry: options.registry,
      outputLimit: options.outputLimit ?? 1 << 20, wtmVersion: WTM_VERSION,
      guestTasks: (id) => this.sink.serverFor(id),
      keepTaskDirs: options.keepTaskDirs ?? 'always',
      maxOpenFiles: this.maxOpenFiles,
      layersDir: options.layersDir ?? (home !== null ? path.join(home, 'layers') : path.join(path.dirname(this.tasksDir), 'layers')),
    });
    const queue = new LocalTaskQueue((id, spec, signal, release) => this.runner.execute(id, spec, signal, release), max, {
      onUnstarted: (id, spec, r) => this.runner.recordUnstarted(id, spec, r),
      onDeadlock: (ids, slots) => {
        for (const id of ids) this.sink.at(id)?.tree.report({ kind: 'deadlock', slots });
      },
      groupOf: (id) => this.sink.at(id)?.tree,
    });
    this.tasks = queue;
    this.sink = new QueueSink(queue);
  }

  /**
   * Starts a task: an untrusted process in a fresh directory of its own, with nothing of the
   * host but the mounts its spec names. Returns at once; `wait()` gives the result. The task
   * is the main process of a task tree of its own (`onTaskEvent` hears of its limits).
   */
  spawn(spec: TaskSpec, opts: { signal?: AbortSignal; onTaskEvent?: (e: TreeEvent) => void } = {}): TaskHandle {
    const id = randomUUID();
    this.sink.place(id, new TaskTree(this.maxTasksPerTree, this.maxTaskDepth, opts.onTaskEvent), 0);
    return this.sink.submit(spec, { id, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /**
   * Serves the `wtm` task calls of a main process (a new tree): each request becomes a task of
   * this runtime's queue (so `maxConcurrency` bounds them), named as a child of `parentId`.
   * Call `finish()` once the process has ended.
   */
  guestTaskHandlers(parentId?: string, onTaskEvent?: (e: TreeEvent) => void): TaskServer {
    return new TaskServer(this.sink, new TaskTree(this.maxTasksPerTree, this.maxTaskDepth, onTaskEvent), 0, parentId);
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
  async load(module: string | Uint8Array): Promise<{ bytes: Uint8Array; module: WebAssembly.Module }> {
    let bytes: Uint8Array;
    if (typeof module === 'string') {
      try {
        bytes = await fs.promises.readFile(module);
      } catch (e) {
        throw new UserError(`cannot read module ${module}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    } else {
      bytes = module;
    }
    const where = typeof module === 'string' ? module : 'the module';
    let compiled: WebAssembly.Module;
    try {
      compiled = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new UserError(`${where} is not a valid WebAssembly module: ${(e as Error).message}`);
    }
    // Checked here, before anything is recorded: a module that cannot run leaves no trace.
    const missing = missingImport(compiled);
    if (missing) throw new UserError(`${where} imports ${missing}, which wtm does not provide`);
    if (!WebAssembly.Module.exports(compiled).some((e) => e.name === '_start' && e.kind === 'function')) {
      throw new UserError(`${where} has no _start export: it is not a WASI command`);
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
      return this.runMain(opts.module, this.configure(opts), opts);
    }
    const worker = startWorker();
    try {
      return await this.runOn(worker, opts, opts.module);
    } catch (e) {
      void worker.terminate();
      throw e;
    }
  }

  private async runOn(worker: Worker, opts: RunOptions, source: string | Uint8Array): Promise<RunResult> {
    const { bytes, module } = await this.load(source);
    const config = this.configure(opts);
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
    if (!registry) return this.runMain(module, config, opts, worker);
    config.record = true;
    const moduleDigest = await registry.putModule(bytes);
    const configDigest = await registry.putConfig(storedConfig(config, moduleDigest, WTM_VERSION));
    const id = randomUUID();
    await registry.createProcess({
      id, moduleDigest, configDigest, argv: config.args, startTime: new Date().toISOString(),
      state: 'running', wtmVersion: WTM_VERSION,
    });
    config.processId = id;
    opts.onStart?.(id);
    let saving: Promise<void> = Promise.resolve();
    let logBytes = 0;
    const result = await this.runMain(module, config, opts, worker, (chunk) => {
      logBytes += chunk.byteLength;
      saving = saving.then(() => registry.appendLog(id, chunk));
    });
    await saving;
    await registry.updateProcess(id, {
      endTime: new Date().toISOString(), exitCode: result.exitCode,
      state: result.trap ? 'trapped' : result.error ? 'failed' : 'exited',
      ...(result.trap ? { trap: result.trap } : {}), logBytes, calls: result.calls ?? 0,
    });
    return { ...result, processId: id };
  }

  /**
   * Runs a main process: its mounts opened as handles here (closed once its worker is done),
   * its task calls served as a new tree; when it has ended, the tasks it left queued or
   * running are cancelled, and this resolves once they have settled.
   */
  private async runMain(module: WebAssembly.Module, config: ProcessConfig, opts: RunOptions, worker?: Worker, onLog?: (chunk: Uint8Array) => void): Promise<RunResult> {
    let opened;
    try {
      opened = openMountHandles(config.mounts);
    } catch (e) {
      if (worker) void worker.terminate();
      throw new UserError((e as Error).message);
    }
    const server = this.guestTaskHandlers(config.processId, opts.onTaskEvent);
    let result: RunResult;
    try {
      result = await runInWorker(module, { ...config, mounts: opened.mounts }, onLog, worker, server);
    } finally {
      opened.close();
    }
    const cancelled = await server.finish((count) => opts.onTaskEvent?.({ kind: 'cancelled', count }));
    if (cancelled > 0) result.cancelledTasks = cancelled;
    return result;
  }

  /** Replays a recorded process from its log alone: no files, clock or network are touched. */
  async replay(opts: ReplayOptions): Promise<RunResult> {
    const reg = opts.registry;
    const id = await reg.resolveProcessId(opts.processId);
    const rec = await reg.getProcess(id);
    if (!rec) throw new UserError(`no process ${opts.processId}`);
    const bytes = await reg.getModule(rec.moduleDigest);
    if (!bytes) throw new UserError(`process ${id}: its module ${rec.moduleDigest} is missing from the registry`);
    const stored = (await reg.getConfig(rec.configDigest)) as StoredConfig | null;
    if (!stored) throw new UserError(`process ${id}: its config ${rec.configDigest} is missing from the registry`);
    const { module } = await this.load(bytes);
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
      ...(cut !== null ? { replayCut: cut } : {}),
    };
    try {
      return { ...(await runInWorker(module, config)), processId: id };
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
  }
}

/** The wtm version written into records (the package's). */
export const WTM_VERSION: string = wtmVersion();


function positive(n: number, what: string): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${what} must be a whole number >= 1 (got ${n})`);
  return n;
}

/** Runs one process in a (fresh or just started) worker; collects its exit report, piped output and log. */
export async function runInWorker(module: WebAssembly.Module, config: ProcessConfig, onLog?: (chunk: Uint8Array) => void, worker?: Worker, tasks?: GuestTaskHandlers): Promise<RunResult> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const pool = new WorkerPool(0, worker);
  const r = await pool.run({ module, config, onLog, tasks, onOutput: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk) });
  const result: RunResult = { exitCode: r.exitCode, trap: r.trap, error: r.error, calls: r.calls };
  if (config.stdout === 'pipe') result.stdout = Buffer.concat(out);
  if (config.stderr === 'pipe') result.stderr = Buffer.concat(err);
  for (const k of ['trap', 'error', 'calls'] as const) if (result[k] === undefined) delete result[k];
  return result;
}
