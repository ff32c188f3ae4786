import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { LogFormatError, RecordReader, RecordWriter, utf8Length, uvarintSize } from './codec.js';
import { crc32, crc32Js } from './crc32.js';

const MAX = Number.MAX_SAFE_INTEGER;

function written(f: (w: RecordWriter) => void, capacity?: number): Uint8Array {
  const w = new RecordWriter(capacity);
  f(w);
  return w.take();
}

/** Reference zigzag + LEB128 in BigInt, to check the overflow-free encoder against. */
function zigzagRef(v: number): number[] {
  const b = BigInt(v);
  let z = b >= 0n ? b << 1n : (-b << 1n) - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

describe('RecordWriter / RecordReader', () => {
  it('round-trips uvarint edges with minimal LEB128 sizes', () => {
    const cases: [number, number][] = [
      [0, 1], [1, 1], [127, 1], [128, 2], [16383, 2], [16384, 3], [2 ** 31 - 1, 5], [2 ** 31, 5],
      [2 ** 32 - 1, 5], [2 ** 32, 5], [2 ** 35, 6], [2 ** 49, 8], [MAX, 8],
    ];
    for (const [v, size] of cases) {
      const b = written((w) => w.uvarint(v));
      assert.equal(b.length, size, `size of ${v}`);
      assert.equal(uvarintSize(v), size);
      const r = new RecordReader(b);
      assert.equal(r.uvarint(), v);
      assert.ok(r.atEnd);
    }
    assert.deepEqual([...written((w) => w.uvarint(128))], [0x80, 0x01]);
    assert.deepEqual([...written((w) => w.uvarint(300))], [0xac, 0x02]);
  });

  it('refuses values uvarint cannot hold', () => {
    for (const v of [-1, 1.5, 2 ** 53, NaN, Infinity]) assert.throws(() => written((w) => w.uvarint(v)), RangeError, String(v));
  });

  it('round-trips svarint with zigzag bytes, negative and up to ±(2^53-1)', () => {
    assert.deepEqual([...written((w) => w.svarint(0))], [0]);
    assert.deepEqual([...written((w) => w.svarint(-1))], [1]);
    assert.deepEqual([...written((w) => w.svarint(1))], [2]);
    assert.deepEqual([...written((w) => w.svarint(-64))], [127]);
    assert.deepEqual([...written((w) => w.svarint(64))], [0x80, 0x01]);
    const values = [
      0, 1, -1, 63, -64, 64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 32),
      2 ** 52, -(2 ** 52), MAX, -MAX, MAX - 1, -MAX + 1, 123456789012345, -987654321098765,
    ];
    for (let i = 0; i < 200; i++) values.push(Math.round((Math.random() * 2 - 1) * 2 ** (Math.random() * 53)));
    for (const v of values) {
      const b = written((w) => w.svarint(v));
      assert.deepEqual([...b], zigzagRef(v), `bytes of ${v}`);
      const r = new RecordReader(b);
      assert.equal(r.svarint(), v === 0 ? 0 : v);
      assert.ok(r.atEnd);
    }
    for (const v of [1.5, NaN, 2 ** 53, -(2 ** 53)]) assert.throws(() => written((w) => w.svarint(v)), RangeError);
  });

  it('round-trips u64 (little-endian), f64, u8', () => {
    const b = written((w) => {
      w.u64(0x0123456789abcdefn);
      w.u64(0n);
      w.u64(2n ** 64n - 1n);
      w.u64(-1n); // modulo 2^64
      w.f64(1.5);
      w.f64(-0);
      w.f64(NaN);
      w.f64(-Infinity);
      w.u8(255);
    });
    assert.deepEqual([...b.subarray(0, 8)], [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
    const r = new RecordReader(b);
    assert.equal(r.u64(), 0x0123456789abcdefn);
    assert.equal(r.u64(), 0n);
    assert.equal(r.u64(), 2n ** 64n - 1n);
    assert.equal(r.u64(), 2n ** 64n - 1n);
    assert.equal(r.f64(), 1.5);
    assert.ok(Object.is(r.f64(), -0));
    assert.ok(Number.isNaN(r.f64()));
    assert.equal(r.f64(), -Infinity);
    assert.equal(r.u8(), 255);
    assert.ok(r.atEnd);
  });

  it('round-trips bytes (empty too), raw and bytesAt', () => {
    const big = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const b = written((w) => {
      w.bytes(new Uint8Array(0));
      w.bytes(big);
      w.raw(Uint8Array.of(9, 8, 7));
    });
    assert.equal(b[0], 0);
    const r = new RecordReader(b);
    assert.equal(r.bytes().length, 0);
    assert.deepEqual(r.bytes(), big);
    const at = r.offset;
    assert.deepEqual([...r.raw(3)], [9, 8, 7]);
    assert.deepEqual([...r.bytesAt(at, at + 3)], [9, 8, 7]);
    assert.ok(r.atEnd);
    assert.throws(() => r.raw(1), LogFormatError);
    assert.throws(() => r.bytesAt(0, b.length + 1), LogFormatError);
  });

  it('round-trips strings: empty, ASCII, non-ASCII, astral, mixed after an ASCII prefix', () => {
    const strings = [
      '', 'a', 'hello world', 'héllo', '日本語のテキスト', '😀 emoji', 'x'.repeat(43) + 'é', 'é'.repeat(50),
      'ü'.repeat(5000), 'a'.repeat(100_000), 'path/to/file.txt\0nul',
    ];
    const b = written((w) => strings.forEach((s) => { w.string(s); }), 16);
    const r = new RecordReader(b);
    for (const s of strings) assert.equal(r.string(), s);
    assert.ok(r.atEnd);
    // The length prefix is the UTF-8 byte count, minimal even when the worst case needed more.
    const e = written((w) => w.string('é'.repeat(50)));
    assert.equal(e.length, 1 + 100);
    assert.equal(e[0], 100);
    // A lone surrogate cannot be UTF-8: it becomes U+FFFD, as TextEncoder does.
    assert.equal(new RecordReader(written((w) => w.string('a\ud800b'))).string(), 'a\ufffdb');
  });

  it('frames records as uvarint(length) + payload, for short and long payloads', () => {
    const sizes = [0, 1, 127, 128, 200, 16383, 16384, 70_000];
    const w = new RecordWriter(16);
    for (const n of sizes) {
      w.beginRecord();
      w.raw(new Uint8Array(n).fill(n & 0xff));
      w.endRecord();
    }
    assert.equal(w.recordCount, sizes.length);
    const b = w.take();
    assert.equal(w.length, 0);
    assert.equal(w.recordCount, 0);
    const r = new RecordReader(b);
    for (const n of sizes) {
      const rec = r.bytes();
      assert.equal(rec.length, n);
      assert.ok(rec.every((x) => x === (n & 0xff)));
    }
    assert.ok(r.atEnd);
  });

  it('grows its buffer and keeps what it held', () => {
    const w = new RecordWriter(16);
    for (let i = 0; i < 100_000; i++) w.uvarint(i);
    const r = new RecordReader(w.take());
    for (let i = 0; i < 100_000; i++) assert.equal(r.uvarint(), i);
  });

  it('refuses misuse of record framing', () => {
    const w = new RecordWriter();
    assert.throws(() => w.endRecord(), /without beginRecord/);
    w.beginRecord();
    assert.throws(() => w.beginRecord(), /inside an open record/);
    assert.throws(() => w.take(), /inside an open record/);
    w.reset();
    assert.equal(w.length, 0);
  });

  it('throws LogFormatError on every out-of-range read', () => {
    const reads: [Uint8Array, (r: RecordReader) => unknown][] = [
      [new Uint8Array(0), (r) => r.u8()],
      [Uint8Array.of(0x80), (r) => r.uvarint()],
      [Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), (r) => r.uvarint()],
      [Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), (r) => r.uvarint()], // 2^56-1
      [Uint8Array.of(0x81), (r) => r.svarint()],
      [new Uint8Array(7), (r) => r.u64()],
      [new Uint8Array(7), (r) => r.f64()],
      [Uint8Array.of(5, 1, 2), (r) => r.bytes()],
      [Uint8Array.of(5, 0x61), (r) => r.string()],
    ];
    for (const [bytes, read] of reads) {
      assert.throws(() => read(new RecordReader(bytes)), (e: unknown) => e instanceof LogFormatError && e.name === 'LogFormatError');
    }
  });
});

describe('crc32', () => {
  it('matches the standard check value and zlib', () => {
    const check = new TextEncoder().encode('123456789');
    assert.equal(crc32Js(check), 0xcbf43926);
    assert.equal(crc32(check), 0xcbf43926);
    assert.equal(crc32Js(new Uint8Array(0)), 0);
    const data = Uint8Array.from({ length: 10_000 }, () => (Math.random() * 256) | 0);
    assert.equal(crc32Js(data), crc32(data));
    if (typeof zlib.crc32 === 'function') assert.equal(crc32Js(data), zlib.crc32(data));
    assert.equal(crc32Js(data.subarray(5000), crc32Js(data.subarray(0, 5000))), crc32(data));
  });
});

describe('utf8Length', () => {
  it('counts as Buffer.byteLength does: ASCII, 2-, 3- and 4-byte characters, lone surrogates', () => {
    for (const s of ['', 'abc', 'é', 'ü/ß', '€', '日本語', '😀', 'a😀b', '\ud800', '\udc00x', '\ud800\ud800', 'x\ud83d']) {
      assert.equal(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s));
    }
  });
});
