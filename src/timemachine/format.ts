// The time machine log file: a 16-byte header, then batches of framed records, each batch
// compressed and checksummed on its own. Byte layout and guarantees: docs/log-format.md.

import { LogFormatError, RecordReader, RecordWriter } from './codec.js';
import { Codec, CODEC_NAMES, compress, decompress, isCodec } from './compress.js';
import { crc32 } from './crc32.js';

export { Codec } from './compress.js';

export const FORMAT_VERSION = 1;
/** "WTMLOG\0\0", version u16, flags u16, reserved u32. */
export const HEADER_SIZE = 16;
/** Batch frame header, before its payload. */
export const FRAME_SIZE = 32;
/** The batch magic, stored as the four bytes "WTMB" (0x57544d42 read big-endian). */
export const BATCH_MAGIC = 0x57544d42;
export const DEFAULT_BATCH_BYTES = 64 * 1024;
/** Bytes a LogWriter's record buffer starts with (it grows as needed). */
const INITIAL_RECORD_BUFFER = 4096;
/** Chosen by measurement, see docs/log-format.md. */
export const DEFAULT_CODEC: Codec = Codec.Brotli;

const LOG_MAGIC = [0x57, 0x54, 0x4d, 0x4c, 0x4f, 0x47, 0, 0]; // "WTMLOG\0\0"
const BATCH_MAGIC_BYTES = [0x57, 0x54, 0x4d, 0x42]; // "WTMB"

/** A batch failed its checksum or its frame contradicts itself: its data is not returned. */
export class LogCorruptError extends LogFormatError {
  constructor(
    readonly batch: number,
    readonly offset: number,
    detail: string,
  ) {
    super(`log is corrupt: batch ${batch} at byte offset ${offset}: ${detail}`);
    this.name = 'LogCorruptError';
  }
}

export interface LogWriterOptions {
  /** Seal a batch once this many record bytes are buffered (default 64 KiB). */
  batchBytes?: number;
  /** Codec.None, Codec.DeflateRaw or Codec.Brotli (default DEFAULT_CODEC). */
  codec?: number;
  /** Keeps the unsealed records readable from another thread (tail.ts: TailPublisher). */
  tail?: SharedTail;
  /**
   * Hands each batch over unsealed instead of emitting it: compressing, checksumming and
   * framing then happen where the batch is sent (a BatchSealer on the starter's thread), off
   * the guest's thread. `emit` is not called.
   */
  handOff?: (batch: RawBatch) => void;
}

/** A batch's records before sealing: what a LogWriter hands over with `handOff`. */
export interface RawBatch {
  raw: Uint8Array;
  /** Records in it. */
  count: number;
  /** Index of its first record in the whole log. */
  first: number;
}

/**
 * Seals batches into log chunks: compressed, checksummed and framed, the first one preceded
 * by the log's header. One per log.
 */
export class BatchSealer {
  private headerEmitted = false;
  /** `minCompressBytes`: a batch smaller than this is stored as is, without trying `codec`. */
  constructor(private readonly codec: Codec = DEFAULT_CODEC, private readonly minCompressBytes = 0) {}

  seal(b: RawBatch): Uint8Array {
    const chunk = frameBatch(b.raw, b.count, b.first, b.raw.byteLength < this.minCompressBytes ? Codec.None : this.codec);
    if (this.headerEmitted) return chunk;
    // The header travels with the first batch: one write for a short process's whole log.
    this.headerEmitted = true;
    return headed(chunk);
  }
}

/** What a LogWriter tells a reader on another thread of its unsealed records (see tail.ts). */
export interface SharedTail {
  /** The cell RecordWriter.share stores the committed length in. */
  readonly committedCell: Int32Array;
  /** Called with each new (shared) buffer before it is written to. */
  readonly onBuffer: (buffer: SharedArrayBuffer) => void;
  /** Records up to `total` are sealed into emitted batches: the buffer is empty again. */
  sealed(total: number): void;
}

