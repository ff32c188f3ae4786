import { DEFAULT_CHAOS_RATE, type ChaosOptions } from '../system/chaos.js';
import type { DirHandle } from '../fs/hostfs.js';

/** A mount as plain data: a host directory placed in the guest's tree. */
export interface MountConfig {
  /**
   * Host directory (or, with kind 'tar', a tar or tar.gz archive). With `handle` it only
   * describes the mount (messages, records) and is never opened.
   */
  host: string;
  /**
   * The directory itself, opened on the starter's thread (for kind 'image': the upper
   * directory). A worker mounts the handle, never `host`: what was checked is what the guest
   * gets, whatever happens to host paths meanwhile. Whoever opened it closes it, once the
   * worker is done with it (docs/tasks.md, "Handles").
   */
  handle?: DirHandle;
  /** With kind 'image': handles on `layers`, in the same order. */
  layerHandles?: DirHandle[];
  /**
   * 'dir' (default): a host directory. 'tar': an archive mounted read-only, never unpacked to
   * disk. 'image': an image's root: `layers` (unpacked host directories, top first) read-only
   * under `host`, the process's own writable upper directory (copy-up on first write).
   */
  kind?: 'dir' | 'tar' | 'image';
  /** With kind 'image': the unpacked layer directories, top first. */
  layers?: string[];
  /** Absolute guest path. */
  guest: string;
  readonly?: boolean;
}

/** A preopen as plain data (see sandbox Preopen). */
export interface PreopenConfig {
  name: string;
  guestPath: string;
}

export type StdinConfig = 'inherit' | 'null' | Uint8Array;

/** Live trace (wtm run -T): what a caller asks for. */
export interface TraceOptions {
  /** Bytes of each buffer shown before it is cut (default 32; 0: all). */
  width?: number;
}

/**
 * Live trace of one process: each call, as soon as it is recorded (or replayed), becomes a
 * line of `formatTraceLine` (the format of `wtm trace`), written synchronously from the worker.
 */
export interface TraceConfig extends TraceOptions {
  /** Prefix of each line (a task's short id); none for a main process. */
  process?: string;
  /**
   * Where the lines go. 'stderr' (default): where the guest's own stderr goes, so the two
   * interleave in call order (the host's fd 2 when inherited, the piped stderr, or nowhere
   * with 'null'). 'host': the host's fd 2 (tasks, whose stderr is captured in their result).
   */
  to?: 'stderr' | 'host';
}
export type OutputConfig = 'inherit' | 'pipe' | 'null';

/**
 * Everything a worker needs to run one process, as structured-clonable data: this is what a
 * task queue will one day carry to another machine (with the module by digest).
 */
export interface ProcessConfig {
  args: string[];
  env: string[];
  mounts: MountConfig[];
  preopens: PreopenConfig[];
  stdin: StdinConfig;
  stdout: OutputConfig;
  stderr: OutputConfig;
  /** Record every call into a log (streamed back to the starter in batches). */
  record: boolean;
  /** The process id (when recorded): tasks this process starts name it as their parent. */
  processId?: string;
  /** Open fds the guest may hold (default 1024, as Linux's RLIMIT_NOFILE): past it, MFILE. */
  maxOpenFiles?: number;
  /**
   * Replay this log instead of touching the host: no mounts are opened. Either the log's
   * bytes, or an open file descriptor on it (the worker reads it one batch at a time with
   * readSync; the starter keeps it open until the worker is done, then closes it).
   */
  replayLog?: Uint8Array | { fd: number };
  /**
   * Why the log may end before the guest does (the run was interrupted, killed...): a call past
   * its end then stops replay with "the log ends here (WHY)". Absent: the run ended cleanly.
   */
  replayCut?: string;
  /** Replay only: stop once this record (numbered from 0) has been replayed (stopAfter in timetravel.ts). */
  replayUntil?: number;
  /** Replay only: hand out a copy of the guest's linear memory in the exit report. */
  replayMemory?: boolean;
  /** Replay only: run V8's CPU profiler in the worker while the guest runs (sampling interval in µs). */
  profile?: { intervalUs: number };
  /** Call this exported function (after `_initialize`, instead of `_start`), as wasmtime --invoke. */
  invoke?: InvokeConfig;
  /** Replay: variables whose values an export withheld; environ_get then stops the replay, naming them. */
  withheldEnv?: string[];
  /** Trace every call live (off: no per-call work at all). */
  trace?: TraceConfig;
  /** Fault injection (system/chaos.ts): calls fail or come back short, chosen by the seed alone. Live runs only. */
  chaos?: ChaosOptions;
}

/** An exported function to call, its arguments as typed, and its parameter types (checked). */
export interface InvokeConfig {
  name: string;
  args: string[];
  params: string[];
}

/** What a worker reports when the process has ended. */
export interface ExitReport {
  exitCode: number;
  /** With `invoke`: the function's results, as text. */
  results?: string[];
  /** Set when the guest trapped: the trap message and the wasm stack. */
  trap?: string;
  /** Set when wtm could not start the guest (bad module, missing import, bad mount), or replay diverged. */
  error?: string;
  /** Calls recorded (or replayed). */
  calls?: number;
  /** The record replay stopped after (replayUntil). */
  stoppedAt?: number;
  /** Bytes of the guest's linear memory when it stopped or ended (replays that asked for until, memory or a profile). */
  memoryBytes?: number;
  /** A copy of the guest's linear memory (replayMemory). */
  memory?: Uint8Array;
  /** The CPU profile (config.profile): a .cpuprofile's JSON value. */
  profile?: unknown;
}

/** What the registry keeps of a process's configuration: enough to describe and replay it. */
export interface StoredConfig {
  moduleDigest: string;
  args: string[];
  env: string[];
  mounts: MountConfig[];
  preopens: PreopenConfig[];
  stdin: 'inherit' | 'null' | 'bytes';
  wtmVersion: string;
  /** The image the module came from (`name@sha256:…`). */
  image?: string;
  /** The function run instead of `_start` (wtm run --invoke). */
  invoke?: InvokeConfig;
  /** Names of the variables inherited from the host (withheld from exports by default). */
  hostEnv?: string[];
  /** In an export: the variables whose values were withheld (stored as `NAME=`). */
  withheldEnv?: string[];
  /** Task limits, when the process was a task. */
  timeoutMs?: number | null;
  memoryLimitBytes?: number | null;
  /** Fault injection the run had (--chaos): its results are in the log, replay needs nothing else. */
  chaos?: { seed: number; rate: number };
}

/** A mount as the registry keeps it: described by its host path, without handles (fd numbers). */
export function describedMount(m: MountConfig): MountConfig {
  const { handle: _h, layerHandles: _l, ...rest } = m;
  return rest;
}

export function storedConfig(c: ProcessConfig, moduleDigest: string, wtmVersion: string, extra: Partial<StoredConfig> = {}): StoredConfig {
  return {
    moduleDigest, args: c.args, env: c.env, mounts: c.mounts.map(describedMount), preopens: c.preopens,
    stdin: c.stdin instanceof Uint8Array ? 'bytes' : c.stdin, wtmVersion,
    ...(c.chaos ? { chaos: { seed: c.chaos.seed, rate: c.chaos.rate ?? DEFAULT_CHAOS_RATE } } : {}), ...extra,
  };
}
