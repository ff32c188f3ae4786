import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MountConfig } from './config.js';
import type { ChaosOptions } from '../system/chaos.js';
import { mkdirsSync } from '../fs/mkdirs.js';

/**
 * A task: one untrusted process, as plain serialisable data, so that a distributed queue can
 * carry it to another machine without changing callers.
 */
export interface TaskSpec {
  /**
   * A host path to a .wasm file, `sha256:DIGEST` of a module in the registry, or its bytes.
   * With `image`: optional, an absolute path of a .wasm inside the image to run instead of
   * its Entrypoint/Cmd.
   */
  module?: string | Uint8Array;
  /**
   * An image of the registry (name or digest prefix): the task's `/` is its layers read-only
   * under the task's own fresh directory (copy-up on write), and its Entrypoint/Cmd, Env and
   * WorkingDir apply (the spec's args and env come after).
   */
  image?: string;
  /** argv[0] (default: the module's file name). */
  argv0?: string;
  /** Arguments after argv[0]. */
  args?: string[];
  env?: Record<string, string> | string[];
  /** Bytes (or text) the task reads on stdin; nothing otherwise. */
  stdin?: Uint8Array | string;
  /**
   * Host directories placed in the task's tree. A mount at `/` replaces the task's fresh
   * directory with one the starter chose (shared only if the starter shares it).
   */
  mounts?: MountConfig[];
  /**
   * Directory snapshots of the registry (`wtm snapshot DIR`) placed in the task's tree:
   * read-only, or `writable` as the lower layer of a fresh directory of the task (copy-up on
   * write). Unlike host directories they travel: a task on another machine gets them from the
   * shared registry, and its result names its changes as snapshots (`changes`). Resolved by
   * the machine that runs the task (a worker of a distributed queue).
   */
  snapshots?: SnapshotMount[];
  /**
   * Fault injection for this task (docs/chaos.md). The tasks a guest starts while it runs with
   * chaos get one of their own: a seed drawn from the guest's seed and the submit's number.
   */
  chaos?: ChaosOptions;
  /** Wall-clock limit in ms: past it the task is stopped (state `timeout`). */
  timeoutMs?: number;
  /** Memory limit in bytes: `memory.grow` past it fails inside the guest. */
  memoryLimitBytes?: number;
  /** The process that started this task (recorded with it). */
  parentId?: string;
}

export type TaskState = 'queued' | 'running' | 'success' | 'error' | 'timeout' | 'cancelled' | 'crashed';

export interface TaskResult {
  /** The task's process id (its record in the registry when recorded). */
  id: string;
  state: TaskState;
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Output past the limit was dropped. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Why it did not run to a zero exit: the trap, the start error, the timeout. */
  error?: string;
  /** With state `crashed`: the signal that killed the task's host process (process isolation). */
  signal?: string;
  /** The task's own directory on the host (its `/`); it outlives the task. */
  root: string;
  startTime?: string;
  endTime?: string;
  /** The worker that ran it, when it ran through a distributed queue (NatsTaskQueue). */
  worker?: WorkerId;
  /** Its process id, when not the task id (a task delivered again to another worker). */
  processId?: string;
  /** What the task changed in its writable snapshot mounts, each stored as a snapshot (a layer). */
  changes?: SnapshotMount[];
}

/** A snapshot placed in a task's tree. */
export interface SnapshotMount {
  /** `sha256:HEX`, as `wtm snapshot DIR` prints it. */
  snapshot: string;
  /** Where in the task's tree (absolute). */
  guest: string;
  /** The task may change it (its changes come back in its result); default read-only. */
  writable?: boolean;
}

/** A machine serving a distributed task queue: its host name and the worker process's id. */
export interface WorkerId {
  host: string;
  id: string;
}

