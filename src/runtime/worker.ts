import { parentPort } from 'node:worker_threads';
import { runProcess } from './process.js';
import type { ProcessConfig } from './config.js';

/**
 * Worker entry: waits for one process to run, runs it, reports its exit. The worker is started
 * before the module is ready (its ~60 ms start overlaps compiling and registering), so the
 * work arrives as a message. Log batches are transferred, not copied.
 */
parentPort!.once('message', ({ module, config }: { module: WebAssembly.Module; config: ProcessConfig }) => {
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
  parentPort!.close();
});
