import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MountConfig } from './config.js';

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
  /** Wall-clock limit in ms: past it the task is stopped (state `timeout`). */
  timeoutMs?: number;
  /** Memory limit in bytes: `memory.grow` past it fails inside the guest. */
  memoryLimitBytes?: number;
  /** The process that started this task (recorded with it). */
  parentId?: string;
}

export type TaskState = 'queued' | 'running' | 'success' | 'error' | 'timeout' | 'cancelled';

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
  /** The task's own directory on the host (its `/`); it outlives the task. */
  root: string;
  startTime?: string;
  endTime?: string;
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

/** Default directory holding the tasks' own directories: $WTM_HOME/tasks or ~/.wtm/tasks. */
export function defaultTasksDir(): string {
  return path.join(process.env.WTM_HOME || path.join(os.homedir(), '.wtm'), 'tasks');
}

/** Creates the dedicated, empty directory of a new task (never reused: the id is fresh). */
export function createTaskRoot(tasksDir: string, id: string): string {
  const root = path.join(tasksDir, id);
  fs.mkdirSync(tasksDir, { recursive: true });
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
