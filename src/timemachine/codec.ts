// Record encoding primitives of the time machine log (see docs/log-format.md).
//
// RecordWriter sits on the recorder's hot path: it appends into one growable buffer (doubling)
// and allocates nothing per call except when the buffer grows or a string is not ASCII.
// All multi-byte integers are little-endian.

/** A log (or a record inside it) is not what this wtm can read. */
export class LogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogFormatError';
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Bytes taken by the LEB128 encoding of v (0 <= v <= 2^53 - 1). */
export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes of `s` in UTF-8, as Buffer.byteLength counts them (a lone surrogate as 3), without a call into C++. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Writes LEB128 of a uint32 at buf[at]; the room is known to be there. */
function putUvarint32(buf: Uint8Array, at: number, v: number): void {
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at] = v;
}

export class RecordWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private recordStart = -1;
  private records = 0;
  /** Where the payload of the last closed record starts. */
  private lastPayload = 0;
  /** Shared mode (see tail.ts): the buffer is on shared memory, and `committed[0]` is its length after each record. */
  private committed: Int32Array | null = null;
  private onBuffer: ((buf: SharedArrayBuffer) => void) | null = null;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * Moves the buffer to shared memory so another thread can read the records written so far
   * (tail.ts): after each record `Atomics.store(committed, 0, length)`; each new buffer (now,
   * and when it grows) is handed to `onBuffer` first. Only whole records are ever published.
   */
  share(committed: Int32Array, onBuffer: (buf: SharedArrayBuffer) => void): void {
    this.committed = committed;
    this.onBuffer = onBuffer;
    this.moveTo(this.buf.length);
  }

  /** Bytes buffered (including those of a record still open). */
  get length(): number {
    return this.pos;
  }

  /** Records closed by endRecord() since the last take(). */
  get recordCount(): number {
    return this.records;
  }

  u8(v: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned LEB128 of an integer 0 <= v <= 2^53 - 1. */
  uvarint(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    const buf = this.buf;
    if (v >>> 0 === v) {
      // Fast path: a uint32 value, shifts are exact.
      while (v >= 0x80) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    if (!(v >= 0 && v <= MAX_SAFE) || Math.floor(v) !== v) throw new RangeError(`uvarint: ${v} is not an integer in 0..2^53-1`);
    while (v >= 0x80) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  /**
   * Signed integer, zigzag then LEB128 (0 -> 0, -1 -> 1, 1 -> 2, ...), for -(2^53-1) <= v <= 2^53-1.
   * The zigzag value 2|v| - s can exceed 2^53, so it is never computed: the first byte carries
   * the sign bit and 6 bits of the magnitude, the rest is LEB128 of what remains.
   */
  svarint(v: number): void {
    if ((v | 0) === v) {
      // Fast path: an int32, whose zigzag value fits a uint32.
      this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
      return;
    }
    if (!(v >= -MAX_SAFE && v <= MAX_SAFE) || Math.floor(v) !== v) throw new RangeError(`svarint: ${v} is not a safe integer`);
    const sign = v < 0 ? 1 : 0;
    let m = sign ? -v - 1 : v;
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.buf[this.pos++] = ((m % 64) << 1) | sign | 0x80; // |v| >= 2^31 here: more bytes follow
    m = Math.floor(m / 64);
    this.uvarint(m);
  }

  /** 8 bytes little-endian (the value is taken modulo 2^64). */
  u64(v: bigint): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.view.setBigUint64(this.pos, v, true); // wraps modulo 2^64 by itself
    this.pos += 8;
  }

  f64(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** uvarint length, then the bytes. */
  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.raw(b);
  }

  /** UTF-8, length-prefixed like bytes(). Lone surrogates become U+FFFD. */
  string(s: string): void {
    const n = s.length;
    // Worst case: 3 UTF-8 bytes per UTF-16 unit, plus the length prefix.
    const maxBytes = n * 3;
    if (this.pos + maxBytes + 8 > this.buf.length) this.grow(maxBytes + 8);
    const start = this.pos;
    this.uvarint(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start;
        this.stringUtf8(s, maxBytes);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  private stringUtf8(s: string, maxBytes: number): void {
    const start = this.pos;
    const reserved = uvarintSize(maxBytes);
    const { written } = utf8Encoder.encodeInto(s, this.buf.subarray(start + reserved));
    const size = uvarintSize(written);
    if (size < reserved) this.buf.copyWithin(start + size, start + reserved, start + reserved + written);
    putUvarint32(this.buf, start, written);
    this.pos = start + size + written;
  }

  /** The bytes as they are, with no length. */
  raw(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Opens a record: it is framed as uvarint(payload length) + payload by endRecord(). */
  beginRecord(): void {
    if (this.recordStart >= 0) throw new Error('RecordWriter: beginRecord() inside an open record');
    if (this.pos >= this.buf.length) this.grow(1);
    this.recordStart = this.pos;
    this.pos++; // one byte reserved for the length: enough for payloads under 128 bytes
  }

  endRecord(): void {
    const start = this.recordStart;
    if (start < 0) throw new Error('RecordWriter: endRecord() without beginRecord()');
    this.recordStart = -1;
    this.records++;
    const len = this.pos - start - 1;
    if (len < 128) {
      this.buf[start] = len;
      this.lastPayload = start + 1;
    } else {
      // Rare: move the payload up to make room for a longer length prefix.
      const size = uvarintSize(len);
      if (this.pos + size > this.buf.length) this.grow(size);
      this.buf.copyWithin(start + size, start + 1, this.pos);
      putUvarint32(this.buf, start, len);
      this.pos = start + size + len;
      this.lastPayload = start + size;
    }
    if (this.committed !== null) Atomics.store(this.committed, 0, this.pos);
  }

  /** The payload of the record closed last (a view, valid until the next write). */
  lastRecord(): Uint8Array {
    return this.buf.subarray(this.lastPayload, this.pos);
  }

  /** Drops the buffered bytes (and an open record) without copying them. */
  reset(): void {
    this.pos = 0;
    this.records = 0;
    this.recordStart = -1;
  }

  /** A copy of the buffered bytes; the writer is then empty (its buffer is reused). */
  take(): Uint8Array {
    if (this.recordStart >= 0) throw new Error('RecordWriter: take() inside an open record');
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    this.records = 0;
    return out;
  }

  private grow(extra: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.pos + extra) cap *= 2;
    if (this.onBuffer !== null) {
      this.moveTo(cap);
      return;
    }
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private moveTo(cap: number): void {
    const shared = new SharedArrayBuffer(cap);
    const next = new Uint8Array(shared);
    next.set(this.buf.subarray(0, this.pos));
    // Announced before it is written to: the reader switches buffers in message order.
    this.onBuffer!(shared);
    this.buf = next;
    this.view = new DataView(shared);
  }
}

/** Reads what RecordWriter wrote. Every read past the end throws LogFormatError. */
export class RecordReader {
  private readonly buf: Uint8Array;
  /** Made on the first u64/f64: most records have none, and a reader is made per record. */
  private dataView: DataView | null = null;
  private pos = 0;

  constructor(bytes: Uint8Array) {
    this.buf = bytes;
  }

  private get view(): DataView {
    return (this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  get offset(): number {
    return this.pos;
  }

  get atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Bytes in the reader's input. */
  get length(): number {
    return this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.outOfRange(1);
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    const buf = this.buf;
    let b = this.pos < buf.length ? buf[this.pos]! : this.outOfRange(1);
    this.pos++;
    if (b < 0x80) return b;
    let v = b & 0x7f;
    let mul = 128;
    for (;;) {
      if (this.pos >= buf.length) this.outOfRange(1);
      b = buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 49) throw new LogFormatError(`varint at offset ${this.pos} is longer than 8 bytes`);
    }
    if (v > MAX_SAFE) throw new LogFormatError(`varint at offset ${this.pos} exceeds 2^53-1`);
    return v;
  }

  svarint(): number {
    const b = this.u8();
    const sign = b & 1;
    let m = (b >> 1) & 0x3f;
    if (b & 0x80) {
      const hi = this.uvarint();
      if (hi > (MAX_SAFE - m) / 64) throw new LogFormatError(`svarint at offset ${this.pos} exceeds 2^53-1`);
      m += hi * 64;
    }
    return sign ? -m - 1 : m;
  }

  u64(): bigint {
    if (this.pos + 8 > this.buf.length) this.outOfRange(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  f64(): number {
    if (this.pos + 8 > this.buf.length) this.outOfRange(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A view into the reader's bytes (not a copy). */
  bytes(): Uint8Array {
    const n = this.uvarint();
    if (n > this.buf.length - this.pos) this.outOfRange(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next n bytes, with no length prefix (what RecordWriter.raw wrote); a view, not a copy. */
  raw(n: number): Uint8Array {
    if (!(n >= 0 && n <= this.buf.length - this.pos)) this.outOfRange(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A view of bytes [start, end) of the reader's input, wherever the reader is. */
  bytesAt(start: number, end: number): Uint8Array {
    if (!(start >= 0 && start <= end && end <= this.buf.length)) {
      throw new LogFormatError(`record ends early: bytes ${start}..${end} of ${this.buf.length}`);
    }
    return this.buf.subarray(start, end);
  }

  string(): string {
    const n = this.uvarint();
    if (n > this.buf.length - this.pos) this.outOfRange(n);
    const start = this.pos;
    this.pos += n;
    if (n <= 32) {
      // Short ASCII strings (names, paths) without TextDecoder.
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return utf8Decoder.decode(this.buf.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8Decoder.decode(this.buf.subarray(start, start + n));
  }

  private outOfRange(n: number): never {
    throw new LogFormatError(
      `record ends early: reading ${n} byte${n === 1 ? '' : 's'} at offset ${this.pos} of ${this.buf.length}`,
    );
  }
}