/** One batch frame holding `raw` (`count` framed records from record `first`), compressed with `codec` when that is smaller. */
export function frameBatch(raw: Uint8Array, count: number, first: number, codec: Codec): Uint8Array {
  let payload = codec === Codec.None ? raw : compress(codec, raw);
  if (payload.length >= raw.length) {
    codec = Codec.None; // incompressible batch: store it
    payload = raw;
  }
  const chunk = new Uint8Array(FRAME_SIZE + payload.length);
  const v = new DataView(chunk.buffer);
  chunk.set(BATCH_MAGIC_BYTES, 0);
  v.setUint32(4, payload.length, true);
  v.setUint32(8, crc32(payload), true);
  v.setUint32(12, count, true);
  v.setBigUint64(16, BigInt(first), true);
  v.setUint32(24, raw.length, true);
  chunk[28] = codec;
  chunk.set(payload, FRAME_SIZE);
  return chunk;
}

/** A log's first write: the header, then `batch` (a log's first batch, or a whole one-batch log). */
export function headed(batch: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + batch.byteLength);
  out.set(encodeHeader(), 0);
  out.set(batch, HEADER_SIZE);
  return out;
}

/** The 16-byte log header (what a log starts with, before its first batch). */
export function encodeHeader(): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  h.set(LOG_MAGIC);
  new DataView(h.buffer).setUint16(8, FORMAT_VERSION, true); // flags and reserved stay 0
  return h;
}

/**
 * Appends records and emits the log as chunks: the header (once, before the first batch), then
 * one chunk per sealed batch. Usage: `records.beginRecord(); …; records.endRecord();
 * writer.maybeFlush()`, and `flush()` at the end.
 */
export class LogWriter {
  readonly records: RecordWriter;
  private readonly batchBytes: number;
  private readonly sealer: BatchSealer;
  private readonly handOff: ((batch: RawBatch) => void) | undefined;
  private sealed = 0;
  private readonly tail: SharedTail | undefined;

  constructor(
    private readonly emit: (chunk: Uint8Array) => void,
    options: LogWriterOptions = {},
  ) {
    const { batchBytes = DEFAULT_BATCH_BYTES, codec = DEFAULT_CODEC } = options;
    if (!isCodec(codec)) throw new RangeError(`unknown log codec ${codec}`);
    if (!(batchBytes >= 1)) throw new RangeError(`batchBytes must be at least 1, got ${batchBytes}`);
    this.batchBytes = batchBytes;
    this.sealer = new BatchSealer(codec);
    this.handOff = options.handOff;
    // Small at first, grown (doubling) as records come: most processes are short, and a
    // buffer of a whole batch (64 KiB, twice: moved to shared memory) was allocated and zeroed
    // for each of them.
    this.records = new RecordWriter(Math.min(Math.min(batchBytes, 1 << 24) + 1024, INITIAL_RECORD_BUFFER));
    this.tail = options.tail;
    if (this.tail) this.records.share(this.tail.committedCell, this.tail.onBuffer);
  }

  /** Records written so far, sealed or still buffered. */
  get recordCount(): number {
    return this.sealed + this.records.recordCount;
  }

  /** Seals a batch if enough bytes are buffered. Call between records. */
  maybeFlush(): void {
    if (this.records.length >= this.batchBytes) this.flush();
  }

  /** Seals whatever is buffered into a batch (nothing when empty). */
  flush(): void {
    const count = this.records.recordCount;
    if (count === 0) {
      if (this.records.length > 0) throw new Error('LogWriter: bytes written outside a record');
      return;
    }
    // The buffer keeps its bytes until the batch is emitted: a tail reader (tail.ts) sees
    // these records either in the tail or, from `sealed` on, in a batch, never in neither.
    const batch = { raw: this.records.take(), count, first: this.sealed };
    this.sealed += count;
    if (this.handOff !== undefined) this.handOff(batch);
    else this.emit(this.sealer.seal(batch));
    this.tail?.sealed(this.sealed);
  }
}

/** Where one batch sits in the log; read from its frame, without touching the payload. */
export interface BatchInfo {
  /** Position of the batch in the log, from 0. */
  index: number;
  /** Index of its first record in the whole log. */
  firstRecord: number;
  /** Records it holds. */
  count: number;
  /** Byte offset of its frame in the log. */
  offset: number;
  /** Bytes of frame header plus payload. */
  length: number;
  codec: Codec;
  /** Bytes of its records once decompressed. */
  rawLength: number;
}

