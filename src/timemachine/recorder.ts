import { performance } from 'node:perf_hooks';
import type { System, TaskHost } from '../system/index.js';
import { CALLS, writeParam, writeResult, type CallSpec } from './calls.js';
import type { LogWriter } from './format.js';

/** Called with each record's payload as soon as it is written (a view: use it at once). */
export type RecordListener = (payload: Uint8Array, index: number) => void;

/**
 * A System that records every call of the System it wraps: the call, its parameters, its
 * result, every byte it wrote into guest memory, its start time and duration (ns since the
 * process started, monotonic). Records go to a LogWriter, which batches, compresses and
 * checksums them. Replay needs nothing else.
 *
 * Record layout: u8 call id, uvarint start, uvarint duration, the parameters, the result and
 * the call's output when it succeeded (calls.ts: writeParam, writeResult).
 */
export class Recorder {
  private readonly t0 = performance.now();
  /** `onRecord` sees each record as it is written (live trace). */
  constructor(readonly inner: System & TaskHost, readonly log: LogWriter, private readonly onRecord?: RecordListener) {}

  /** Seals the buffered records into a batch (on exit, trap and proc_exit). */
  flush(): void {
    this.log.flush();
  }

  get calls(): number {
    return this.log.recordCount;
  }

  /** Encodes one call. `args` are the call's arguments, `ret` its return value. */
  record(c: CallSpec, args: ArrayLike<unknown>, ret: unknown, start: number): void {
    const w = this.log.records;
    const now = performance.now();
    w.beginRecord();
    w.u8(c.id);
    w.uvarint(Math.round((start - this.t0) * 1e6));
    w.uvarint(Math.round((now - start) * 1e6));
    const params = c.params;
    for (let i = 0; i < params.length; i++) writeParam(w, params[i]![1], args[i]);
    writeResult(w, c, args, ret);
    w.endRecord();
    // Its number: the records written before it (sealed or buffered).
    if (this.onRecord !== undefined) this.onRecord(w.lastRecord(), this.log.recordCount - 1);
    this.log.maybeFlush();
  }
}

// One method per System call, each the same three steps: call, record, return. A call that
// does not return (proc_exit) is recorded, and the log flushed, before it unwinds.
for (const c of CALLS) {
  const method = c.method;
  (Recorder.prototype as unknown as Record<string, unknown>)[method] = c.result === 'exit'
    ? function (this: Recorder, ...args: unknown[]): never {
      this.record(c, args, 0, performance.now());
      this.flush();
      return (this.inner as unknown as Record<string, (...a: unknown[]) => never>)[method]!(...args);
    }
    : function (this: Recorder, ...args: unknown[]): unknown {
      const start = performance.now();
      const ret = ((this.inner as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!)(...args);
      this.record(c, args, ret, start);
      return ret;
    };
}

// The methods above are installed from the table; this tells TypeScript they exist.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Recorder extends System, TaskHost {}
