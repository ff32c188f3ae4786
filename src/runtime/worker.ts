import { parentPort, workerData } from 'node:worker_threads';
import { runProcess } from './process.js';
import type { ProcessConfig } from './config.js';

/** Worker entry: runs one process and reports its exit. */
const { module, config } = workerData as { module: WebAssembly.Module; config: ProcessConfig };
const report = runProcess(module, config, (stream, chunk) => parentPort!.postMessage({ stream, chunk }));
parentPort!.postMessage({ exit: report });
