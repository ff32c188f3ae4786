// A child process of the ProcessPool (procpool.ts): runs the jobs its parent sends, each in a
// worker thread of its own pool, and reports back over the IPC channel. A V8 fault or an
// out-of-memory abort of a guest here kills this process and the jobs it runs, never the parent
// (which records them as crashed, with the signal).
import fs from 'node:fs';
import type { DirHandle } from '../fs/dirhandle.js';
import { TailReader, type TailSnapshot } from '../timemachine/tail.js';
import type { MountConfig, ProcessConfig } from './config.js';
import { WorkerPool, type JobResult } from './pool.js';

/** Parent -> child. */
export interface ChildJob {
  id: number;
  /** Absent when this child already holds the module under `moduleKey`. */
  code?: Uint8Array;
  moduleKey: string;
  config: ProcessConfig;
  timeoutMs?: number;
}
export type ToChild = { job: ChildJob } | { cancel: number; reason: string };
/** Child -> parent. */
export type FromChild =
  | { ready: true }
  | { id: number; log: Uint8Array }
  | { id: number; tail: TailSnapshot }
  | { id: number; stream: 'stdout' | 'stderr'; chunk: Uint8Array }
  | { id: number; exit: JobResult };

/** How often the unsealed records of a running job reach the parent (what a crash can lose). */
export const CHILD_TAIL_MS = 100;

/** What a guest writes to make its host process kill itself, when WTM_TEST_HOOKS=1 (tests only). */
export const TEST_KILL_MARK = 'WTM-TEST-KILL-HOST-PROCESS:';

const send = (m: FromChild) => {
  process.send!(m);
};

/**
 * Opens the parent's handle as a handle of this process: /proc/PPID/fd/N is the parent's open
 * directory itself (the kernel follows the open file, never a name), and the parent keeps it
 * open until this job has reported its end, so N cannot name anything else meanwhile.
 */
function adopt(h: DirHandle, opened: number[]): DirHandle {
  const fd = fs.openSync(`/proc/${process.ppid}/fd/${h.fd}`, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  opened.push(fd);
  return { fd, path: h.path };
}

function adoptMounts(mounts: MountConfig[], opened: number[]): MountConfig[] {
  return mounts.map((m) => ({
    ...m,
    ...(m.handle ? { handle: adopt(m.handle, opened) } : {}),
    ...(m.layerHandles ? { layerHandles: m.layerHandles.map((h) => adopt(h, opened)) } : {}),
  }));
}

const pool = new WorkerPool(1);
const modules = new Map<string, Promise<WebAssembly.Module>>();
const running = new Map<number, AbortController>();
const testHooks = process.env.WTM_TEST_HOOKS === '1';

async function runJob(j: ChildJob): Promise<void> {
  const stop = new AbortController();
  running.set(j.id, stop);
  const opened: number[] = [];
  const tail = new TailReader();
  let sentTail = '';
  const pushTail = () => {
    const s = tail.snapshot();
    if (s === null) return;
    const key = `${s.first}:${s.count}`;
    if (key === sentTail) return;
    sentTail = key;
    send({ id: j.id, tail: s });
  };
  const ticker = setInterval(pushTail, CHILD_TAIL_MS);
  let r: JobResult;
  try {
    let m = modules.get(j.moduleKey);
    if (m === undefined) {
      if (j.code === undefined) throw new Error('internal: the child was not sent its module');
      m = WebAssembly.compile(j.code as Uint8Array<ArrayBuffer>);
      if (modules.size >= 16) modules.clear();
      modules.set(j.moduleKey, m);
      m.catch(() => modules.delete(j.moduleKey));
    }
    const module = await m;
    const config = { ...j.config, mounts: adoptMounts(j.config.mounts, opened) };
    r = await pool.run({
      module, moduleKey: j.moduleKey, config, signal: stop.signal,
      ...(j.timeoutMs !== undefined ? { timeoutMs: j.timeoutMs } : {}),
      onLog: (log) => send({ id: j.id, log }),
      onTail: (t) => tail.receive(t),
      onOutput: (stream, chunk) => {
        send({ id: j.id, stream, chunk });
        if (testHooks) testHook(chunk);
      },
    });
  } catch (e) {
    r = { exitCode: 1, error: (e as Error).message, ended: 'crashed' };
  }
  clearInterval(ticker);
  // A worker that was stopped left its last records unsealed: they go before the exit.
  if (r.ended !== 'exited') pushTail();
  for (const fd of opened) fs.closeSync(fd);
  running.delete(j.id);
  send({ id: j.id, exit: r });
}

/** Tests only: a guest that writes TEST_KILL_MARK + SIGNAME kills this process with that signal. */
function testHook(chunk: Uint8Array): void {
  const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
  const at = text.indexOf(TEST_KILL_MARK);
  if (at < 0) return;
  const sig = /^SIG[A-Z0-9]+/.exec(text.slice(at + TEST_KILL_MARK.length))?.[0] ?? 'SIGKILL';
  process.kill(process.pid, sig as NodeJS.Signals);
}

process.on('message', (m: ToChild) => {
  if ('job' in m) void runJob(m.job);
  else running.get(m.cancel)?.abort(m.reason);
});
// The parent went away: nothing is left to report to.
process.on('disconnect', () => process.exit(0));
send({ ready: true });