/** A task that was submitted: its id now, its result later. */
export interface TaskHandle {
  readonly id: string;
  readonly state: TaskState;
  wait(): Promise<TaskResult>;
  /** Cancels the task (a queued one never starts; a running one is stopped); `reason` becomes its result's error. */
  cancel(reason?: string): void;
}

/**
 * Where tasks go to run. The in-process queue (LocalTaskQueue) is the default; a NATS
 * JetStream queue can implement the same interface to run tasks on other machines.
 */
export interface TaskQueue {
  submit(spec: TaskSpec, opts?: { signal?: AbortSignal; id?: string }): TaskHandle;
  /** The result of a submitted task (rejects for an unknown id). */
  wait(id: string): Promise<TaskResult>;
  /**
   * Runs tasks taken from the queue on this machine until the signal aborts or the queue
   * closes. The in-process queue runs its tasks itself, so this only waits; a distributed
   * queue's `serve` is what each machine taking tasks calls.
   */
  serve(signal?: AbortSignal): Promise<void>;
  /** A submitted task by id. */
  get(id: string): TaskHandle | undefined;
  /**
   * Tasks submitted so far, with their state: every queued or running one, and the last
   * 10,000 that settled (whose specs no longer carry module bytes or stdin).
   */
  list(): { id: string; state: TaskState; spec: TaskSpec; startTime?: string; endTime?: string }[];
  /** Results as tasks finish, in finishing order, until the queue is closed. */
  results(): AsyncIterable<TaskResult>;
  close(): Promise<void>;
}

/**
 * The results a TaskQueue's `results()` hands out, in finishing order: kept only once someone
 * reads them (`drain`), so a queue nobody collects from holds none. One for each queue kind.
 */
export class ResultFeed {
  private readonly finished: TaskResult[] = [];
  private collecting = false;
  private wake: (() => void) | null = null;

  /** A task settled: kept for the reader, if there is one. Call `notify` after. */
  add(r: TaskResult): void {
    if (this.collecting) this.finished.push(r);
  }

