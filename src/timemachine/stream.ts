// Log readers that hold one batch at a time, whatever the size of the log: LogStream reads
// chunks as they come (a registry blob stream), LogFileReader reads a file descriptor with
// readSync (replay, which runs synchronously inside a worker). Both follow the rules of
// LogReader (format.ts), through the same frame and batch checks: a log cut short reads up to
// its last whole batch (`truncated`), a damaged batch throws LogCorruptError when reached.
//
// Memory: one batch (its compressed and decompressed bytes), plus the chunk being read. The
// one exception is a batch whose frame claims more bytes than the log holds: the rest of the
// log is then read to tell a cut (nothing after it) from a damaged length (a whole batch after
// it), as LogReader does.

import fs from 'node:fs';
import {
  decodeBatch, findFrame, FORMAT_VERSION, FRAME_SIZE, frameChecksum, HEADER_SIZE, LogCorruptError, readFrame, readHeader,
  type BatchInfo, type LogHeader,
} from './format.js';

/** One batch, checked and split into its records (views into its decompressed bytes). */
export interface LogBatch {
  info: BatchInfo;
  records: Uint8Array[];
}

/** What a reader knows so far; final once its iteration has ended. */
interface ReadState {
  header: LogHeader | null;
  truncated: boolean;
  batches: number;
  records: number;
  /** The whole log was read (to its end, or to where it was cut). */
  ended: boolean;
}

/** A request for bytes [at, at + n) of the log; fewer come back only where the log ends. */
interface ReadStep {
  at: number;
  n: number;
}

/**
 * The reading algorithm, once for both readers: it yields read requests (answered with the
 * bytes through next()) and batches (answered with undefined), strictly front to back. The
 * bytes of a read are used only until the next read (a reader may reuse its buffer).
 */
function* steps(state: ReadState): Generator<ReadStep | LogBatch, void, Uint8Array | undefined> {
  const head = (yield { at: 0, n: HEADER_SIZE })!;
  const header = readHeader(head);
  if (header === 'cut') {
    state.header = { version: FORMAT_VERSION, flags: 0 };
    state.truncated = state.ended = true;
    return;
  }
  state.header = header;
  let off = HEADER_SIZE;
  for (let index = 0; ; index++) {
    const frame = (yield { at: off, n: FRAME_SIZE })!;
    if (frame.length === 0) break;
    const info = readFrame(frame, index, off, state.records);
    if (info === 'cut') {
      state.truncated = true;
      break;
    }
    if (info instanceof LogCorruptError) throw info;
    const crc = frameChecksum(frame);
    const want = info.length - FRAME_SIZE;
    const payload = (yield { at: off + FRAME_SIZE, n: want })!;
    if (payload.length < want) {
      // `payload` is the rest of the log: a whole batch in it means the length is damaged.
      if (findFrame(payload, 0, state.records)) throw new LogCorruptError(index, off, 'batch length runs past a later batch');
      state.truncated = true;
      break;
    }
    const records = decodeBatch(info, payload, crc);
    state.batches++;
    state.records += info.count;
    yield { info, records };
    off += info.length;
  }
  state.ended = true;
}

abstract class ReaderState {
  protected readonly state: ReadState = { header: null, truncated: false, batches: 0, records: 0, ended: false };
  private started = false;

  /** The log header, once the first read is done. */
  get header(): LogHeader | null {
    return this.state.header;
  }

  /** True once the reader found the log ends inside a batch (or inside the header). */
  get truncated(): boolean {
    return this.state.truncated;
  }

  /** True once the reader got to the end of the log (clean or cut): `truncated` is then final. */
  get ended(): boolean {
    return this.state.ended;
  }

  /** Records in the whole batches read so far. */
  get recordCount(): number {
    return this.state.records;
  }

  /** Batches read so far. */
  get batchCount(): number {
    return this.state.batches;
  }

  protected start(): Generator<ReadStep | LogBatch, void, Uint8Array | undefined> {
    if (this.started) throw new Error('a log stream is read once');
    this.started = true;
    return steps(this.state);
  }
}

/** Reads a log from a stream of chunks (e.g. Registry.streamLog), one batch at a time. */
export class LogStream extends ReaderState {
  private readonly queue: ChunkQueue;

  /** `chunks` must not reuse a chunk's memory once it has handed out the next one. */
  constructor(chunks: AsyncIterable<Uint8Array>) {
    super();
    this.queue = new ChunkQueue(chunks);
  }

  static of(bytes: Uint8Array): LogStream {
    return new LogStream((async function* () {
      yield bytes;
    })());
  }

  /** The batches, checked and split; throws LogFormatError / LogCorruptError where the log is bad. */
  async *batches(): AsyncGenerator<LogBatch> {
    const g = this.start();
    let input: Uint8Array | undefined;
    try {
      for (;;) {
        const r = g.next(input);
        if (r.done) return;
        const s = r.value;
        if ('records' in s) {
          input = undefined;
          yield s;
        } else {
          input = await this.queue.read(s.at, s.n);
        }
      }
    } finally {
      await this.queue.close();
    }
  }

  /** Each record's payload (to read with RecordReader or decodeRecord). */
  async *records(): AsyncGenerator<Uint8Array> {
    for await (const b of this.batches()) yield* b.records;
  }
}

