// readIovecs keeps the view of the last call per slot when it covers the same bytes: a kept view
// must never outlive the memory it was made on (memory.grow detaches the old buffer), must
// never be kept for other bytes, and a list past the bounds must still fault.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readIovecs } from './iovec.js';
import { FAULT, GuestMemory } from './memory.js';

function setup() {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  const mem = new GuestMemory();
  mem.bind(memory);
  const iov = (at: number, ...pairs: number[]) => {
    const dv = new DataView(memory.buffer);
    for (const [i, v] of pairs.entries()) dv.setUint32(at + 4 * i, v, true);
  };
  return { memory, mem, iov };
}

describe('readIovecs', () => {
  it('gives views of exactly the bytes each iovec names', () => {
    const { mem, iov } = setup();
    iov(0, 100, 8, 200, 0, 300, 5);
    const list = readIovecs(mem, 0, 3);
    assert.deepEqual(list.map((v) => [v.byteOffset, v.byteLength]), [[100, 8], [200, 0], [300, 5]]);
    assert.ok(list.every((v) => v.buffer === mem.u8.buffer));
  });

  it('keeps a view for the same bytes and makes a new one for other bytes', () => {
    const { mem, iov } = setup();
    iov(0, 100, 64);
    const first = readIovecs(mem, 0, 1)[0];
    assert.equal(readIovecs(mem, 0, 1)[0], first);
    iov(0, 100, 32);
    const shorter = readIovecs(mem, 0, 1)[0]!;
    assert.notEqual(shorter, first);
    assert.deepEqual([shorter.byteOffset, shorter.byteLength], [100, 32]);
    iov(0, 101, 32);
    const moved = readIovecs(mem, 0, 1)[0]!;
    assert.deepEqual([moved.byteOffset, moved.byteLength], [101, 32]);
  });

  it('never hands out a view of memory that grew (the old buffer is detached)', () => {
    const { memory, mem, iov } = setup();
    iov(0, 100, 64);
    const before = readIovecs(mem, 0, 1)[0]!;
    memory.grow(1);
    iov(0, 100, 64);
    const after = readIovecs(mem, 0, 1)[0]!;
    assert.notEqual(after, before);
    assert.equal(after.buffer, memory.buffer);
    assert.equal(after.byteLength, 64);
    after[0] = 7;
    assert.equal(new Uint8Array(memory.buffer)[100], 7);
    // An empty iovec at 0 matches what a detached view reads as: it must still be a view of the live memory.
    iov(0, 0, 0);
    memory.grow(1);
    iov(0, 0, 0);
    assert.equal(readIovecs(mem, 0, 1)[0]!.buffer, memory.buffer);
  });

  it('faults for an iovec past the end, also after a kept view of other bytes', () => {
    const { mem, iov } = setup();
    iov(0, 100, 64);
    readIovecs(mem, 0, 1);
    iov(0, 65536 - 10, 11);
    assert.throws(() => readIovecs(mem, 0, 1), (e) => e === FAULT);
    assert.throws(() => readIovecs(mem, 65536 - 4, 1), (e) => e === FAULT);
  });
});
