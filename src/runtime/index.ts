export * from './config.js';
export { Runtime, UserError, runInWorker, type RunOptions, type RunResult } from './runtime.js';
export { runGuest, runProcess, createSandbox, TRAP_EXIT_CODE } from './process.js';
