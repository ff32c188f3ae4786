import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { trackFds } from './fdledger.js';
import type { TreeShare } from './guest-tasks.js';
import { WORKER_MODULE_CACHE } from './pool.js';
import { loadArchives, runProcess } from './process.js';
import type { ProcessConfig } from './config.js';

/**
 * Worker entry: runs processes one after another, each with a fresh instance and a fresh
 * System, and reports each exit. A worker is started before its first module is ready (its
 * ~60 ms start overlaps compiling and registering) and is reused by the task pool; it is
 * replaced only when a process had to be killed. Log batches are transferred, not copied.
 */
interface Work {
  /** Absent when the worker already holds the module under `moduleKey`. */
  module?: WebAssembly.Module;
  moduleKey?: string;
  config: ProcessConfig;
  /** Where replies to the guest's task calls arrive, and the counter that wakes a waiting guest. */
  tasks?: { port: MessagePort; signal: SharedArrayBuffer; tree?: TreeShare };
}

/** What a worker started before its starter had a ledger for it gets first (prestart.ts). */
interface Setup {
  setup: { ledger: SharedArrayBuffer; budget: SharedArrayBuffer; gate: SharedArrayBuffer };
}

/** The call gate shared with the starter (callgate.ts): given with the ledger. */
let gate: Int32Array | undefined;

// Every fd this worker opens is in its starter's ledger, closed by the starter if this worker
// is stopped in the middle of a guest (fdledger.ts). Given at the start, or (a prestarted
// worker) in the first message, before any work.
if (workerData?.ledger instanceof SharedArrayBuffer) trackFds(workerData.ledger, workerData.budget);
if (workerData?.gate instanceof SharedArrayBuffer) gate = new Int32Array(workerData.gate);
// The code is loaded: from here the starter may stop this worker without leaking the loader's files.
parentPort!.postMessage({ ready: true });

const modules = new Map<string, WebAssembly.Module>();

parentPort!.on('message', async (msg: Work | Setup) => {
  if ('setup' in msg) {
    trackFds(msg.setup.ledger, msg.setup.budget);
    gate = new Int32Array(msg.setup.gate);
    return;
  }
  const { module: sent, moduleKey, config, tasks } = msg;
  let module = sent;
  if (moduleKey !== undefined) {
    if (module !== undefined) {
      if (modules.size >= WORKER_MODULE_CACHE) modules.clear();
      modules.set(moduleKey, module);
    } else {
      module = modules.get(moduleKey);
    }
  }
  if (module === undefined) {
    parentPort!.postMessage({ exit: { exitCode: 1, error: 'internal: the worker was not sent its module' } });
    return;
  }
  const channel = tasks ? { port: tasks.port, signal: new Int32Array(tasks.signal), tree: tasks.tree } : undefined;
  let archives: Awaited<ReturnType<typeof loadArchives>> | undefined;
  try {
    archives = config.replayLog ? undefined : await loadArchives(config);
  } catch (e) {
    channel?.port.close();
    parentPort!.postMessage({ exit: { exitCode: 1, error: (e as Error).message } });
    return;
  }
  const report = runProcess(module, config, (msg) => {
    if ('batch' in msg) {
      // The batch's bytes are its own (RecordWriter.take copies them): handed over, not copied.
      parentPort!.postMessage(msg, [msg.batch.raw.buffer as ArrayBuffer]);
    } else {
      parentPort!.postMessage(msg);
    }
  }, channel, archives, gate);
  channel?.port.close();
  // A memory copy (replay --dump-memory) is handed over, not copied again.
  parentPort!.postMessage({ exit: report }, report.memory ? [report.memory.buffer as ArrayBuffer] : []);
});
