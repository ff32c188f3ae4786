import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CALL_BY_METHOD, writeNum, writeParam } from '../timemachine/calls.js';
import { RecordWriter } from '../timemachine/codec.js';
import { diffLogs } from './diff.js';

/** One record as the recorder writes it: call id, start, duration, parameters, result, outputs. */
function rec(method: string, params: unknown[], ret: number | string[], outputs: Uint8Array = new Uint8Array(0), start = 0, dur = 0): Uint8Array {
  const c = CALL_BY_METHOD.get(method)!;
  const w = new RecordWriter(256);
  w.u8(c.id);
  w.uvarint(start);
  w.uvarint(dur);
  c.params.forEach(([, kind], i) => { writeParam(w, kind, params[i]); });
  if (Array.isArray(ret)) {
    w.uvarint(ret.length);
    for (const s of ret) w.string(s);
  } else {
    writeNum(w, ret);
  }
  w.raw(outputs);
  return w.take().slice();
}
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const write = (fd: number, s: string, start = 0) => rec('fdWrite', [fd, [bytes(s)]], bytes(s).length, undefined, start);
const clock = (t: number, start = 0) => rec('clockTimeGet', [1, 1], t, undefined, start, 5);
const args = (...a: string[]) => rec('args', [], a);
const env = (...e: string[]) => rec('environ', [], e);

describe('diffLogs', () => {
  it('identical runs, start times and durations apart: same', async () => {
    const a = [args('x'), clock(10, 100), write(1, 'hi\n', 200)];
    const b = [args('x'), clock(10, 999), write(1, 'hi\n', 5000)];
    const d = await diffLogs({ records: a, process: { state: 'exited', exitCode: 0 } }, { records: b, process: { state: 'exited', exitCode: 0 } });
    assert.equal(d.same, true);
    assert.deepEqual(d.calls, [3, 3]);
    assert.equal(d.first, null);
  });

  it('names the first differing record with the calls before it, and the environment by name only', async () => {
    const a = [args('x'), env('WHO=alice', 'A=1'), write(1, 'who=alice\n')];
    const b = [args('x'), env('WHO=bob', 'B=2'), write(1, 'who=bob\n')];
    const d = await diffLogs({ records: a }, { records: b }, { context: 3 });
    assert.equal(d.same, false);
    assert.equal(d.first!.record, 1);
    assert.equal(d.first!.what, 'result');
    assert.deepEqual(d.first!.before.map((c) => c.record), [0]);
    assert.equal(d.first!.a!.call, 'environ_get');
    assert.equal(d.first!.a!.result, '["WHO=…","A=…"]', 'values hidden');
    assert.deepEqual(d.environment, { onlyA: ['A'], onlyB: ['B'], changed: ['WHO'] });
    assert.equal(d.stdout!.offset, 4);
    assert.equal(d.stdout!.line, 1);
    assert.equal(d.differInStep, 2);
    const shown = await diffLogs({ records: a }, { records: b }, { showEnv: true });
    assert.deepEqual(shown.environment!.values!.find((v) => v.name === 'WHO'), { name: 'WHO', a: 'alice', b: 'bob' });
  });

  it('an extra call in one run: the divergence is where it starts, the sequences still line up after it', async () => {
    const a = [args('x'), clock(1), clock(2), write(1, 'a\n'), clock(3)];
    const b = [args('x'), write(2, 'warn\n'), clock(1), clock(2), write(1, 'a\n'), clock(3)];
    const d = await diffLogs({ records: a }, { records: b });
    assert.equal(d.first!.record, 1);
    assert.equal(d.first!.what, 'call');
    assert.equal(d.clock, undefined, 'the same clock values in the same order');
    assert.equal(d.stdout, undefined);
    assert.deepEqual(d.stderr!.bytes, [0, 5]);
    assert.deepEqual(d.counts, [{ call: 'fd_write', a: 1, b: 2 }]);
  });

  it('clock and random values: counts and the first example', async () => {
    const r = (s: string) => rec('randomGet', [new Uint8Array(4)], 0, bytes(s));
    const a = [clock(100), clock(200), r('abcd'), clock(300)];
    const b = [clock(100), clock(250), r('abce'), clock(350), clock(400)];
    const d = await diffLogs({ records: a }, { records: b });
    assert.deepEqual({ a: d.clock!.a, b: d.clock!.b, differ: d.clock!.differ }, { a: 3, b: 4, differ: 2 });
    assert.deepEqual(d.clock!.first, { index: 1, records: [1, 1], a: '200', b: '250' });
    assert.equal(d.random!.differ, 1);
    assert.equal(d.random!.first!.records[0], 2);
  });

  it('one stream a prefix of the other; one log ending early; exit and module', async () => {
    const a = [write(1, 'abc'), write(1, 'def\n')];
    const b = [write(1, 'abc')];
    const d = await diffLogs(
      { records: a, process: { moduleDigest: 'a'.repeat(64), state: 'exited', exitCode: 0 } },
      { records: b, process: { moduleDigest: 'b'.repeat(64), state: 'killed', exitCode: 124 } },
    );
    assert.equal(d.first!.record, 1);
    assert.equal(d.first!.what, 'B ended');
    assert.equal(d.first!.b, null);
    assert.deepEqual(d.stdout!.bytes, [7, 3]);
    assert.equal(d.stdout!.offset, 3);
    assert.deepEqual(d.stdout!.records, [1, null]);
    assert.deepEqual(d.exit, { a: 'exited 0', b: 'killed 124' });
    assert.deepEqual(d.modules, ['a'.repeat(64), 'b'.repeat(64)]);
  });

  it('same calls, different bytes read: outputs', async () => {
    const read = (s: string) => rec('fdRead', [3, [new Uint8Array(16)]], bytes(s).length, bytes(s));
    const d = await diffLogs({ records: [read('hello')] }, { records: [read('hellO')] });
    assert.equal(d.first!.what, 'outputs');
    assert.equal(d.reads!.differ, 1);
    assert.match(d.reads!.first!.a!, /hello/);
  });
});
