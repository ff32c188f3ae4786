import { performance } from 'node:perf_hooks';
import type { Dirent, Event, Fdstat, Filestat, Out, System, TaskHost } from '../system/index.js';
import {
  CALLS, succeeded, writeDirents, writeEvents, writeFdstat, writeFilestat, writeNum, writeParam,
  type CallSpec,
} from './calls.js';
import type { LogWriter } from './format.js';

/**
 * A System that records every call of the System it wraps: the call, its parameters, its
 * result, every byte it wrote into guest memory, its start time and duration (ns since the
 * process started, monotonic). Records go to a LogWriter, which batches, compresses and
 * checksums them. Replay needs nothing else.
 *
 * Record layout: u8 call id, uvarint start, uvarint duration, the parameters (calls.ts),
 * the result (tagged number), then the call's outputs when it succeeded.
 */
export class Recorder {
  private readonly t0 = performance.now();
  constructor(readonly inner: System & TaskHost, readonly log: LogWriter) {}

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
    if (c.out === 'strings') {
      const list = ret as readonly string[];
      w.uvarint(list.length);
      for (const s of list) w.string(s);
    } else {
      const r = ret as number;
      writeNum(w, r);
      if (succeeded(c, r)) writeOutputs(w, c, args, r);
    }
    w.endRecord();
    this.log.maybeFlush();
  }
}

function writeOutputs(w: LogWriter['records'], c: CallSpec, args: ArrayLike<unknown>, ret: number): void {
  const last = args[c.params.length];
  switch (c.out) {
    case 'none': return;
    case 'filled': writeFilled(w, args[1] as Uint8Array[], ret); return;
    case 'recv':
      writeFilled(w, args[1] as Uint8Array[], ret);
      w.uvarint((args[3] as Out<number>).value);
      return;
    case 'random': w.raw(args[0] as Uint8Array); return;
    case 'filestat': writeFilestat(w, last as Filestat); return;
    case 'fdstat': writeFdstat(w, last as Fdstat); return;
    case 'string': case 'result': w.string((last as Out<string>).value); return;
    case 'dirents': writeDirents(w, (last as Out<readonly Dirent[]>).value, args[2] as number); return;
    case 'events': writeEvents(w, last as Event[], ret); return;
    case 'strings': return;
  }
}

/** The first `n` bytes of the buffers, in order: what a read put into guest memory. */
function writeFilled(w: LogWriter['records'], bufs: Uint8Array[], n: number): void {
  let left = n;
  for (let i = 0; i < bufs.length && left > 0; i++) {
    const b = bufs[i]!;
    const take = Math.min(left, b.byteLength);
    w.raw(take === b.byteLength ? b : b.subarray(0, take));
    left -= take;
  }
}

// One method per System call, each the same three steps: call, record, return. The table in
// calls.ts says how each is encoded; proc_exit is recorded (and flushed) before it unwinds.
for (const c of CALLS) {
  const method = c.method;
  (Recorder.prototype as unknown as Record<string, unknown>)[method] = c.method === 'procExit'
    ? function (this: Recorder, code: number): never {
      this.record(c, [code], 0, performance.now());
      this.flush();
      return this.inner.procExit(code);
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
