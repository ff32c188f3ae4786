export * from './config.js';
export { Runtime, UserError, runInWorker, type RunOptions, type RunResult, type RuntimeOptions, type ReplayOptions } from './runtime.js';
export * from './tasks.js';
export { LocalTaskQueue } from './scheduler.js';
export { WorkerPool, TIMEOUT_EXIT_CODE, CANCELLED_EXIT_CODE } from './pool.js';
export { runGuest, runProcess, createSandbox, TRAP_EXIT_CODE } from './process.js';
