import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Codec, LogReader, LogWriter } from './format.js';
import { LogFileReader, LogStream } from './stream.js';

/** A log of n records (record i: its index and some bytes), in batches of about batchBytes. */
function makeLog(n: number, batchBytes: number, codec: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const log = new LogWriter((c) => chunks.push(c), { batchBytes, codec });
  for (let i = 0; i < n; i++) {
    const w = log.records;
    w.beginRecord();
    w.uvarint(i);
    w.string(`record ${i} `.repeat(1 + (i % 5)));
    w.endRecord();
    log.maybeFlush();
  }
  log.flush();
  return new Uint8Array(Buffer.concat(chunks));
}

interface Outcome {
  records: string[];
  truncated: boolean;
  error?: string;
}

const text = (r: Uint8Array) => Buffer.from(r).toString('latin1');

function viaLogReader(bytes: Uint8Array): Outcome {
  const records: string[] = [];
  let reader: LogReader;
  try {
    reader = new LogReader(bytes);
  } catch (e) {
    return { records, truncated: false, error: (e as Error).message };
  }
  try {
    for (const r of reader.records()) records.push(text(r));
  } catch (e) {
    return { records, truncated: reader.truncated, error: (e as Error).message };
  }
  return { records, truncated: reader.truncated };
}

/** Splits bytes into chunks of pseudo-random sizes (1 to 97 bytes), copies each. */
async function* chunked(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  let x = seed;
  for (let at = 0; at < bytes.length;) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = 1 + (x % 97);
    yield bytes.slice(at, at + n);
    at += n;
  }
}

async function viaStream(bytes: Uint8Array, seed: number): Promise<Outcome> {
  const records: string[] = [];
  const s = new LogStream(chunked(bytes, seed));
  try {
    for await (const r of s.records()) records.push(text(r));
  } catch (e) {
    return { records, truncated: s.truncated, error: (e as Error).message };
  }
  assert.ok(s.ended);
  return { records, truncated: s.truncated };
}

function viaFile(source: number | Uint8Array, reuse = false): Outcome {
  const records: string[] = [];
  const s = new LogFileReader(source, { reuse });
  try {
    for (const r of s.records()) records.push(text(r));
  } catch (e) {
    return { records, truncated: s.truncated, error: (e as Error).message };
  }
  return { records, truncated: s.truncated };
}

describe('LogStream and LogFileReader read as LogReader does', () => {
  for (const codec of [Codec.None, Codec.DeflateRaw, Codec.Brotli]) {
    const log = makeLog(30, 120, codec);

    it(`a whole log, and the log cut at every length (codec ${codec})`, async () => {
      const whole = viaLogReader(log);
      assert.equal(whole.records.length, 30);
      assert.ok(log.length > 450, `${log.length} bytes`);
      for (let cut = 0; cut <= log.length; cut++) {
        const bytes = log.subarray(0, cut);
        const want = viaLogReader(bytes);
        assert.deepEqual(await viaStream(bytes, cut), want, `cut at ${cut}`);
        assert.deepEqual(viaFile(bytes), want, `cut at ${cut}`);
      }
    });

    it(`every byte flipped in turn (codec ${codec})`, async () => {
      for (let at = 0; at < log.length; at++) {
        const bytes = log.slice();
        bytes[at]! ^= 0x5a;
        const want = viaLogReader(bytes);
        assert.deepEqual(await viaStream(bytes, at), want, `flip at ${at}`);
        assert.deepEqual(viaFile(bytes), want, `flip at ${at}`);
      }
    });
  }

  it('reads a file descriptor up to its size, counting batches and records', () => {
    const log = makeLog(5000, 2048, Codec.None);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-stream-'));
    const file = path.join(dir, 'log');
    fs.writeFileSync(file, log.subarray(0, log.length - 5));
    const fd = fs.openSync(file, 'r');
    try {
      const r = new LogFileReader(fd);
      const batches = [...r.batches()];
      assert.equal(r.truncated, true);
      assert.equal(r.ended, true);
      assert.equal(r.batchCount, batches.length);
      assert.equal(r.recordCount, batches.reduce((n, b) => n + b.records.length, 0));
      assert.deepEqual(viaFile(fd), viaLogReader(log.subarray(0, log.length - 5)));
      assert.deepEqual(viaFile(fd, true), viaLogReader(log.subarray(0, log.length - 5)));
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('stops reading its source when the reader is left early', async () => {
    let pulled = 0;
    let closed = false;
    const log = makeLog(5000, 1024, Codec.None);
    async function* source() {
      try {
        for (let at = 0; at < log.length; at += 4096) {
          pulled++;
          yield log.slice(at, at + 4096);
        }
      } finally {
        closed = true;
      }
    }
    const s = new LogStream(source());
    for await (const b of s.batches()) if (b.info.index === 2) break;
    assert.equal(closed, true);
    assert.ok(pulled <= 2, `pulled ${pulled} chunks for 3 small batches`);
    assert.equal(s.ended, false);
  });

  it('is read once', async () => {
    const s = LogStream.of(makeLog(3, 100, Codec.None));
    for await (const _ of s.records());
    await assert.rejects(async () => {
      for await (const _ of s.records());
    }, /read once/);
  });
});
