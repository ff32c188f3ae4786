// The public API of the `wtm` package: a deliberate, short list (docs/api.md says what each
// is for). Everything else is under `wtm/internal`, without a stability promise.

/** Runs modules in a sandbox, records and replays them, starts tasks (src/runtime/runtime.ts). */
export { Runtime, UserError, WTM_VERSION } from './runtime/runtime.js';
export type { RunOptions, RunResult, RuntimeOptions, ReplayOptions } from './runtime/runtime.js';
/** Tasks: the spec a task is started from, its handle and its result (docs/tasks.md). */
export type { TaskSpec, TaskHandle, TaskResult, TaskState } from './runtime/tasks.js';
export type { MountConfig, StdinConfig, OutputConfig, TraceOptions } from './runtime/config.js';
export type { TreeEvent } from './runtime/tree.js';
/** Exit codes wtm gives a run it stopped: a timeout (124), a cancel (130), a trap (134). */
export { TIMEOUT_EXIT_CODE, CANCELLED_EXIT_CODE } from './runtime/pool.js';
export { TRAP_EXIT_CODE } from './runtime/process.js';
/** Where runs are recorded: a registry over an object store (a local directory by default). */
export { Registry } from './registry/registry.js';
export { LocalStore } from './registry/local.js';
export type { ObjectStore } from './registry/store.js';
export type { ProcessRecord, ProcessState } from './registry/process.js';
