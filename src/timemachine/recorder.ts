import { performance } from 'node:perf_hooks';
import type { System, TaskHost } from '../system/index.js';
import { CALLS, takesOut, writeParam, writeResult, type CallSpec } from './calls.js';
import type { LogWriter } from './format.js';

/** The cells of a call gate (runtime/callgate.ts): a call with effects is running; the starter stops this thread. */
export const GATE_IN_CALL = 0;
export const GATE_STOP = 1;

/**
 * Calls not held in the gate, because they may wait on the outside for ever and a stop would
 * wait for them: reads and polls (they change nothing outside: a run stopped inside one ends
 * just before it), and the task calls, which wait for their starter's reply (it stops the
 * task tree with this thread).
 */
const UNGATED = new Set(['pollOneoff', 'fdRead', 'sockRecv', 'sockAccept', 'taskSubmit', 'taskWait', 'taskPoll', 'taskCancel']);

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
  /** The current call's arguments, for `record` (see `method` below). */
  readonly scratch: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  /**
   * The call gate shared with the starter (runtime/callgate.ts), or undefined: marked while a
   * call with effects runs and until its record is written; a call started after the starter
   * closed it never runs (the thread waits to be terminated).
   */
  gate: Int32Array | undefined = undefined;
  /** `onRecord` sees each record as it is written (live trace). */
  constructor(readonly inner: System & TaskHost, readonly log: LogWriter, private readonly onRecord?: RecordListener) {}

  /** Seals the buffered records into a batch (on exit, trap and proc_exit). */
  flush(): void {
    this.log.flush();
  }

  get calls(): number {
    return this.log.recordCount;
  }

  /** Marks a call in progress, or parks this thread for good if the starter is stopping it. */
  enter(gate: Int32Array): void {
    // Both sides store, then load the other's cell, all sequentially consistent: the starter
    // sees the mark, or this thread sees STOP (callgate.ts).
    Atomics.store(gate, GATE_IN_CALL, 1);
    if (Atomics.load(gate, GATE_STOP) !== 0) {
      Atomics.store(gate, GATE_IN_CALL, 0);
      for (;;) Atomics.wait(gate, GATE_STOP, 1); // until the thread is terminated
    }
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
//
// Each method takes exactly its call's arguments (no rest parameter, no spread: those cost an
// array per call and a slow generic call) and hands them to `record` in one array per Recorder,
// reused: `record` is done with them before the method returns.
type Inner = Record<string, (...a: unknown[]) => unknown>;
function method(c: CallSpec): (this: Recorder, ...args: unknown[]) => unknown {
  const m = c.method;
  if (c.result === 'exit') {
    return function (this: Recorder, code: unknown): never {
      const g = this.gate;
      if (g !== undefined) this.enter(g);
      const args = this.scratch;
      args[0] = code;
      this.record(c, args, 0, performance.now());
      this.flush();
      if (g !== undefined) Atomics.store(g, GATE_IN_CALL, 0);
      return (this.inner as unknown as Inner)[m]!(code) as never;
    };
  }
  const gated = !UNGATED.has(m);
  const done = (self: Recorder, ret: unknown, start: number, a: unknown, b: unknown, c3: unknown, d: unknown, e: unknown, f: unknown, g: unknown): unknown => {
    const args = self.scratch;
    args[0] = a; args[1] = b; args[2] = c3; args[3] = d; args[4] = e; args[5] = f; args[6] = g;
    self.record(c, args, ret, start);
    // Atomic: seen only after the record's committed length (on any CPU's memory order).
    if (gated && self.gate !== undefined) Atomics.store(self.gate, GATE_IN_CALL, 0);
    return ret;
  };
  switch (c.params.length + (takesOut(c) ? 1 : 0)) {
    case 0: return function (this: Recorder) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(), t, undefined, undefined, undefined, undefined, undefined, undefined, undefined);
    };
    case 1: return function (this: Recorder, a: unknown) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(a), t, a, undefined, undefined, undefined, undefined, undefined, undefined);
    };
    case 2: return function (this: Recorder, a: unknown, b: unknown) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(a, b), t, a, b, undefined, undefined, undefined, undefined, undefined);
    };
    case 3: return function (this: Recorder, a: unknown, b: unknown, c3: unknown) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(a, b, c3), t, a, b, c3, undefined, undefined, undefined, undefined);
    };
    case 4: return function (this: Recorder, a: unknown, b: unknown, c3: unknown, d: unknown) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(a, b, c3, d), t, a, b, c3, d, undefined, undefined, undefined);
    };
    case 5: return function (this: Recorder, a: unknown, b: unknown, c3: unknown, d: unknown, e: unknown) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(a, b, c3, d, e), t, a, b, c3, d, e, undefined, undefined);
    };
    case 6: return function (this: Recorder, a: unknown, b: unknown, c3: unknown, d: unknown, e: unknown, f: unknown) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(a, b, c3, d, e, f), t, a, b, c3, d, e, f, undefined);
    };
    case 7: return function (this: Recorder, a: unknown, b: unknown, c3: unknown, d: unknown, e: unknown, f: unknown, g: unknown) {
      if (gated && this.gate !== undefined) this.enter(this.gate);
      const t = performance.now();
      return done(this, (this.inner as unknown as Inner)[m]!(a, b, c3, d, e, f, g), t, a, b, c3, d, e, f, g);
    };
    default: throw new Error(`${m}: more arguments than the recorder handles`);
  }
}
for (const c of CALLS) (Recorder.prototype as unknown as Record<string, unknown>)[c.method] = method(c);

// The methods above are installed from the table; this tells TypeScript they exist.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Recorder extends System, TaskHost {}
