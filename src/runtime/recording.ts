import type { Registry } from '../registry/registry.js';
import type { NewProcess, ProcessRecord, ProcessState } from '../registry/process.js';
import { encodeHeader, FRAME_SIZE, headed, HEADER_SIZE, readFrame } from '../timemachine/format.js';
import { TailReader, type TailMessage, type TailSnapshot } from '../timemachine/tail.js';
import type { JobResult } from './pool.js';

/** How a recording ended: its record as stored (null when that write failed), and why wtm ended it. */
export interface Ended {
  record: ProcessRecord | null;
  state: ProcessState;
  calls: number;
  error?: string;
}

/** How often the unsealed records of a running process reach the registry: what a SIGKILL can lose is this plus timer delay, promised under 250 ms. */
export const TAIL_INTERVAL_MS = 200;

/** What ended a run from outside the guest, besides its limits. */
export type Stop = { kind: 'interrupt'; signal: string } | { kind: 'recording'; error: string };

/**
 * The life of one recorded process, the same for a main process and a task:
 *
 *   begin   its module and config are stored and its record written as `running` (with the
 *           pid that records it), so a wtm killed from here on leaves a record that reads as
 *           `interrupted`, never one that is missing or `running` forever;
 *   run     each sealed batch is appended to the log as it comes; the records not yet sealed
 *           are copied from the worker's shared buffer (tail.ts) to the registry every 250 ms;
 *           a failed write (ENOSPC, EMFILE, EIO) stops the guest through `signal`, never wtm;
 *   end     once the worker is done: a worker that was stopped (timeout, cancel, signal,
 *           recording error) has its unsealed records appended as a last batch; then the
 *           record gets its end state, exit code, counts and, if wtm ended it, why.
 */
export class Recording {
  private readonly tail = new TailReader();
  private readonly controller = new AbortController();
  /** Records in the log so far (whole batches appended). */
  private logged = 0;
  private logBytes = 0;
  /** Bytes of the log whose appends succeeded (a failed one may have left part of a batch). */
  private written = 0;
  /** The last tail written to the registry (first record, count), to skip unchanged ones. */
  private tailWritten = '';
  private writing: Promise<void> = Promise.resolve();
  private stop: Stop | null = null;
  private begun: Promise<void> | null = null;
  private readonly stored: Promise<{ moduleDigest: string; configDigest: string }>;
  private unlisten = () => {};
  private ending: Promise<Ended> | undefined;

  /**
   * Starts recording process `id`: `stored` stores its module and config (it may still be
   * running while the guest starts); the `running` record is written once they are. With
   * `deferRecord` (short tasks), only once the process has run for TAIL_INTERVAL_MS: a task
   * that ends sooner is written once, when it ends (a wtm killed before then loses at most
   * that much of it, as it loses at most that much of any log).
   */
  constructor(
    readonly registry: Registry,
    readonly id: string,
    stored: Promise<{ moduleDigest: string; configDigest: string }>,
    private readonly record: Omit<NewProcess, 'moduleDigest' | 'configDigest' | 'id' | 'state'>,
    interrupt?: AbortSignal,
    deferRecord = false,
  ) {
    this.stored = stored;
    // A failure to store is reported by end(); the guest is stopped at once.
    stored.catch((e) => this.fail(e));
    if (!deferRecord) this.begin();
    if (interrupt) {
      const on = () => this.interrupt(String(interrupt.reason).replace(/^interrupted by /, ''));
      if (interrupt.aborted) on();
      interrupt.addEventListener('abort', on, { once: true });
      this.unlisten = () => interrupt.removeEventListener('abort', on);
    }
    active.add(this);
    startTicking();
  }

  /** Resolves once the `running` record is written (rejects when it could not be). */
  get started(): Promise<void> {
    return this.begin();
  }

  private begin(): Promise<void> {
    if (this.begun === null) {
      this.begun = this.stored.then(({ moduleDigest, configDigest }) =>
        this.registry.createProcess({ ...this.record, id: this.id, moduleDigest, configDigest, state: 'running' }).then(() => {}));
      this.begun.catch((e) => this.fail(e));
    }
    return this.begun;
  }

