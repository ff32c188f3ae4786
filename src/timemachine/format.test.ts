import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogFormatError, RecordReader } from './codec.js';
import {
  Codec, DEFAULT_CODEC, FRAME_SIZE, HEADER_SIZE, LogCorruptError, LogReader, LogWriter, type BatchInfo,
} from './format.js';

const CODECS = [Codec.None, Codec.DeflateRaw, Codec.Brotli];

/** A syscall-trace-like record: kind, index, timestamp, a name and, every 7th, 64 bytes. */
function writeRecord(log: LogWriter, i: number): void {
  const w = log.records;
  w.beginRecord();
  w.u8(i % 5);
  w.uvarint(i);
  w.svarint(-i);
  w.u64(BigInt(i) * 1_000_003n);
  w.string(`file-${i % 13}.txt`);
  if (i % 7 === 0) w.bytes(Uint8Array.from({ length: 64 }, (_, k) => (i * 31 + k) & 0xff));
  w.endRecord();
  log.maybeFlush();
}

function checkRecord(rec: Uint8Array, i: number): void {
  const r = new RecordReader(rec);
  assert.equal(r.u8(), i % 5);
  assert.equal(r.uvarint(), i);
  assert.equal(r.svarint(), i === 0 ? 0 : -i);
  assert.equal(r.u64(), BigInt(i) * 1_000_003n);
  assert.equal(r.string(), `file-${i % 13}.txt`);
  if (i % 7 === 0) assert.deepEqual(r.bytes(), Uint8Array.from({ length: 64 }, (_, k) => (i * 31 + k) & 0xff));
  assert.ok(r.atEnd, `record ${i} fully read`);
}

function makeLog(n: number, options: { batchBytes?: number; codec?: number } = {}): { bytes: Uint8Array; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  const log = new LogWriter((c) => chunks.push(c), options);
  for (let i = 0; i < n; i++) writeRecord(log, i);
  log.flush();
  assert.equal(log.recordCount, n);
  return { bytes: new Uint8Array(Buffer.concat(chunks)), chunks }; // a copy: Buffer#slice would not be
}

/** Reads records from `from` until the end or an error; returns what came out and the error. */
function drain(reader: LogReader, from = 0): { recs: Uint8Array[]; error?: unknown } {
  const recs: Uint8Array[] = [];
  try {
    for (const r of reader.records(from)) recs.push(r);
  } catch (error) {
    return { recs, error };
  }
  return { recs };
}

function checkPrefix(recs: Uint8Array[], from = 0): void {
  recs.forEach((rec, k) => { checkRecord(rec, from + k); });
}

// Small logs for the byte-by-byte tests: 9 batches of a few hundred bytes, one per codec.
const smallLogs = CODECS.map((codec) => {
  const { bytes } = makeLog(120, { batchBytes: 400, codec });
  const batches: BatchInfo[] = [...new LogReader(bytes).batches()];
  return { codec, bytes, batches };
});
const small = smallLogs.find((l) => l.codec === DEFAULT_CODEC)!;