/**
 * Reads a log synchronously: from a file descriptor (read with readSync, never closed here)
 * or bytes in memory. With `reuse`, one read buffer serves every batch (less garbage: replay
 * reads hundreds of MB): a batch's records are then valid only until the next batch is read.
 */
export class LogFileReader extends ReaderState {
  private readonly size: number;
  private buffer: Uint8Array | null = null;

  constructor(
    private readonly source: number | Uint8Array,
    private readonly options: { reuse?: boolean } = {},
  ) {
    super();
    this.size = typeof source === 'number' ? fs.fstatSync(source).size : source.byteLength;
  }

  *batches(): Generator<LogBatch> {
    const g = this.start();
    let input: Uint8Array | undefined;
    for (;;) {
      const r = g.next(input);
      if (r.done) return;
      const s = r.value;
      if ('records' in s) {
        input = undefined;
        yield s;
      } else {
        input = this.read(s.at, s.n);
      }
    }
  }

  *records(): Generator<Uint8Array> {
    for (const b of this.batches()) yield* b.records;
  }

  private read(at: number, n: number): Uint8Array {
    const src = this.source;
    // Up to the size the file had when opened: a log still being written reads as cut there.
    const len = Math.max(0, Math.min(n, this.size - at));
    if (typeof src !== 'number') return src.subarray(at, at + len);
    let buf: Uint8Array;
    if (this.options.reuse) {
      if (this.buffer === null || this.buffer.byteLength < len) this.buffer = new Uint8Array(Math.max(len, 1 << 17));
      buf = this.buffer.subarray(0, len);
    } else {
      buf = new Uint8Array(len);
    }
    let got = 0;
    while (got < len) {
      const k = fs.readSync(src, buf, got, len - got, at + got);
      if (k === 0) break; // the file shrank meanwhile: what was read is all there is
      got += k;
    }
    return got === len ? buf : buf.subarray(0, got);
  }
}

/** Chunks of a stream, kept from the position last asked for on: positional reads, front to back. */
class ChunkQueue {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunks: Uint8Array[] = [];
  /** Stream position of chunks[0][0]. */
  private base = 0;
  /** Bytes held in `chunks`. */
  private held = 0;
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async read(at: number, n: number): Promise<Uint8Array> {
    if (at < this.base) throw new Error('ChunkQueue: reads go front to back');
    // Drop what lies before `at`.
    while (this.chunks.length > 0 && this.base + this.chunks[0]!.byteLength <= at) {
      const c = this.chunks.shift()!;
      this.base += c.byteLength;
      this.held -= c.byteLength;
    }
    while (!this.done && this.base + this.held < at + n) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const c = r.value;
      if (!(c instanceof Uint8Array)) throw new Error('log stream: chunks must be Uint8Array');
      if (c.byteLength === 0) continue;
      if (this.base + this.held + c.byteLength <= at) {
        this.base += this.held + c.byteLength; // wholly before `at` (only when skipping ahead)
        this.chunks = [];
        this.held = 0;
        continue;
      }
      this.chunks.push(c);
      this.held += c.byteLength;
    }
    const end = Math.min(at + n, this.base + this.held);
    if (end <= at) return new Uint8Array(0);
    const first = this.chunks[0]!;
    const start = at - this.base;
    if (start + (end - at) <= first.byteLength) return first.subarray(start, start + (end - at));
    const out = new Uint8Array(end - at);
    let pos = this.base;
    let w = 0;
    for (const c of this.chunks) {
      const from = Math.max(at, pos);
      const to = Math.min(end, pos + c.byteLength);
      if (to > from) {
        out.set(c.subarray(from - pos, to - pos), w);
        w += to - from;
      }
      pos += c.byteLength;
      if (pos >= end) break;
    }
    return out;
  }

  async close(): Promise<void> {
    this.chunks = [];
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}

/** What checkLogChunks found once its chunks have all been handed out. */
export interface LogCheck {
  records: number;
  batches: number;
  truncated: boolean;
}

/**
 * Passes the chunks of a log on unchanged while checking every batch (checksum, codec,
 * record framing) on the way: a bad log throws LogFormatError / LogCorruptError instead of
 * ending, so a consumer that writes the chunks somewhere keeps them only if the iteration
 * ends cleanly (a chunk may hold the start of a batch not yet checked). An empty stream is an
 * empty log. Holds about one batch. `done` gets what was found once the last chunk is out.
 */
export async function* checkLogChunks(chunks: AsyncIterable<Uint8Array>, done?: (c: LogCheck) => void): AsyncGenerator<Uint8Array> {
  const pending: Uint8Array[] = [];
  let any = false;
  const tap = (async function* () {
    for await (const c of chunks) {
      any ||= c.byteLength > 0;
      pending.push(c);
      yield c;
    }
  })();
  const reader = new LogStream(tap);
  for await (const _ of reader.batches()) {
    // The chunks up to this whole, checked batch (and maybe the start of the next one).
    while (pending.length > 0) yield pending.shift()!;
  }
  while (pending.length > 0) yield pending.shift()!;
  done?.({ records: reader.recordCount, batches: reader.batchCount, truncated: any && reader.truncated });
}
