import { parentPort } from 'node:worker_threads';
import { runProcess } from './process.js';
import type { ProcessConfig } from './config.js';

/**
 * Worker entry: runs processes one after another, each with a fresh instance and a fresh
 * System, and reports each exit. A worker is started before its first module is ready (its
 * ~60 ms start overlaps compiling and registering) and is reused by the task pool; it is
 * replaced only when a process had to be killed. Log batches are transferred, not copied.
 */
parentPort!.on('message', ({ module, config }: { module: WebAssembly.Module; config: ProcessConfig }) => {
  const report = runProcess(module, config, (msg) => {
    if ('log' in msg) {
      // A fresh copy: the chunk may share its buffer (Node's Buffer pool), which must not be detached.
      const log = new Uint8Array(msg.log);
      parentPort!.postMessage({ log }, [log.buffer]);
    } else {
      parentPort!.postMessage(msg);
    }
  });
  parentPort!.postMessage({ exit: report });
});