describe('LogWriter → LogReader', () => {
  for (const codec of CODECS) {
    it(`round-trips many batches (codec ${codec})`, () => {
      const { bytes, chunks } = makeLog(5000, { batchBytes: 1024, codec });
      assert.ok(chunks[0]!.length > HEADER_SIZE, 'the header travels with the first batch');
      assert.deepEqual([...chunks[0]!.subarray(0, 6)], [...Buffer.from('WTMLOG')]);
      const reader = new LogReader(bytes);
      assert.deepEqual(reader.header, { version: 1, flags: 0 });
      assert.equal(reader.truncated, false);
      const batches = [...reader.batches()];
      assert.equal(batches.length, chunks.length);
      assert.ok(batches.length > 50);
      let next = 0;
      let offset = HEADER_SIZE;
      batches.forEach((b, k) => {
        assert.equal(b.index, k);
        assert.equal(b.firstRecord, next);
        assert.equal(b.offset, offset);
        assert.equal(b.length, chunks[k]!.length - (k === 0 ? HEADER_SIZE : 0));
        assert.ok(b.count > 0);
        next += b.count;
        offset += b.length;
      });
      assert.equal(offset, bytes.length);
      assert.equal(reader.recordCount, 5000);
      const recs = [...reader.records()];
      assert.equal(recs.length, 5000);
      checkPrefix(recs);
    });
  }

  it('compresses by default and stores incompressible batches as they are', () => {
    assert.equal(DEFAULT_CODEC, Codec.Brotli);
    const { bytes } = makeLog(3000);
    const b = [...new LogReader(bytes).batches()][0]!;
    assert.equal(b.codec, DEFAULT_CODEC);
    assert.ok(b.length < b.rawLength / 2, `ratio ${b.rawLength / b.length}`);

    const chunks: Uint8Array[] = [];
    const log = new LogWriter((c) => chunks.push(c));
    log.records.beginRecord();
    log.records.raw(Uint8Array.from({ length: 4096 }, () => (Math.random() * 256) | 0));
    log.records.endRecord();
    log.flush();
    const random = new LogReader(Buffer.concat(chunks));
    assert.equal([...random.batches()][0]!.codec, Codec.None);
    assert.equal([...random.records()][0]!.length, 4096);
  });

  it('emits nothing for an empty flush; a header-only log has no records', () => {
    const chunks: Uint8Array[] = [];
    const log = new LogWriter((c) => chunks.push(c));
    log.flush();
    log.maybeFlush();
    assert.equal(chunks.length, 0);
    assert.equal(log.recordCount, 0);
    const headerOnly = makeLog(1).chunks[0]!.subarray(0, HEADER_SIZE);
    const reader = new LogReader(headerOnly);
    assert.equal(reader.truncated, false);
    assert.deepEqual([...reader.records()], []);
  });

  it('seals a batch only when batchBytes are buffered', () => {
    const chunks: Uint8Array[] = [];
    const log = new LogWriter((c) => chunks.push(c), { batchBytes: 10_000 });
    for (let i = 0; i < 100; i++) writeRecord(log, i);
    assert.equal(chunks.length, 0);
    assert.equal(log.recordCount, 100);
    log.flush();
    assert.equal(chunks.length, 1, 'header and first batch: one chunk, one write');
    assert.throws(() => new LogWriter(() => {}, { codec: 9 }), RangeError);
  });
});

describe('LogReader.records(from)', () => {
  const { bytes } = makeLog(2000, { batchBytes: 2048 });
  const batches = [...new LogReader(bytes).batches()];

  it('starts anywhere: first record, inside a batch, on a batch boundary, last, past the end', () => {
    const reader = new LogReader(bytes);
    const b5 = batches[5]!;
    for (const from of [0, 1, b5.firstRecord, b5.firstRecord + 1, b5.firstRecord + b5.count - 1, 1999, 2000, 5000]) {
      const recs = [...reader.records(from)];
      assert.equal(recs.length, Math.max(0, 2000 - from), `from ${from}`);
      checkPrefix(recs, from);
    }
    assert.throws(() => reader.records(-1).next(), RangeError);
  });

  it('does not touch the batches that end before `from`', () => {
    // Damage the payload of batches 0..9: reading from batch 10 on still works.
    const damaged = bytes.slice();
    for (const b of batches.slice(0, 10)) damaged[b.offset + FRAME_SIZE + 3]! ^= 0xff;
    const reader = new LogReader(damaged);
    const from = batches[10]!.firstRecord + 2;
    const recs = [...reader.records(from)];
    assert.equal(recs.length, 2000 - from);
    checkPrefix(recs, from);
    assert.throws(() => [...reader.records(0)], LogCorruptError);
  });
});

describe('a log cut short', () => {
  for (const { codec, bytes, batches } of smallLogs) {
    it(`reads every whole batch, whatever byte the cut falls on inside the last one (codec ${codec})`, () => {
      const last = batches[batches.length - 1]!;
      assert.equal(last.offset + last.length, bytes.length);
      for (let cut = last.offset + 1; cut < bytes.length; cut++) {
        const reader = new LogReader(bytes.subarray(0, cut));
        assert.equal(reader.truncated, true, `cut at ${cut}`);
        assert.equal(reader.recordCount, last.firstRecord);
        assert.equal([...reader.batches()].length, batches.length - 1);
        const recs = [...reader.records()];
        assert.equal(recs.length, last.firstRecord, `cut at ${cut}`);
        checkPrefix(recs);
      }
      // Cut exactly between batches: a whole, shorter log.
      const clean = new LogReader(bytes.subarray(0, last.offset));
      assert.equal(clean.truncated, false);
      assert.equal([...clean.records()].length, last.firstRecord);
    });
  }

  it('reads as an empty, truncated log when cut inside the header', () => {
    for (let cut = 0; cut < HEADER_SIZE; cut++) {
      const reader = new LogReader(small.bytes.subarray(0, cut));
      assert.equal(reader.truncated, true);
      assert.deepEqual([...reader.records()], []);
    }
  });
});