export interface LogHeader {
  version: number;
  flags: number;
}

/**
 * Reads a log held in memory. The constructor checks the header (throwing LogFormatError) and
 * reads every batch frame. A log cut short reads up to its last whole batch (`truncated`); a
 * damaged batch throws LogCorruptError when iteration reaches it, never yielding its records.
 */
export class LogReader {
  readonly header: LogHeader;
  /** True when the data ends inside a batch (or inside the header). */
  readonly truncated: boolean = false;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly list: BatchInfo[] = [];
  /** A damaged frame found while scanning: thrown once the batches before it are consumed. */
  private readonly scanError: LogCorruptError | undefined;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const header = readHeader(bytes.subarray(0, HEADER_SIZE));
    if (header === 'cut') {
      this.header = { version: FORMAT_VERSION, flags: 0 };
      this.truncated = true;
      return;
    }
    this.header = header;
    const scan = this.scan();
    this.truncated = scan.truncated;
    this.scanError = scan.error;
  }

  /** Records in the whole batches that were read. */
  get recordCount(): number {
    const last = this.list[this.list.length - 1];
    return last ? last.firstRecord + last.count : 0;
  }

  /** The batches, from their frames only (no decompression, no checksum). */
  *batches(): IterableIterator<BatchInfo> {
    yield* this.list;
    if (this.scanError) throw this.scanError;
  }

  /**
   * Each record's payload (a view, to read with RecordReader), from record index `from`.
   * Batches that end before `from` are skipped without being checked or decompressed.
   */
  *records(from = 0): IterableIterator<Uint8Array> {
    if (!Number.isSafeInteger(from) || from < 0) throw new RangeError(`records(from): ${from} is not a record index`);
    for (const b of this.list) {
      if (b.firstRecord + b.count <= from) continue;
      const recs = this.batchRecords(b);
      for (let i = Math.max(0, from - b.firstRecord); i < recs.length; i++) yield recs[i]!;
    }
    if (this.scanError) throw this.scanError;
  }

  /** Checks, decompresses and splits one batch. Throws LogCorruptError rather than return bad data. */
  batchRecords(b: BatchInfo): Uint8Array[] {
    const payload = this.bytes.subarray(b.offset + FRAME_SIZE, b.offset + b.length);
    return decodeBatch(b, payload, this.view.getUint32(b.offset + 8, true));
  }

  /** Reads the frames after the header into `list`. */
  private scan(): { truncated: boolean; error?: LogCorruptError } {
    const { bytes } = this;
    let off = HEADER_SIZE;
    let next = 0;
    for (let index = 0; off < bytes.length; index++) {
      const f = readFrame(bytes.subarray(off, off + FRAME_SIZE), index, off, next);
      if (f === 'cut') return { truncated: true };
      if (f instanceof LogCorruptError) return { truncated: false, error: f };
      if (off + f.length > bytes.length) {
        // Either the log was cut here, or this frame's length field is damaged: a whole,
        // checksummed batch further on tells the two apart.
        if (findFrame(bytes, off + FRAME_SIZE, next)) return { truncated: false, error: new LogCorruptError(index, off, 'batch length runs past a later batch') };
        return { truncated: true };
      }
      this.list.push(f);
      next += f.count;
      off += f.length;
    }
    return { truncated: false };
  }
}

/** Checks the header of a log (its first HEADER_SIZE bytes, or fewer when the log is that short). */
export function readHeader(head: Uint8Array): LogHeader | 'cut' {
  const n = Math.min(head.length, LOG_MAGIC.length);
  for (let i = 0; i < n; i++) if (head[i] !== LOG_MAGIC[i]) throw new LogFormatError('not a wtm log');
  // Cut inside the header: an empty log (the magic read so far matched).
  if (head.length < HEADER_SIZE) return 'cut';
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = view.getUint16(8, true);
  if (version === 0) throw new LogFormatError('not a wtm log (format version 0)');
  if (version > FORMAT_VERSION) {
    throw new LogFormatError(`log format version ${version} is newer than this wtm supports (${FORMAT_VERSION})`);
  }
  return { version, flags: view.getUint16(10, true) };
}