  /** Aborted when the recording cannot go on (the guest is stopped) or wtm is interrupted. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops the guest because wtm got `signal`: the record says interrupted. */
  interrupt(signal: string): void {
    if (this.stop) return;
    this.stop = { kind: 'interrupt', signal };
    this.controller.abort(`interrupted by ${signal}`);
  }

  /** A sealed batch from the worker: appended now, in order. */
  readonly onLog = (chunk: Uint8Array): void => {
    // After end() has taken the last records from the shared buffer (a worker that would not
    // stop, left behind at exit), a late batch would repeat them: the log ends where end() put it.
    if (this.stop?.kind === 'recording' || this.ending !== undefined) return;
    this.logBytes += chunk.byteLength;
    this.logged = batchEnd(chunk, this.logged);
    this.append(chunk);
  };

  readonly onTail = (m: TailMessage): void => this.tail.receive(m);

  /** A copy of the unsealed records sent by a child process (process isolation): the newest one stands for the shared tail. */
  private remoteTail: TailSnapshot | null = null;
  readonly onTailSnapshot = (s: TailSnapshot): void => {
    this.remoteTail = s;
  };

  private snapshot(): TailSnapshot | null {
    return this.remoteTail ?? this.tail.snapshot();
  }

  /** Copies the unsealed records to the registry's tail slot (every TAIL_INTERVAL_MS). */
  flushTail(): void {
    if (this.stop?.kind === 'recording') return;
    void this.begin();
    const snap = this.snapshot();
    if (snap === null || snap.first !== this.logged) return;
    const key = `${snap.first}:${snap.count}`;
    if (key === this.tailWritten) return;
    this.tailWritten = key;
    this.write(() => this.registry.putLogTail(this.id, snap.batch));
  }

  /**
   * Ends the recording once the worker is done with the job: the last records, then the
   * record's end state. Returns the record as stored (or null when even that failed: the
   * record then reads as interrupted once this wtm has ended) and the line to show the user
   * when the recording failed.
   */
  end(r: JobResult): Promise<Ended> {
    this.ending ??= this.finish(r);
    return this.ending;
  }

  private async finish(r: JobResult): Promise<Ended> {
    this.discard();
    let calls = r.calls ?? this.logged;
    if (r.ended !== 'exited' && this.stop?.kind !== 'recording') {
      // The worker was stopped between two batches: its unsealed records are still in the
      // shared buffer, and become the log's last batch.
      const snap = this.snapshot();
      if (snap !== null && snap.first === this.logged) {
        const batch = this.logBytes === 0 ? headed(snap.batch) : snap.batch;
        this.logBytes += batch.byteLength;
        this.logged += snap.count;
        this.append(batch);
      }
      calls = this.logged;
    }
    // A guest that made no call (it trapped first) still gets a log: an empty one, which
    // replays to the same trap.
    if (this.logBytes === 0 && this.stop?.kind !== 'recording') {
      const header = encodeHeader();
      this.logBytes = header.byteLength;
      this.append(header);
    }
    await this.writing;
    if (this.stop?.kind === 'recording' && this.written < this.logBytes) {
      // The failed append may have left part of a batch: cut it, so the log ends on a whole
      // batch (and, on a full disk, the record's own update finds the room it frees).
      this.logBytes = this.written;
      await this.registry.truncateLog(this.id, this.written).catch(() => {});
    }
    if (this.stop?.kind === 'recording') await this.registry.deleteLogTail(this.id).catch(() => {});
    let ok = true;
    const wasBegun = this.begun !== null;
    if (this.begun !== null) await this.begun.catch(() => { ok = false; });
    else await this.stored.catch(() => { ok = false; });
    const stop = this.stop;
    const state: ProcessState = stop?.kind === 'recording' ? 'failed' : stop?.kind === 'interrupt' && r.ended !== 'exited' ? 'interrupted'
      : r.ended === 'timeout' ? 'killed' : r.ended === 'cancelled' ? 'cancelled' : r.ended === 'crashed' ? (r.signal ? 'crashed' : 'failed')
      : r.trap ? 'trapped' : r.error ? 'failed' : 'exited';
    const error = stop?.kind === 'recording' ? stop.error : r.trap ? undefined : r.error;
    if (!ok) return { record: null, state, calls, ...(error ? { error } : {}) };
    try {
      if (this.tailWritten !== '' && stop?.kind !== 'recording') await this.registry.deleteLogTail(this.id);
      const patch = {
        endTime: new Date().toISOString(), exitCode: r.exitCode, state, logBytes: this.logBytes, calls,
        ...(r.trap ? { trap: r.trap } : {}), ...(error ? { error } : {}),
        ...(state === 'interrupted' && stop?.kind === 'interrupt' ? { signal: stop.signal } : {}),
        ...(state === 'crashed' && r.signal ? { signal: r.signal } : {}),
      };
      // One write for a process that ended before its running record was due.
      const record = wasBegun ? await this.registry.updateProcess(this.id, patch)
        : await this.registry.createProcess({ ...this.record, ...(await this.stored), id: this.id, ...patch });
      return { record, state, calls, ...(error ? { error } : {}) };
    } catch (e) {
      const why = `recording failed: cannot update the record: ${message(e)}`;
      return { record: null, state: 'failed', calls, error: error ? `${error}; ${why}` : why };
    }
  }

