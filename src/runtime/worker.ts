import { parentPort, type MessagePort } from 'node:worker_threads';
import { runProcess } from './process.js';
import type { ProcessConfig } from './config.js';

/**
 * Worker entry: runs processes one after another, each with a fresh instance and a fresh
 * System, and reports each exit. A worker is started before its first module is ready (its
 * ~60 ms start overlaps compiling and registering) and is reused by the task pool; it is
 * replaced only when a process had to be killed. Log batches are transferred, not copied.
 */
interface Work {
  module: WebAssembly.Module;
  config: ProcessConfig;
  /** Where replies to the guest's task calls arrive, and the counter that wakes a waiting guest. */
  tasks?: { port: MessagePort; signal: SharedArrayBuffer };
}

parentPort!.on('message', ({ module, config, tasks }: Work) => {
  const channel = tasks ? { port: tasks.port, signal: new Int32Array(tasks.signal) } : undefined;
  const report = runProcess(module, config, (msg) => {
    if ('log' in msg) {
      // A fresh copy: the chunk may share its buffer (Node's Buffer pool), which must not be detached.
      const log = new Uint8Array(msg.log);
      parentPort!.postMessage({ log }, [log.buffer]);
    } else {
      parentPort!.postMessage(msg);
    }
  }, channel);
  channel?.port.close();
  parentPort!.postMessage({ exit: report });
});
