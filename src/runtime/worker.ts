import { parentPort, workerData } from 'node:worker_threads';
import { runProcess } from './process.js';
import type { ProcessConfig } from './config.js';

/** Worker entry: runs one process and reports its exit. Log batches are transferred, not copied. */
const { module, config } = workerData as { module: WebAssembly.Module; config: ProcessConfig };
const report = runProcess(module, config, (msg) => {
  if ('log' in msg) {
    // A fresh copy: the chunk may share its buffer (Node's Buffer pool), which must not be detached.
    const log = new Uint8Array(msg.log);
    parentPort!.postMessage({ log }, [log.buffer]);
  }
  else parentPort!.postMessage(msg);
});
parentPort!.postMessage({ exit: report });
