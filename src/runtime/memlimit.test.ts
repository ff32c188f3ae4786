import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { limitMemory } from './memlimit.js';

// A tiny assembler for the few sections the test modules need.
const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    out.push(n ? b | 0x80 : b);
  } while (n);
  return out;
};
const str = (s: string): number[] => [...leb(s.length), ...new TextEncoder().encode(s)];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, payload: number[]): number[] => [id, ...leb(payload.length), ...payload];
const module = (...sections: number[][]): Uint8Array => Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sections.flat()]);

const I32 = 0x7f;
/** Limits bytes: flags (bit 0 = has max), min, [max]. */
const limits = (min: number, max?: number): number[] => (max === undefined ? [0, ...leb(min)] : [1, ...leb(min), ...leb(max)]);
const PAGE = 65536;

/** Type (i32) -> i32, function `grow` = memory.grow(arg), `size` = memory.size; plus exports. */
const TYPES = section(1, vec([[0x60, 1, I32, 1, I32]]));
const FUNCS = section(3, vec([[0], [0]]));
const EXPORTS = section(7, vec([[...str('grow'), 0, 0], [...str('size'), 0, 1], [...str('mem'), 2, 0]]));
const CODE = section(10, vec([[...leb(6), 0, 0x20, 0, 0x40, 0, 0x0b], [...leb(4), 0, 0x3f, 0, 0x0b]]));
const DATA = section(11, vec([[0, 0x41, 16, 0x0b, ...str('hello')]]));
const CUSTOM = section(0, [...str('note'), 1, 2, 3]);

/** A module defining its memory with these limits. */
const withMemory = (lim: number[]): Uint8Array => module(CUSTOM, TYPES, FUNCS, section(5, vec([lim])), EXPORTS, CODE, DATA);
/** A module importing env.mem with these limits. */
const importing = (lim: number[]): Uint8Array =>
  module(TYPES, section(2, vec([[...str('env'), ...str('mem'), 2, ...lim]])), FUNCS, EXPORTS, CODE, DATA);

type Guest = { grow(n: number): number; size(): number; mem: WebAssembly.Memory };
async function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}): Promise<Guest> {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, imports);
  return instance.exports as unknown as Guest;
}

/** The sections of a module as [id, payload] (independent of the code under test). */
function sections(bytes: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (let p = 8; p < bytes.length; ) {
    const id = bytes[p++]!;
    let size = 0;
    for (let shift = 1; ; shift *= 128) {
      const b = bytes[p++]!;
      size += (b & 0x7f) * shift;
      if (!(b & 0x80)) break;
    }
    out.push([id, bytes.subarray(p, p + size)]);
    p += size;
  }
  return out;
}
const memorySection = (bytes: Uint8Array): number[] => [...sections(bytes).find(([id]) => id === 5)![1]];

