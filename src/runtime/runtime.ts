import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { wtmVersion, type Registry } from '../registry/registry.js';
import { storedConfig, type ExitReport, type MountConfig, type OutputConfig, type PreopenConfig, type ProcessConfig, type StdinConfig, type StoredConfig } from './config.js';
import { hostView } from './hostview.js';
import { loadTarFs } from '../fs/tarfs.js';
import { startWorker, WorkerPool, type GuestTaskHandlers } from './pool.js';
import { LocalTaskQueue } from './scheduler.js';
import { TaskRunner } from './taskrunner.js';
import { defaultTasksDir, removeTaskRoot, type TaskHandle, type TaskQueue, type TaskResult, type TaskSpec } from './tasks.js';
import { missingImport } from './process.js';

/** What to run: a module with its arguments, environment, mounts and stdio. */
export interface RunOptions {
  /** A path to a .wasm file, its bytes, or a compiled module. */
  module: string | Uint8Array | WebAssembly.Module;
  /** Arguments after argv[0]. */
  args?: string[];
  /** argv[0]; defaults to the module path (or `main.wasm`). */
  argv0?: string;
  /** Environment variables (`KEY=value` strings or an object). */
  env?: string[] | Record<string, string>;
  /** Host directories placed in the guest's tree, each also a preopen. */
  mounts?: MountConfig[];
  /**
   * Trusted mode: the guest sees the host's `/` and relative paths resolve against `cwd`, as
   * if the OS ran it (and, in the CLI, the host's environment). Off by default in the library:
   * a guest sees only its mounts. An explicit mount at `/` replaces the host's root.
   */
  hostAccess?: boolean;
  /** Working directory for relative paths in trusted mode (default: process.cwd()). */
  cwd?: string;
  /**
   * A guest path where relative paths resolve without host access (an image's WorkingDir):
   * preopened last as `.`, as in trusted mode (see hostview.ts).
   */
  workingDir?: string;
  /** Preopens to use instead of one per mount (the mounts' own are added after them). */
  preopens?: PreopenConfig[];
  stdin?: StdinConfig;
  stdout?: OutputConfig;
  stderr?: OutputConfig;
  /** Record the run into this registry (default: the runtime's; the CLI records by default). */
  registry?: Registry;
  /** Called with the process id once the process is registered, before it starts. */
  onStart?: (processId: string) => void;
}

/** What to replay: a recorded process of a registry. */
export interface ReplayOptions {
  registry: Registry;
  /** A process id, or a unique prefix of one. */
  processId: string;
  stdout?: OutputConfig;
  stderr?: OutputConfig;
}

export interface RunResult {
  /** The recorded process id, when the run was recorded. */
  processId?: string;
  /** Calls recorded or replayed. */
  calls?: number;
  exitCode: number;
  /** The trap message and wasm stack, when the guest trapped. */
  trap?: string;
  /** Set when the guest could not be started (bad module, import, mount). */
  error?: string;
  /** Captured output when stdout/stderr was 'pipe'. */
  stdout?: Uint8Array;
  stderr?: Uint8Array;
}

/** Thrown for input a user can fix (bad module file, bad mount): one clear line. */
export class UserError extends Error {}

/** Runs WASI modules, each process in its own worker thread. */
export interface RuntimeOptions {
  /** Tasks running at once (default: the number of cores); the rest wait in order. */
  maxConcurrency?: number;
  /** Record tasks (and `run`s that pass no registry of their own) into this registry. */
  registry?: Registry;
  /** Where each task's own directory is made (default: $WTM_HOME/tasks or ~/.wtm/tasks). */
  tasksDir?: string;
  /** Bytes of a task's stdout and of its stderr kept in its result (default 1 MiB). */
  outputLimit?: number;
  /** Where image layers are unpacked (default: $WTM_HOME/layers or ~/.wtm/layers). */
  layersDir?: string;
  /** Keep a task's own directory after it ends (default 'always'; `removeTask`/`wtm rm` remove it). */
  keepTaskDirs?: 'always' | 'never';
}

export class Runtime {
  private readonly pool: WorkerPool;
  readonly tasks: TaskQueue;
  readonly tasksDir: string;

  constructor(readonly options: RuntimeOptions = {}) {
    const max = options.maxConcurrency ?? os.availableParallelism();
    this.pool = new WorkerPool(max);
    this.tasksDir = options.tasksDir ?? defaultTasksDir();
    const runner = new TaskRunner({
      pool: this.pool, tasksDir: this.tasksDir, registry: options.registry,
      outputLimit: options.outputLimit ?? 1 << 20, wtmVersion: WTM_VERSION,
      guestTasks: (parentId) => this.guestTaskHandlers(parentId),
      keepTaskDirs: options.keepTaskDirs ?? 'always',
      layersDir: options.layersDir ?? path.join(path.dirname(this.tasksDir), 'layers'),
    });
    this.tasks = new LocalTaskQueue((id, spec, signal, release) => runner.execute(id, spec, signal, release), max);
  }

  /**
   * Starts a task: an untrusted process in a fresh directory of its own, with nothing of the
   * host but the mounts its spec names. Returns at once; `wait()` gives the result.
   */
  spawn(spec: TaskSpec, opts: { signal?: AbortSignal } = {}): TaskHandle {
    return this.tasks.submit(spec, opts);
  }

