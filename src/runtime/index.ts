export * from './config.js';
export { Runtime, UserError, WTM_VERSION, DEFAULT_ISOLATION, runInWorker, type RunOptions, type RunResult, type RuntimeOptions, type ReplayOptions } from './runtime.js';
export * from './tasks.js';
export { LocalTaskQueue } from './scheduler.js';
export { WorkerPool, TIMEOUT_EXIT_CODE, CANCELLED_EXIT_CODE } from './pool.js';
export { ProcessPool } from './procpool.js';
export { runGuest, runProcess, createSandbox, TRAP_EXIT_CODE } from './process.js';
export { closeMountHandles, openMountHandles } from './handles.js';
export { DEFAULT_MAX_TASK_DEPTH, DEFAULT_MAX_TASKS_PER_TREE, type TreeEvent } from './tree.js';