  /** Forgets this recording (done, or it never began): no more tail copies. */
  discard(): void {
    this.unlisten();
    active.delete(this);
    if (active.size === 0) stopTicking();
  }

  private append(chunk: Uint8Array): void {
    this.write(async () => {
      await this.registry.appendLog(this.id, chunk);
      this.written += chunk.byteLength;
    });
  }

  private write(op: () => Promise<void>): void {
    this.writing = this.writing.then(() => (this.stop?.kind === 'recording' ? undefined : op())).catch((e) => this.fail(e));
  }

  private fail(e: unknown): void {
    if (this.stop?.kind === 'recording') return;
    const code = (e as NodeJS.ErrnoException)?.code;
    const hint = code === 'ENOSPC' || code === 'EDQUOT' ? ' (free space: wtm gc, wtm rm; or run with --no-record)'
      : code === 'EMFILE' || code === 'ENFILE' ? ' (too many open files: raise ulimit -n, or lower --max-tasks)'
      : ' (run with --no-record to run without recording)';
    this.stop = { kind: 'recording', error: `recording failed: ${message(e)}${hint}; the guest was stopped, the log so far is kept` };
    this.controller.abort(this.stop.error);
  }
}

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

/** The record count after a chunk of log (a batch, maybe preceded by the header): its frame says. */
function batchEnd(chunk: Uint8Array, before: number): number {
  // "WTMLOG" or "WTMB": the fourth byte tells the header from a batch.
  const at = chunk[3] === 0x4c ? HEADER_SIZE : 0;
  const frame = readFrame(chunk.subarray(at, at + FRAME_SIZE), 0, at, before);
  return frame === 'cut' || frame instanceof Error ? before : before + frame.count;
}

// One timer for every recording in progress (a thousand short tasks do not make a thousand).
const active = new Set<Recording>();
let ticker: NodeJS.Timeout | null = null;

function startTicking(): void {
  if (ticker !== null) return;
  ticker = setInterval(() => {
    for (const r of active) r.flushTail();
  }, TAIL_INTERVAL_MS);
  ticker.unref();
}

function stopTicking(): void {
  if (ticker !== null) clearInterval(ticker);
  ticker = null;
}

/**
 * Ends every recording in progress in this process at once, as interrupted by `signal`, without
 * waiting for their workers (one blocked in a read of a terminal cannot be stopped until the
 * read returns): what they logged is kept, their records say interrupted. For a wtm about to exit.
 */
export async function interruptRecordingsNow(signal: string): Promise<void> {
  const all = [...active];
  for (const r of all) r.interrupt(signal);
  await Promise.all(all.map((r) => r.end({ exitCode: 130, ended: 'cancelled', error: `interrupted by ${signal}` }).catch(() => {})));
}