  /**
   * Serves the `wtm` task calls of a guest: each request becomes a task of this runtime's
   * queue (so `maxConcurrency` bounds them), named as a child of `parentId`.
   */
  guestTaskHandlers(parentId?: string): GuestTaskHandlers {
    const running = new Map<string, TaskHandle>();
    return {
      onTask: (req, reply) => {
        const h = this.tasks.submit({ ...req.spec, ...(parentId ? { parentId } : {}) }, { id: req.processId });
        running.set(req.processId, h);
        void h.wait().then((r) => {
          running.delete(req.processId);
          reply({ handle: req.handle, result: JSON.stringify(guestResult(req.handle, r)) });
        });
      },
      onCancel: (processId) => running.get(processId)?.cancel(),
    };
  }

  /** Removes a finished task's directory. */
  removeTask(id: string): void {
    removeTaskRoot(this.tasksDir, id);
  }

  /** Waits for submitted tasks and stops the pooled workers. */
  async close(): Promise<void> {
    await this.tasks.close();
    await this.pool.close();
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
    const mounts: MountConfig[] = [];
    let preopens: PreopenConfig[] = [];
    for (const m of opts.mounts ?? []) checkMount(m);
    const explicitRoot = (opts.mounts ?? []).some((m) => normalize(m.guest) === '/');
    if (opts.hostAccess && !explicitRoot) {
      const view = hostView(opts.cwd ?? process.cwd());
      mounts.push(...view.mounts);
      preopens = view.preopens;
    }
    for (const m of opts.mounts ?? []) {
      const guest = normalize(m.guest);
      mounts.push({ ...m, guest, readonly: !!m.readonly || m.kind === 'tar' });
      // A mount's preopen goes before the cwd's `.`, which must stay last (see hostview.ts).
      const dot = preopens.findIndex((p) => p.name === '.');
      const p = { name: guest, guestPath: guest };
      if (dot >= 0) preopens.splice(dot, 0, p);
      else preopens.push(p);
    }
    if (opts.preopens) {
      const named = new Set(opts.preopens.map((p) => p.guestPath));
      const rest = preopens.filter((p) => !named.has(p.guestPath));
      const dot = opts.preopens.findIndex((p) => p.name === '.');
      preopens = dot >= 0 ? [...opts.preopens.slice(0, dot), ...rest, ...opts.preopens.slice(dot)] : [...opts.preopens, ...rest];
    }
    if (opts.workingDir && opts.workingDir !== '/' && !preopens.some((p) => p.name === '.')) {
      preopens.push({ name: '.', guestPath: normalize(opts.workingDir) });
    }
    const env = Array.isArray(opts.env) ? [...opts.env] : Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const argv0 = opts.argv0 ?? (typeof opts.module === 'string' ? opts.module : 'main.wasm');
    return {
      args: [argv0, ...(opts.args ?? [])],
      env,
      mounts,
      preopens,
      stdin: opts.stdin ?? 'null',
      stdout: opts.stdout ?? 'inherit',
      stderr: opts.stderr ?? 'inherit',
      record: false,
    };
  }

  /** Runs a module to its end in a worker thread, recording it when a registry is given. */
  async run(opts: RunOptions): Promise<RunResult> {
    if (opts.module instanceof WebAssembly.Module) {
      if (opts.registry ?? this.options.registry) throw new UserError('recording needs the module bytes, not a compiled module');
      return runInWorker(opts.module, this.configure(opts));
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
    if (!registry) return runInWorker(module, config, undefined, worker, this.guestTaskHandlers());
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
    const result = await runInWorker(module, config, (chunk) => {
      logBytes += chunk.byteLength;
      saving = saving.then(() => registry.appendLog(id, chunk));
    }, worker, this.guestTaskHandlers(id));
    await saving;
    await registry.updateProcess(id, {
      endTime: new Date().toISOString(), exitCode: result.exitCode,
      state: result.trap ? 'trapped' : result.error ? 'failed' : 'exited',
      ...(result.trap ? { trap: result.trap } : {}), logBytes, calls: result.calls ?? 0,
    });
    return { ...result, processId: id };
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
    const log = await reg.readLog(id);
    if (!log) throw new UserError(`process ${id} has no log (was it run with --no-record?)`);
    const { module } = await this.load(bytes);
    const config: ProcessConfig = {
      args: stored.args, env: stored.env, mounts: [], preopens: [], stdin: 'null',
      stdout: opts.stdout ?? 'inherit', stderr: opts.stderr ?? 'inherit', record: false, replayLog: log,
    };
    return { ...(await runInWorker(module, config)), processId: id };
  }
}

/** A task result as a guest reads it (docs/tasks.md). */
function guestResult(handle: number, r: TaskResult) {
  const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
  return {
    id: handle, process_id: r.id, state: r.state, exit_code: r.exitCode,
    stdout: text(r.stdout), stderr: text(r.stderr),
    stdout_truncated: r.stdoutTruncated, stderr_truncated: r.stderrTruncated,
    ...(r.error ? { error: r.error } : {}),
  };
}

/** The wtm version written into records (the package's). */
export const WTM_VERSION: string = wtmVersion();


function normalize(p: string): string {
  if (!p.startsWith('/')) throw new UserError(`guest path must be absolute: ${p}`);
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new UserError(`guest path may not contain '..': ${p}`);
  return '/' + parts.join('/');
}

function checkMount(m: MountConfig): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(m.host);
  } catch {
    throw new UserError(`cannot mount ${m.host}: no such ${m.kind === 'tar' ? 'file' : 'directory'}`);
  }
  if (m.kind === 'tar' ? !st.isFile() : !st.isDirectory()) throw new UserError(`cannot mount ${m.host}: not a ${m.kind === 'tar' ? 'file' : 'directory'}`);
  normalize(m.guest);
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
