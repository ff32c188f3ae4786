import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker started before the CLI's code is loaded. A worker thread costs ~80 ms of CPU to
 * boot (Node's own bootstrap of a second isolate, then the worker's code) and the CLI ~100 ms
 * to load: bin/wtm.js starts the worker of a `wtm run` first, from this small module (no other
 * imports), so that on a second core the two overlap instead of following each other.
 * startWorker (pool.ts) takes it and sends it what a worker is otherwise given at its start
 * (its fd ledger): it may only run a guest after that. Unused (a bad flag, --help, a run that
 * needs no worker), it keeps nothing alive and ends with wtm.
 *
 * The hand-over is on globalThis: bin/wtm.js loads this file from dist/runtime/, the CLI's
 * bundle holds its own copy of it.
 */

/** The options every process worker is started with (pool.ts, startWorker). */
export const WORKER_OPTIONS: WorkerOptions = {
  stdout: false,
  stderr: false,
  // Not Node's own tracking of the fds a worker opens (trackUnmanagedFds): it closes them when
  // the worker exits, including handles the worker handed on (shareDir) that their new owner
  // closed long ago, whose numbers may name another task's directory by then. The ledger
  // (fdledger.ts) does that job knowing who owns what.
  trackUnmanagedFds: false,
};

export interface StartedWorker {
  worker: Worker;
  /** Resolves when the worker has loaded its code (its `ready` message) or has ended. */
  loaded: Promise<void>;
}

const PRESTARTED = Symbol.for('wtm.prestartedWorker');
type Holder = { [PRESTARTED]?: StartedWorker };

/** Starts a worker on `url`; `workerData` as the worker expects it (none: it waits for a `setup` message). */
export function bootWorker(url: URL, workerData?: unknown): StartedWorker {
  const worker = new Worker(url, { ...WORKER_OPTIONS, ...(workerData === undefined ? {} : { workerData }) });
  const loaded = new Promise<void>((resolve) => {
    const onMessage = (m: { ready?: boolean }) => {
      if (!m?.ready) return;
      worker.off('message', onMessage);
      resolve();
    };
    worker.on('message', onMessage);
    worker.once('exit', () => resolve());
  });
  return { worker, loaded };
}

/** Starts a worker on `url` for the next takePrestartedWorker() of this process. */
export function prestartWorker(url: URL): void {
  const started = bootWorker(url);
  started.worker.unref();
  (globalThis as Holder)[PRESTARTED] = started;
}

/** The prestarted worker, once (undefined if there is none). The caller refs it and sends it its setup. */
export function takePrestartedWorker(): StartedWorker | undefined {
  const g = globalThis as Holder;
  const started = g[PRESTARTED];
  delete g[PRESTARTED];
  return started;
}

/**
 * Whether the words of a command line ask for a recorded run on a worker of this process: `wtm
 * run ...` or `wtm MODULE.wasm ...`, not unrecorded (which may run inline), not help. A guess
 * from the words alone (a guest's own `--help` reads as wtm's): a wrong one costs a worker's
 * start on another core, or its absence, nothing else.
 */
export function wantsWorker(argv: readonly string[]): boolean {
  let i = 0;
  while (i < argv.length && /^(--registry|-o|--output)$/.test(argv[i]!)) i += 2;
  const name = argv[i] ?? '';
  if (name !== 'run' && !name.endsWith('.wasm') && !name.endsWith('.wat')) return false;
  for (const a of argv.slice(i + 1)) {
    if (a === '--') break;
    if (a === '--no-record' || a === '-h' || a === '--help') return false;
  }
  return true;
}