/**
 * Reads the frame of batch `index` at byte `offset` from `frame` (FRAME_SIZE bytes, or fewer
 * where the log ends): its BatchInfo, 'cut' when the log ends inside the frame, or the damage
 * found (returned, not thrown: a reader reports it once the batches before it are consumed).
 * `next` is the record index the batch must start at.
 */
export function readFrame(frame: Uint8Array, index: number, offset: number, next: number): BatchInfo | 'cut' | LogCorruptError {
  const corrupt = (detail: string) => new LogCorruptError(index, offset, detail);
  const avail = Math.min(frame.length, 4);
  for (let i = 0; i < avail; i++) if (frame[i] !== BATCH_MAGIC_BYTES[i]) return corrupt('no batch magic');
  if (frame.length < FRAME_SIZE) return 'cut';
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_SIZE);
  const length = FRAME_SIZE + view.getUint32(4, true);
  const count = view.getUint32(12, true);
  const first = view.getBigUint64(16, true);
  const rawLength = view.getUint32(24, true);
  const codec = frame[28]!;
  if (!isCodec(codec)) return corrupt(`unknown codec ${codec}`);
  if (frame[29] !== 0 || frame[30] !== 0 || frame[31] !== 0) return corrupt('reserved bytes set');
  if (first !== BigInt(next)) return corrupt(`starts at record ${first}, expected ${next}`);
  if (codec === Codec.None && rawLength !== length - FRAME_SIZE) return corrupt('stored length mismatch');
  return { index, firstRecord: next, count, offset, length, codec, rawLength };
}

/** The checksum a frame stores for its payload (`frame` holds at least FRAME_SIZE bytes). */
export function frameChecksum(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, FRAME_SIZE).getUint32(8, true);
}

/**
 * Checks, decompresses and splits one batch: its records (views into the decompressed bytes).
 * Throws LogCorruptError rather than return bad data. Every log reader goes through here.
 */
export function decodeBatch(b: BatchInfo, payload: Uint8Array, storedChecksum: number): Uint8Array[] {
  const actual = crc32(payload);
  if (storedChecksum !== actual) {
    throw new LogCorruptError(b.index, b.offset, `checksum mismatch (stored ${hex(storedChecksum)}, computed ${hex(actual)})`);
  }
  let raw: Uint8Array;
  try {
    raw = decompress(b.codec, payload, b.rawLength);
  } catch (e) {
    throw new LogCorruptError(b.index, b.offset, `${CODEC_NAMES[b.codec]} payload: ${(e as Error).message}`);
  }
  const out: Uint8Array[] = [];
  const r = new RecordReader(raw);
  try {
    while (!r.atEnd) out.push(r.bytes());
  } catch (e) {
    throw new LogCorruptError(b.index, b.offset, `record framing: ${(e as Error).message}`);
  }
  if (out.length !== b.count) {
    throw new LogCorruptError(b.index, b.offset, `holds ${out.length} records, frame says ${b.count}`);
  }
  return out;
}

/**
 * Is there in `bytes`, from byte `from` on, a whole batch starting at record `first` or later
 * whose checksum holds? (Tells a log cut inside a batch from a batch whose length is damaged.)
 */
export function findFrame(bytes: Uint8Array, from: number, first: number): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [m0, m1, m2, m3] = BATCH_MAGIC_BYTES as [number, number, number, number];
  for (let at = bytes.indexOf(m0, from); at >= 0; at = bytes.indexOf(m0, at + 1)) {
    if (at + FRAME_SIZE > bytes.length) return false;
    if (bytes[at + 1] !== m1 || bytes[at + 2] !== m2 || bytes[at + 3] !== m3) continue;
    if (view.getBigUint64(at + 16, true) < BigInt(first)) continue;
    const end = at + FRAME_SIZE + view.getUint32(at + 4, true);
    if (end > bytes.length) continue;
    if (crc32(bytes.subarray(at + FRAME_SIZE, end)) === view.getUint32(at + 8, true)) return true;
  }
  return false;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
