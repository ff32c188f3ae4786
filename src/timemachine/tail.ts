// The unsealed tail of a log, readable from another thread while the guest runs.
//
// A recorded guest runs synchronously in a worker thread: its records wait in the LogWriter's
// buffer until 64 KiB fill a batch, and a guest that computes (or is stopped) between two
// calls never gets to seal them. So the buffer lives on shared memory, and the starter's
// thread, which is free, can copy the records written so far at any moment: every 250 ms into
// the registry (a SIGKILL of wtm then loses at most that), and once more after a worker was
// stopped (timeout, cancel, a signal, a recording error), so nothing logged is lost.
//
// Protocol (a seqlock; `ctl` is an Int32Array on a SharedArrayBuffer):
//   ctl[COMMITTED]  bytes of whole records in the buffer (RecordWriter stores it after each record)
//   ctl[SEQ]        odd while the writer changes what the other cells mean (sealing a batch,
//                   moving to a bigger buffer); a reader copies only between two equal, even reads
//   ctl[SEALED_LO], ctl[SEALED_HI]  records already sealed into batches (the tail's first record)
//   ctl[GEN]        generation of the buffer; a reader uses a buffer only of the current generation
// The writer announces each new buffer (with its generation) by message before writing to it.

import { RecordReader } from './codec.js';
import { Codec } from './compress.js';
import { frameBatch, type SharedTail } from './format.js';

const COMMITTED = 0;
const SEQ = 1;
const SEALED_LO = 2;
const SEALED_HI = 3;
const GEN = 4;
const CELLS = 5;

/** What the writer sends the reader: the control cells once, then each buffer it writes to. */
export interface TailMessage {
  ctl?: SharedArrayBuffer;
  buffer: SharedArrayBuffer;
  gen: number;
}

/** The writer's side, kept by the LogWriter (worker thread). */
export class TailPublisher implements SharedTail {
  readonly ctl = new Int32Array(new SharedArrayBuffer(CELLS * 4));
  private sentCtl = false;

  constructor(private readonly send: (m: TailMessage) => void) {}

  /** The committed-length cell, for RecordWriter.share. */
  get committedCell(): Int32Array {
    return this.ctl.subarray(COMMITTED, COMMITTED + 1);
  }

  /** RecordWriter.share's onBuffer: announce a new buffer before it is written to. */
  readonly onBuffer = (buffer: SharedArrayBuffer): void => {
    this.begin();
    const gen = Atomics.add(this.ctl, GEN, 1) + 1;
    this.send({ ...(this.sentCtl ? {} : { ctl: this.ctl.buffer as SharedArrayBuffer }), buffer, gen });
    this.sentCtl = true;
    this.end();
  };

  /** A batch of records [.., sealed) was emitted: the buffer is empty again. */
  sealed(total: number): void {
    this.begin();
    Atomics.store(this.ctl, SEALED_LO, total % 2 ** 32 | 0);
    Atomics.store(this.ctl, SEALED_HI, Math.floor(total / 2 ** 32));
    Atomics.store(this.ctl, COMMITTED, 0);
    this.end();
  }

  private begin(): void {
    Atomics.add(this.ctl, SEQ, 1);
  }

  private end(): void {
    Atomics.add(this.ctl, SEQ, 1);
  }
}

/** A copy of the unsealed records: `count` records from record `first`. */
export interface TailSnapshot {
  first: number;
  count: number;
  /** The records as one batch frame (stored, not compressed), ready to append to the log. */
  batch: Uint8Array;
}

/** The reader's side (the starter's thread). */
export class TailReader {
  private ctl: Int32Array | null = null;
  private buffer: Uint8Array | null = null;
  private gen = 0;

  /** Takes a TailMessage from the worker (in message order). */
  receive(m: TailMessage): void {
    if (m.ctl) this.ctl = new Int32Array(m.ctl);
    this.buffer = new Uint8Array(m.buffer);
    this.gen = m.gen;
  }

  /**
   * The records written and not yet sealed, or null when there are none or the writer is
   * changing its buffer right now (try again later). Never a torn record: only whole records
   * are published, and a copy that overlapped a change is dropped.
   */
  snapshot(): TailSnapshot | null {
    const { ctl, buffer } = this;
    if (ctl === null || buffer === null) return null;
    const seq = Atomics.load(ctl, SEQ);
    if (seq & 1 || Atomics.load(ctl, GEN) !== this.gen) return null;
    const bytes = Atomics.load(ctl, COMMITTED);
    const first = (Atomics.load(ctl, SEALED_LO) >>> 0) + Atomics.load(ctl, SEALED_HI) * 2 ** 32;
    if (bytes <= 0 || bytes > buffer.byteLength) return null;
    const raw = buffer.slice(0, bytes);
    if (Atomics.load(ctl, SEQ) !== seq) return null;
    let count = 0;
    try {
      const r = new RecordReader(raw);
      while (!r.atEnd) {
        r.bytes();
        count++;
      }
    } catch {
      return null; // cannot happen with a well-behaved writer: drop rather than store bad data
    }
    return { first, count, batch: frameBatch(raw, count, first, Codec.None) };
  }
}