describe('limitMemory', () => {
  it('makes memory.grow return -1 past the limit', async () => {
    const bytes = withMemory(limits(1));
    const free = await instantiate(bytes);
    assert.equal(free.grow(10), 1, 'without a limit the guest can grow freely');

    const g = await instantiate(limitMemory(bytes, 4 * PAGE));
    assert.equal(g.grow(5), -1);
    assert.equal(g.grow(1), 1);
    assert.equal(g.grow(2), 2);
    assert.equal(g.size(), 4);
    assert.equal(g.grow(1), -1);
    assert.equal(g.grow(0), 4);
    assert.equal(g.mem.buffer.byteLength, 4 * PAGE);
  });

  it('rounds the limit down to whole pages and lowers a larger declared maximum', () => {
    assert.deepEqual(memorySection(limitMemory(withMemory(limits(1)), 4 * PAGE + 1000)), [1, 1, 1, 4]);
    assert.deepEqual(memorySection(limitMemory(withMemory(limits(1, 1000)), 4 * PAGE)), [1, 1, 0x01, 4]);
    // Maximum 300 (2-byte LEB) lowered to 4 (1 byte): the section size shrinks.
    const out = limitMemory(withMemory(limits(1, 300)), 4 * PAGE);
    assert.deepEqual(memorySection(out), [1, 1, 1, 4]);
    assert.ok(WebAssembly.validate(out as Uint8Array<ArrayBuffer>));
  });

  it('keeps a declared maximum lower than the limit', async () => {
    const bytes = withMemory(limits(1, 2));
    assert.equal(limitMemory(bytes, 64 * PAGE), bytes, 'nothing to change');
    const g = await instantiate(limitMemory(bytes, 64 * PAGE));
    assert.equal(g.grow(1), 1);
    assert.equal(g.grow(1), -1);
  });

  it('keeps the shared and memory64 flags, with u64 limits for memory64', () => {
    const shared = limitMemory(withMemory([3, 1, 100]), 4 * PAGE);
    assert.deepEqual(memorySection(shared), [1, 3, 1, 4]);
    assert.ok(WebAssembly.validate(shared as Uint8Array<ArrayBuffer>));
    assert.deepEqual(memorySection(limitMemory(withMemory([4, 1]), 4 * PAGE)), [1, 5, 1, 4]);
    assert.deepEqual(memorySection(limitMemory(withMemory([5, 1, 0x80, 0x80, 0x04]), 200 * PAGE)), [1, 5, 1, 0xc8, 0x01]);
    assert.deepEqual(memorySection(limitMemory(withMemory(limits(1)), 2 ** 40)), [1, 1, 1, 0x80, 0x80, 0x04], 'memory32 caps at 65536 pages');
    assert.throws(() => limitMemory(withMemory([8, 1]), PAGE), /limitMemory: unsupported memory limits flags 0x8/);
  });

  it('refuses a module whose initial memory is over the limit', () => {
    assert.throws(
      () => limitMemory(withMemory(limits(5)), 4 * PAGE),
      { message: 'the module needs 5 pages of memory at start, over the limit of 4 pages (0.25 MiB)' },
    );
    assert.throws(() => limitMemory(importing(limits(17)), 1024 * 1024), /needs 17 pages .* limit of 16 pages \(1 MiB\)/);
  });

  it('limits an imported memory', async () => {
    const bytes = limitMemory(importing(limits(1)), 4 * PAGE);
    const imp = sections(bytes).find(([id]) => id === 2)![1];
    assert.deepEqual([...imp.subarray(-3)], [1, 1, 4]);
    // The host's memory must now declare a maximum of at most 4 pages.
    const ok = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const g = await instantiate(bytes, { env: { mem: ok } });
    assert.equal(g.grow(3), 1);
    assert.equal(g.grow(1), -1);
    await assert.rejects(instantiate(bytes, { env: { mem: new WebAssembly.Memory({ initial: 1 }) } }), WebAssembly.LinkError);
    await assert.rejects(instantiate(bytes, { env: { mem: new WebAssembly.Memory({ initial: 1, maximum: 8 }) } }), WebAssembly.LinkError);
  });

  it('returns the very same bytes for a module without memory', () => {
    const bytes = module(TYPES, section(3, vec([[0]])), section(10, vec([[...leb(4), 0, 0x20, 0, 0x0b]])), CUSTOM);
    assert.equal(limitMemory(bytes, 0), bytes);
    assert.deepEqual(limitMemory(module(), 0), module());
  });

  it('copies every other section byte for byte', () => {
    for (const bytes of [withMemory(limits(1)), importing(limits(1, 70000))]) {
      const before = sections(bytes);
      const after = sections(limitMemory(bytes, 4 * PAGE));
      assert.deepEqual(after.map(([id]) => id), before.map(([id]) => id));
      for (const [i, [id, payload]] of before.entries()) if (id !== 2 && id !== 5) assert.deepEqual(after[i]![1], payload);
    }
  });

  it('throws a clear Error for every truncation and for malformed input', () => {
    for (const bytes of [withMemory(limits(1, 300)), importing(limits(1))]) {
      const boundaries = new Set([8]);
      let p = 8;
      for (const [, payload] of sections(bytes)) boundaries.add((p += 1 + leb(payload.length).length + payload.length));
      for (let n = 0; n < bytes.length; n++) {
        const cut = bytes.slice(0, n);
        if (boundaries.has(n)) assert.ok(limitMemory(cut, 4 * PAGE) instanceof Uint8Array, `cut at ${n}`);
        else assert.throws(() => limitMemory(cut, 4 * PAGE), /^Error: limitMemory: /, `cut at ${n}`);
      }
    }
    const bad = (bytes: number[], re: RegExp): void => assert.throws(() => limitMemory(Uint8Array.from(bytes), PAGE), re);
    bad([0, 0x61, 0x73, 0x6e, 1, 0, 0, 0], /bad magic/);
    bad([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0], /version 2/);
    bad([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x7f], /LEB128 u32 overflows/);
    bad([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0], /LEB128 u32 too long/);
    bad([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 10, 1, 0, 1], /past the end/);
    bad([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 0xff, 0xff, 0xff, 0x0f], /unexpected end of section 5 at byte 14/);
    bad([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 0, 0, 0], /section 5 at byte 8 has 1 byte\(s\) left after its contents/);
    bad([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 2, 4, 1, 0, 0, 9], /unknown import kind 9/);
    assert.throws(() => limitMemory(withMemory(limits(1)), -1), /bad memory limit/);

    // Every single-byte corruption either passes or throws an Error, never anything else.
    const bytes = importing(limits(1, 300));
    for (let i = 8; i < bytes.length; i++)
      for (const v of [0x00, 0x05, 0x7f, 0x80, 0xff]) {
        const copy = bytes.slice();
        copy[i] = v;
        try {
          assert.ok(limitMemory(copy, 4 * PAGE) instanceof Uint8Array);
        } catch (e) {
          assert.ok(e instanceof Error && /^(limitMemory: |the module needs)/.test(e.message), String(e));
        }
      }
  });

  it('limits a real C program (clang / wasi-libc) without changing its interface', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('../../tests/guests/bench_compute.wasm', import.meta.url)));
    const out = limitMemory(bytes, 64 * 1024 * 1024);
    const [before, after] = await Promise.all([bytes, out].map((b) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>)));
    assert.deepEqual(WebAssembly.Module.exports(after), WebAssembly.Module.exports(before));
    assert.deepEqual(WebAssembly.Module.imports(after), WebAssembly.Module.imports(before));
    const orig = memorySection(bytes);
    assert.deepEqual(orig.slice(0, 2), [1, 0], 'one memory, no maximum');
    assert.deepEqual(memorySection(out), [1, 1, ...orig.slice(2), ...leb(1024)], 'now with a maximum of 1024 pages');
    assert.equal(out.length, bytes.length + 2);
  });
});