describe('a corrupted log', () => {
  for (const { codec, bytes, batches } of smallLogs) {
    it(`catches a flipped byte anywhere in any batch payload and returns none of that batch (codec ${codec})`, () => {
      for (const b of batches) {
        for (let at = b.offset + FRAME_SIZE; at < b.offset + b.length; at++) {
          const damaged = bytes.slice();
          damaged[at]! ^= 1 << (at % 8);
          const { recs, error } = drain(new LogReader(damaged));
          assert.ok(error instanceof LogCorruptError, `flip at ${at}: ${String(error)}`);
          assert.equal(error.batch, b.index);
          assert.equal(error.offset, b.offset);
          assert.match(error.message, new RegExp(`^log is corrupt: batch ${b.index} at byte offset ${b.offset}: checksum mismatch`));
          assert.equal(recs.length, b.firstRecord, 'only the batches before it');
          checkPrefix(recs);
        }
      }
    });

    it(`never returns bad data when a frame header byte is flipped (codec ${codec})`, () => {
      for (const b of batches) {
        const isLast = b.index === batches.length - 1;
        for (let at = b.offset; at < b.offset + FRAME_SIZE; at++) {
          for (const bit of [0, 7]) {
            const damaged = bytes.slice();
            damaged[at]! ^= 1 << bit;
            const reader = new LogReader(damaged);
            const { recs, error } = drain(reader);
            checkPrefix(recs);
            assert.ok(recs.length <= b.firstRecord + (error ? 0 : b.count));
            // A damaged length in the very last frame cannot be told from a cut; anywhere else it is caught.
            assert.ok(error instanceof LogCorruptError || (isLast && reader.truncated), `flip at ${at} bit ${bit}`);
            if (!isLast) assert.ok(error instanceof LogCorruptError, `flip at ${at} bit ${bit}`);
          }
        }
      }
    });
  }

  it('tells a damaged length field from a cut when a whole batch follows', () => {
    const damaged = small.bytes.slice();
    const b1 = small.batches[1]!;
    damaged[b1.offset + 7]! ^= 0x80; // the payload length now runs past the end
    const { recs, error } = drain(new LogReader(damaged));
    assert.equal(recs.length, b1.firstRecord);
    assert.ok(error instanceof LogCorruptError);
    assert.equal(error.message, `log is corrupt: batch 1 at byte offset ${b1.offset}: batch length runs past a later batch`);
  });

  it('reports trailing bytes that are not a batch', () => {
    const junk = Buffer.concat([small.bytes, Buffer.from('garbage!')]);
    const { recs, error } = drain(new LogReader(junk));
    assert.equal(recs.length, 120);
    assert.ok(error instanceof LogCorruptError);
    assert.match(error.message, /no batch magic/);
  });

  it('refuses what is not a wtm log, or one from a newer wtm, in one clear line', () => {
    assert.throws(() => new LogReader(new TextEncoder().encode('#!/bin/sh\necho hello world\n')), {
      name: 'LogFormatError',
      message: 'not a wtm log',
    });
    assert.throws(() => new LogReader(Uint8Array.of(0x57, 0x54, 0x4d, 0x4c, 0x4f, 0x47, 0, 1)), { message: 'not a wtm log' });
    const future = small.bytes.slice();
    future[8] = 2;
    assert.throws(() => new LogReader(future), (e: unknown) => {
      assert.ok(e instanceof LogFormatError);
      assert.equal(e.message, 'log format version 2 is newer than this wtm supports (1)');
      return true;
    });
    assert.ok(new LogCorruptError(0, 16, 'x') instanceof LogFormatError);
  });
});