  /** Wakes the reader to look again (a result came, or the queue closed). */
  notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The results as they come, until `done()` says the queue is closed and settled. */
  async *drain(done: () => boolean): AsyncIterable<TaskResult> {
    this.collecting = true;
    for (;;) {
      while (this.finished.length > 0) yield this.finished.shift()!;
      if (done()) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

/** What `TaskQueue.list()` gives for the entries a queue keeps. */
export function listEntries(entries: Map<string, { id: string; state: TaskState; spec: TaskSpec; startTime?: string; endTime?: string }>) {
  return [...entries.values()].map((e) => ({ id: e.id, state: e.state, spec: e.spec, startTime: e.startTime, endTime: e.endTime }));
}

/** Default directory holding the tasks' own directories: $WTM_HOME/tasks or ~/.wtm/tasks. */
export function defaultTasksDir(): string {
  return path.join(process.env.WTM_HOME || path.join(os.homedir(), '.wtm'), 'tasks');
}

/** Creates the dedicated, empty directory of a new task (never reused: the id is fresh). */
export function createTaskRoot(tasksDir: string, id: string): string {
  const root = path.join(tasksDir, id);
  mkdirsSync(tasksDir);
  fs.mkdirSync(root, { mode: 0o700 });
  return root;
}

/** Removes a task's directory (`wtm rm` and the API). */
export function removeTaskRoot(tasksDir: string, id: string): void {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`not a task id: ${id}`);
  fs.rmSync(path.join(tasksDir, id), { recursive: true, force: true });
}

export function newTaskId(): string {
  return randomUUID();
}

/**
 * The bounds of a task spec's numbers and lists (docs/tasks.md, "Limits"), the same for the
 * library (`runtime.spawn`) and for guests (`task_submit`, where the fields are `timeout_ms`
 * and `memory_limit`).
 */
export const TASK_LIMITS = {
  /** setTimeout's largest delay (about 24.8 days); 0 means no limit. */
  maxTimeoutMs: 2 ** 31 - 1,
  /** One wasm page. */
  minMemoryLimitBytes: 65536,
  /** All a 32-bit memory can address. */
  maxMemoryLimitBytes: 2 ** 32,
  /** argv[0] and the args: at most 65536 in all, as a process record holds. */
  maxArgs: 65535,
  maxEnv: 65536,
  /** Characters in one argument or environment entry, as a process record holds. */
  maxStringChars: 1 << 20,
  /** A file descriptor number in a mount's handle. */
  maxFd: 2 ** 31 - 1,
} as const;

/** `v` as a problem report shows it: strings quoted, NaN and Infinity by name. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/** `v` is a whole number from `min` to `max` (not NaN, not a fraction, not a string). */
export function isWholeIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Null when `v` is a whole number from `min` to `max`, else what is wrong with `name`. */
function wholeNumberProblem(name: string, v: unknown, min: number, max: number, what: string): string | null {
  if (isWholeIn(v, min, max)) return null;
  return `${name} must be ${what} from ${min} to ${max}, got ${shown(v)}`;
}

function stringsProblem(name: string, v: unknown, max: number): string | null {
  if (!Array.isArray(v)) return `${name} must be an array of strings, got ${shown(v)}`;
  if (v.length > max) return `${name} may hold at most ${max} entries, got ${v.length}`;
  for (const [i, s] of v.entries()) {
    if (typeof s !== 'string') return `${name}[${i}] must be a string, got ${shown(s)}`;
    if (s.length > TASK_LIMITS.maxStringChars) return `${name}[${i}] is longer than ${TASK_LIMITS.maxStringChars} characters`;
  }
  return null;
}

function handleProblem(name: string, h: unknown): string | null {
  if (typeof h !== 'object' || h === null) return `${name} must be a directory handle, got ${shown(h)}`;
  const { fd, path: p } = h as Record<string, unknown>;
  return wholeNumberProblem(`${name}.fd`, fd, 0, TASK_LIMITS.maxFd, 'a file descriptor')
    ?? (typeof p === 'string' ? null : `${name}.path must be a string, got ${shown(p)}`);
}

function mountProblem(name: string, v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${name} must be an object, got ${shown(v)}`;
  const m = v as Record<string, unknown>;
  if (typeof m.host !== 'string') return `${name}.host must be a string, got ${shown(m.host)}`;
  if (typeof m.guest !== 'string') return `${name}.guest must be a string, got ${shown(m.guest)}`;
  if (m.readonly !== undefined && typeof m.readonly !== 'boolean') return `${name}.readonly must be true or false, got ${shown(m.readonly)}`;
  if (m.kind !== undefined && m.kind !== 'dir' && m.kind !== 'tar' && m.kind !== 'image') return `${name}.kind must be dir, tar or image, got ${shown(m.kind)}`;
  if (m.handle !== undefined) {
    const p = handleProblem(`${name}.handle`, m.handle);
    if (p) return p;
  }
  if (m.layers !== undefined) {
    const p = stringsProblem(`${name}.layers`, m.layers, Infinity);
    if (p) return p;
  }
  if (m.layerHandles !== undefined) {
    if (!Array.isArray(m.layerHandles)) return `${name}.layerHandles must be an array, got ${shown(m.layerHandles)}`;
    for (const [i, h] of m.layerHandles.entries()) {
      const p = handleProblem(`${name}.layerHandles[${i}]`, h);
      if (p) return p;
    }
  }
  return null;
}

/** What is wrong with a library task spec, in one line (naming the field), or null. */
export function taskSpecProblem(spec: unknown): string | null {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return `must be an object, got ${shown(spec)}`;
  const s = spec as Record<string, unknown>;
  if (s.module !== undefined && typeof s.module !== 'string' && !(s.module instanceof Uint8Array)) return `module must be a path, a digest or bytes, got ${shown(s.module)}`;
  if (s.image !== undefined && typeof s.image !== 'string') return `image must be a string, got ${shown(s.image)}`;
  if (s.module === undefined && s.image === undefined) return 'names neither a module nor an image';
  for (const k of ['argv0', 'parentId'] as const) {
    if (s[k] !== undefined && typeof s[k] !== 'string') return `${k} must be a string, got ${shown(s[k])}`;
  }
  if (s.args !== undefined) {
    const p = stringsProblem('args', s.args, TASK_LIMITS.maxArgs);
    if (p) return p;
  }
  if (s.env !== undefined) {
    const env = s.env;
    let p: string | null;
    if (Array.isArray(env)) {
      p = stringsProblem('env', env, TASK_LIMITS.maxEnv);
    } else if (typeof env === 'object' && env !== null && !(env instanceof Uint8Array)) {
      const entries = Object.entries(env);
      p = entries.length > TASK_LIMITS.maxEnv ? `env may hold at most ${TASK_LIMITS.maxEnv} entries, got ${entries.length}` : null;
      for (const [k, val] of entries) {
        if (p) break;
        if (typeof val !== 'string') p = `env[${JSON.stringify(k)}] must be a string, got ${shown(val)}`;
        else if (k.length + val.length + 1 > TASK_LIMITS.maxStringChars) p = `env[${JSON.stringify(k)}] is longer than ${TASK_LIMITS.maxStringChars} characters`;
      }
    } else {
      p = `env must be an object or an array of strings, got ${shown(env)}`;
    }
    if (p) return p;
  }
  if (s.stdin !== undefined && typeof s.stdin !== 'string' && !(s.stdin instanceof Uint8Array)) return `stdin must be a string or bytes, got ${shown(s.stdin)}`;
  if (s.mounts !== undefined) {
    if (!Array.isArray(s.mounts)) return `mounts must be an array, got ${shown(s.mounts)}`;
    for (const [i, m] of s.mounts.entries()) {
      const p = mountProblem(`mounts[${i}]`, m);
      if (p) return p;
    }
  }
  if (s.snapshots !== undefined) {
    if (!Array.isArray(s.snapshots)) return `snapshots must be an array, got ${shown(s.snapshots)}`;
    for (const [i, m] of (s.snapshots as unknown[]).entries()) {
      const v = m as Record<string, unknown> | null;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `snapshots[${i}] must be an object, got ${shown(v)}`;
      if (typeof v.snapshot !== 'string' || !/^(sha256:)?[0-9a-f]{64}$/.test(v.snapshot)) return `snapshots[${i}].snapshot must be sha256:HEX (wtm snapshot DIR prints it), got ${shown(v.snapshot)}`;
      if (typeof v.guest !== 'string' || !v.guest.startsWith('/') || v.guest.split('/').includes('..')) return `snapshots[${i}].guest must be an absolute guest path without "..", got ${shown(v.guest)}`;
      if (v.writable !== undefined && typeof v.writable !== 'boolean') return `snapshots[${i}].writable must be true or false, got ${shown(v.writable)}`;
    }
  }
  if (s.timeoutMs !== undefined) {
    const p = wholeNumberProblem('timeoutMs', s.timeoutMs, 0, TASK_LIMITS.maxTimeoutMs, 'a whole number of ms (0: no limit)');
    if (p) return p;
  }
  if (s.memoryLimitBytes !== undefined) {
    const p = wholeNumberProblem('memoryLimitBytes', s.memoryLimitBytes, TASK_LIMITS.minMemoryLimitBytes, TASK_LIMITS.maxMemoryLimitBytes, 'a whole number of bytes');
    if (p) return p;
  }
  return null;
}

/** Throws a one-line Error (`task spec: timeoutMs must be …`) unless the spec is well-formed. */
export function checkTaskSpec(spec: unknown): asserts spec is TaskSpec {
  const p = taskSpecProblem(spec);
  if (p) throw new Error(`task spec: ${p}`);
}
