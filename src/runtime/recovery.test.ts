import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from '../registry/registry.js';
import { LogReader, LogWriter } from '../timemachine/format.js';
import { TailPublisher, TailReader, type TailMessage } from '../timemachine/tail.js';
import { logExtent, recoverInterrupted } from './recovery.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => { fs.rmSync(d, { recursive: true, force: true }); }));
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-recovery-'));
  dirs.push(d);
  return d;
}

/** A pid that is certainly gone: a child that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

/** A log of `n` one-record batches (records are 3 bytes each), and the writer's tail reader. */
function writeLog(n: number, unsealed: number): { chunks: Uint8Array[]; tail: TailReader } {
  const chunks: Uint8Array[] = [];
  const tail = new TailReader();
  const pub = new TailPublisher((m: TailMessage) => tail.receive(m));
  const w = new LogWriter((c) => chunks.push(c), { batchBytes: 1 << 20, tail: pub });
  for (let i = 0; i < n + unsealed; i++) {
    w.records.beginRecord();
    w.records.u8(i & 0xff);
    w.records.u8(7);
    w.records.endRecord();
    if (i < n) w.flush();
  }
  return { chunks, tail };
}

const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe('the unsealed tail (tail.ts)', () => {
  it('a reader on another thread sees exactly the whole records not yet sealed, framed from the right record', () => {
    const { chunks, tail } = writeLog(3, 4);
    const snap = tail.snapshot()!;
    assert.equal(snap.first, 3);
    assert.equal(snap.count, 4);
    const log = new LogReader(concat([...chunks, snap.batch]));
    assert.equal([...log.records()].length, 7);
    assert.equal(new LogReader(concat(chunks)).recordCount, 3);
  });

  it('nothing unsealed: no snapshot', () => {
    const { tail } = writeLog(2, 0);
    assert.equal(tail.snapshot(), null);
  });
});

describe('recoverInterrupted', () => {
  async function orphan(reg: Registry, logBytes: Uint8Array, tailBatch: Uint8Array | null): Promise<string> {
    const moduleDigest = await reg.putModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const configDigest = await reg.putConfig({ args: ['x'] });
    const rec = await reg.createProcess({ moduleDigest, configDigest, argv: ['x'], pid: deadPid(), host: os.hostname() });
    // createProcess leaves the owner it is given: a dead one. The running index is written too.
    await reg.store.putRecord('running', rec.id, {});
    if (logBytes.byteLength) await reg.appendLog(rec.id, logBytes);
    if (tailBatch) await reg.putLogTail(rec.id, tailBatch);
    return rec.id;
  }

  it('cuts a torn batch, appends the last tail copy, and marks the record interrupted, once even when two commands race', async () => {
    const reg = await Registry.open(tmpdir());
    const { chunks, tail } = writeLog(3, 5);
    const torn = chunks[2]!.subarray(0, chunks[2]!.byteLength - 2); // the kill tore the third batch
    // The tail copy was taken before the third batch was sealed: it holds records 2..7.
    const { tail: before } = writeLog(2, 6);
    const id = await orphan(reg, concat([chunks[0]!, chunks[1]!, torn]), before.snapshot()!.batch);
    assert.equal((await reg.getProcess(id))!.state, 'interrupted', 'read as interrupted before any recovery');
    const [a, b] = await Promise.all([recoverInterrupted(reg), recoverInterrupted(reg)]);
    assert.deepEqual([...a!, ...b!], [id], 'recovered by exactly one of the two');
    const rec = (await reg.getStoredProcess(id))!;
    assert.equal(rec.state, 'interrupted');
    assert.equal(rec.calls, 8);
    const log = new LogReader((await reg.readLog(id))!);
    assert.equal(log.truncated, false);
    assert.equal([...log.records()].length, 8);
    assert.equal(await reg.readLogTail(id), null);
    assert.equal(tail.snapshot()!.count, 5);
  });

  it('a tail that does not continue the log is dropped; no log at all becomes an empty one', async () => {
    const reg = await Registry.open(tmpdir());
    const { chunks } = writeLog(3, 0);
    const { tail: stale } = writeLog(1, 1); // from record 1: already in the log
    const id = await orphan(reg, concat(chunks), stale.snapshot()!.batch);
    await recoverInterrupted(reg);
    assert.equal([...new LogReader((await reg.readLog(id))!).records()].length, 3);
    const empty = await orphan(reg, new Uint8Array(0), null);
    await recoverInterrupted(reg);
    const log = new LogReader((await reg.readLog(empty))!);
    assert.equal(log.recordCount, 0);
    assert.equal((await reg.getStoredProcess(empty))!.state, 'interrupted');
  });

  it('a live owner is left alone', async () => {
    const reg = await Registry.open(tmpdir());
    const moduleDigest = await reg.putModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const configDigest = await reg.putConfig({ args: ['x'] });
    const rec = await reg.createProcess({ moduleDigest, configDigest, argv: ['x'] });
    assert.deepEqual(await recoverInterrupted(reg), []);
    assert.equal((await reg.getProcess(rec.id))!.state, 'running');
  });

  it('logExtent finds the whole batches of a log streamed in any chunking', async () => {
    const { chunks } = writeLog(4, 0);
    const whole = concat(chunks);
    const cut = whole.subarray(0, whole.byteLength - 3);
    for (const size of [1, 5, 31, 32, 33, 1000]) {
      async function* pieces() {
        for (let i = 0; i < cut.byteLength; i += size) yield cut.subarray(i, i + size);
      }
      const e = await logExtent(pieces(), cut.byteLength);
      assert.equal(e.records, 3, `chunks of ${size}`);
      assert.equal(e.wholeBytes, whole.byteLength - chunks[3]!.byteLength);
    }
  });
});
