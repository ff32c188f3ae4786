import type { ChaosOptions } from '../system/chaos.js';
import type { Registry } from '../registry/registry.js';
import type { ProcessState } from '../registry/process.js';
import type { MountConfig, OutputConfig, PreopenConfig, StdinConfig, TraceOptions } from './config.js';
import type { TreeEvent } from './tree.js';
import type { TaskQueue } from './tasks.js';

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
  /**
   * Names of the variables of `env` whose values came from the host's environment (the CLI
   * passes its own): kept in the stored config, so `export` can withhold their values.
   */
  hostEnv?: readonly string[];
  /** The recorded process's id (a UUID v4; default: a new one), e.g. to name what belongs to it first. */
  processId?: string;
  /**
   * Call this exported function with these arguments (text, converted by its parameter types)
   * instead of `_start`, after `_initialize` when the module has one (a reactor), as wasmtime's
   * --invoke; its results come back in `results`.
   */
  invoke?: { name: string; args?: string[] };
  /** The image the module came from (`name@sha256:…`), kept in the stored config for describe. */
  image?: string;
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
  /** Wall-clock limit in ms: past it the guest is stopped (exit code 124, state `killed`). */
  timeoutMs?: number;
  /** Linear memory limit in bytes (64 KiB to 4 GiB): memory.grow past it fails in the guest. */
  memoryLimitBytes?: number;
  /** Aborting stops the guest (exit code 130, state `cancelled`). */
  signal?: AbortSignal;
  /** Called with the process id once the process is registered, before it starts. */
  onStart?: (processId: string) => void;
  /**
   * Told when the run's task tree first meets a limit or a deadlock, and when the process
   * ended leaving tasks that were then cancelled (the CLI prints one line for each).
   */
  onTaskEvent?: (e: TreeEvent) => void;
  /**
   * Trace every call live (wtm run -T): one line per call, as `wtm trace` prints it, written
   * where the guest's stderr goes, in order with it. Tasks the process starts are traced too,
   * each line prefixed with the task's short id, on the host's stderr (only when this
   * process's stderr is 'inherit'). Works without recording.
   */
  trace?: TraceOptions;
  /**
   * Run the guest on the calling thread instead of a worker: no worker to start (on this
   * machine that is most of a short run's cost). Taken only when nothing needs the worker: no
   * recording, no timeout, no `signal`, and a module that does not import `wtm` (task calls);
   * otherwise the run uses a worker as usual. Inline, nothing can stop the guest but the end of
   * the host process (a guest that loops blocks the thread); `onInline` is called just before
   * it starts (the CLI drops its signal handlers there, so Ctrl-C ends wtm at once).
   */
  inline?: boolean;
  onInline?: () => void;
  /**
   * Fault injection (`wtm run --chaos SEED[:RATE]`): calls fail or come back short as a real
   * system can (short reads and writes, EINTR, EAGAIN on non-blocking fds, EIO, ENOSPC on
   * writes, a clock that jumps forward), chosen by the seed alone. Injected results are
   * recorded and marked; replay reproduces them. See docs/chaos.md.
   */
  chaos?: ChaosOptions;
}

/** What to replay: a recorded process of a registry. */
export interface ReplayOptions {
  registry: Registry;
  /** A process id, or a unique prefix of one. */
  processId: string;
  stdout?: OutputConfig;
  stderr?: OutputConfig;
  /** Stop once this record (numbered from 0) has been replayed: `stoppedAt` says so, the exit code is 0. */
  until?: number;
  /** Hand out a copy of the guest's linear memory where replay stopped or ended (`memory`). */
  memory?: boolean;
  /** Profile the guest with V8's CPU profiler while it replays (`profile`); sampling interval in µs (default 100). */
  profile?: boolean | { intervalUs: number };
  /** Trace every replayed call live (wtm replay -T), as RunOptions.trace. */
  trace?: TraceOptions;
}

export interface RunResult {
  /** The recorded process id, when the run was recorded. */
  processId?: string;
  /** With `invoke`: the function's results, as text (i64 as a decimal, floats as JS prints them). */
  results?: string[];
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
  /** Tasks the process left queued or running when it ended: they were cancelled. */
  cancelledTasks?: number;
  /** The state its record was given (recorded runs). */
  state?: ProcessState;
  /** Set when the recording could not be written: the guest was stopped (`error` says why). */
  recordingFailed?: boolean;
  /** Set when the guest was stopped by its timeout. */
  timedOut?: boolean;
  /** The signal that interrupted wtm (Runtime.interrupt), when it stopped this run. */
  interrupted?: string;
  /** Replay with `until`: the record it stopped after (absent when the guest ended first). */
  stoppedAt?: number;
  /** Replay with `until`, `memory` or `profile`: bytes of the guest's linear memory at the end. */
  memoryBytes?: number;
  /** Replay with `memory`: a copy of the guest's linear memory. */
  memory?: Uint8Array;
  /** Replay with `profile`: the V8 CPU profile (the JSON value of a .cpuprofile file). */
  profile?: unknown;
}

/** Runs WASI modules, each process in its own worker thread. */
export interface RuntimeOptions {
  /** Tasks running at once (default: the number of cores); the rest wait in order. */
  maxConcurrency?: number;
  /** Tasks alive per task tree (queued, running, or with a result its parent has not collected; default 1024): past it task_submit answers AGAIN. */
  maxTasksPerTree?: number;
  /** Depth of a task tree (default 8; the main process is 0): below it task_submit answers PERM. */
  maxTaskDepth?: number;
  /**
   * Open fds each process (main or task) may hold, stdio and preopens included (default
   * 1024, as Linux's RLIMIT_NOFILE): past it path_open answers MFILE. Each is an open fd of
   * the whole OS process, which every task shares.
   */
  maxOpenFiles?: number;
  /** Record tasks (and `run`s that pass no registry of their own) into this registry. */
  registry?: Registry;
  /**
   * Where each task's own directory is made. Default: `tasks` in the registry's directory;
   * without a registry (or one with no local directory), a temporary directory removed by
   * `close()`, so a runtime writes nothing under the user's home unless told to.
   */
  tasksDir?: string;
  /** Bytes of a task's stdout and of its stderr kept in its result (default 1 MiB). */
  outputLimit?: number;
  /** Where image layers are unpacked (default: `layers` in the registry's directory). */
  layersDir?: string;
  /**
   * How tasks are walled off from each other: 'thread' (each in a worker thread of this
   * process) or 'process' (each in a worker thread of a child process of a pool: a V8 fault or
   * an out-of-memory abort of one task kills only its child, and the task is recorded as
   * `crashed` with the signal). Default: DEFAULT_ISOLATION (docs/RATIONALE.md says why).
   * With 'process', a task's own `wtm` task calls answer NOSYS.
   */
  isolation?: 'thread' | 'process';
  /** With isolation 'process': each child's data limit in bytes (RLIMIT_DATA; heap and guests' linear memory). Past it the child aborts and its task is `crashed` (SIGABRT). */
  processMemoryLimitBytes?: number;
  /** Keep a task's own directory after it ends (default 'always'; `removeTask`/`wtm rm` remove it). */
  keepTaskDirs?: 'always' | 'never';
  /**
   * Where `spawn` and the guests' task calls send tasks (default: this runtime's in-process
   * queue). A distributed queue (NatsTaskQueue) runs them on the machines serving it; it is
   * closed by `close()`.
   */
  queue?: TaskQueue;
}
